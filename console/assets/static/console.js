// jabberdesk console: what script adds to pages that work without it.
// The live page follows the server's event stream; elapsed times tick;
// the portal picker switches at once; ending a chat asks first.
'use strict';
(function () {
  document.documentElement.classList.add('js');

  document.querySelectorAll('select[data-autosubmit]').forEach(function (sel) {
    var button = sel.form.querySelector('button');
    if (button) button.hidden = true;
    sel.addEventListener('change', function () { sel.form.submit(); });
  });

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });

  // Elapsed times count on from the server's clock.
  var offset = 0;
  function sync() {
    var root = document.querySelector('[data-now]');
    if (root) offset = Date.parse(root.dataset.now) - Date.now();
  }
  function span(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll('time[data-since]').forEach(function (t) {
      t.textContent = span(now - Date.parse(t.dataset.since));
    });
  }
  sync();
  tick();
  window.setInterval(tick, 1000);

  var live = document.getElementById('live');
  if (!live || !window.EventSource) return;
  var state = document.getElementById('live-state');
  function show(text, ok) {
    state.hidden = false;
    state.textContent = text;
    state.classList.toggle('off', !ok);
  }
  // An update waits while someone is choosing in one of the live forms.
  var pending = null;
  function choosing() {
    var a = document.activeElement;
    return a && live.contains(a) && a.tagName === 'SELECT';
  }
  function apply(html) {
    live.innerHTML = html;
    sync();
    tick();
  }
  live.addEventListener('focusout', function () {
    window.setTimeout(function () {
      if (pending !== null && !choosing()) {
        apply(pending);
        pending = null;
      }
    }, 0);
  });
  var stream = new EventSource(live.dataset.stream);
  stream.addEventListener('live', function (e) {
    if (choosing()) pending = e.data; else apply(e.data);
  });
  stream.addEventListener('signin', function () {
    stream.close();
    window.location.reload();
  });
  stream.onopen = function () { show('live', true); };
  // The browser reconnects by itself; a stream the server refused (a
  // session over, too many pages open) stays closed until a reload.
  stream.onerror = function () {
    show(stream.readyState === EventSource.CLOSED ? 'not live: reload the page' : 'reconnecting…', false);
  };
})();
