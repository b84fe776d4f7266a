/* jabberdesk chat widget.
 *
 * Embed:   <script src="https://HOST/widget.js" data-portal="acme" async></script>
 * Options: data-title="Chat with us", data-color="#0b7a5c" (accent),
 *          data-mount="#selector" (render inline there instead of a floating button).
 * API:     JabberdeskWidget.mount(element, {portal, base, title, color}) → {root, destroy()}
 *          JabberdeskWidget.open(), JabberdeskWidget.close() (floating button)
 *
 * Text from the server is only ever placed with textContent or text nodes. */
(() => {
  'use strict';
  if (window.JabberdeskWidget) return;

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const BASE = script && script.src ? script.src.replace(/[?#].*$/, '').replace(/\/[^/]*$/, '') : location.origin;
  const svg = (d) => `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">${d}</svg>`;
  const ICON = { // static markup only
    chat: svg('<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/>'),
    close: svg('<path d="M6 6l12 12M18 6 6 18"/>'),
    down: svg('<path d="M6 9l6 6 6-6"/>'),
    send: svg('<path d="M4.5 12 3 4l18 8-18 8z"/><path d="M4.5 12H11"/>'),
    clip: svg('<path d="m21 11.5-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"/>'),
    file: svg('<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/>'),
  };
  const IMAGE = /\.(png|jpe?g|gif|webp)$/i, PICTURE = /^image\/(png|jpeg|gif|webp|bmp)$/i;
  const URLS = /\bhttps?:\/\/[^\s<>"']+/gi;
  const ENDED = { // the server explains in a system line; this is the divider under it
    visitor: 'You ended the chat',
    agent: 'The agent ended the chat',
    idle: 'Chat closed after inactivity',
    visitor_left: 'Chat closed while you were away',
  };
  let count = 0, floating = null;

  // h builds an element. Strings become text nodes; "icon" is the only markup.
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'icon') el.innerHTML = ICON[v];
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat()) if (c != null && c !== false) el.append(c);
    return el;
  }
  const enc = encodeURIComponent;
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  function safeURL(s) {
    try { const u = new URL(String(s).trim()); return /^https?:$/.test(u.protocol) ? u.href : null; } catch { return null; }
  }
  const link = (u) => h('a', { href: u, target: '_blank', rel: 'noopener noreferrer' }, u);
  function linkify(text) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(URLS)) {
      const raw = m[0].replace(/[.,;:!?)\]}'"]+$/, ''), u = safeURL(raw);
      if (!u) continue;
      out.push(text.slice(last, m.index), link(raw));
      last = m.index + raw.length;
    }
    out.push(text.slice(last));
    return out;
  }
  const clock = (at) => {
    const d = at ? new Date(at) : new Date();
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  };

  function loadCSS(base) {
    const href = base + '/widget.css';
    if ([...document.querySelectorAll('link[rel~="stylesheet"]')].some((l) => l.href === href)) return Promise.resolve();
    return new Promise((done) => {
      const l = h('link', { rel: 'stylesheet', href });
      l.onload = l.onerror = done;
      document.head.append(l);
    });
  }

  function create(opts) {
    const portal = String(opts.portal || ''), inline = !!opts.inline;
    const base = String(opts.base || BASE).replace(/\/+$/, '');
    const n = ++count, KEY = `jd:${base}:${portal}`;
    let sess = load(), lastSeq = 0, replayTo = 0, ended = false, online = null, prefill = {};
    let ws = null, ctl = null, gen = 0, retryT = 0, backoff = 1000, wsFails = 0, gap = null, held = [];
    let pollMode = !('WebSocket' in window);
    let composing = false, lastComposing = 0, idleT = 0, typingT = 0, timerIv = 0, armed = 0, unread = 0;
    let log, scroller, wait, typing, input, sendBtn, attachBtn, pinned = true;
    const mine = new Set(), agents = new Set();
    const scrollEnd = () => { if (scroller) scroller.scrollTop = scroller.scrollHeight; };
    const sizes = window.ResizeObserver ? new ResizeObserver(() => { if (pinned) scrollEnd(); }) : null;

    // Frame
    const title = h('div', { class: 'jd-title', id: `jd${n}-title` }, opts.title || 'Chat with us');
    const sub = h('div', { class: 'jd-sub' });
    const avatar = h('div', { class: 'jd-avatar', 'aria-hidden': 'true', icon: 'chat' });
    const endBtn = h('button', { type: 'button', class: 'jd-hbtn', hidden: true, onclick: endChat }, 'End chat');
    const closeBtn = inline ? null : h('button', { type: 'button', class: 'jd-hbtn jd-icon', 'aria-label': 'Close chat', icon: 'close', onclick: () => setOpen(false) });
    const reconn = h('div', { class: 'jd-bar jd-reconnect', role: 'status', hidden: true }, 'Reconnecting…');
    const timerText = h('span'), timerFill = h('i', { class: 'jd-fill', 'aria-hidden': 'true' });
    const timer = h('div', { class: 'jd-bar jd-timer', role: 'status', hidden: true }, timerText, timerFill);
    const body = h('div', { class: 'jd-body' });
    const panel = h('section', { class: 'jd-panel', id: `jd${n}-panel`, role: inline ? 'region' : 'dialog', 'aria-labelledby': title.id, tabindex: '-1' },
      h('header', { class: 'jd-header' }, avatar, h('div', { class: 'jd-head' }, title, sub), endBtn, closeBtn),
      reconn, timer, body);
    const root = h('div', { class: `jd-root ${inline ? 'jd-inline' : 'jd-floating'}` }, panel);
    if (opts.color && CSS.supports('color', opts.color)) root.style.setProperty('--jd-accent', opts.color);

    let launcher, badge;
    if (!inline) {
      badge = h('span', { class: 'jd-badge', hidden: true });
      launcher = h('button', { type: 'button', class: 'jd-launcher', 'aria-controls': panel.id, 'aria-expanded': 'false', onclick: () => setOpen(panel.hidden) },
        h('span', { class: 'jd-i-chat', icon: 'chat' }), h('span', { class: 'jd-i-down', icon: 'down' }),
        h('span', { class: 'jd-ltext' }, 'Chat with us'), badge);
      panel.hidden = true;
      root.append(launcher);
      panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') setOpen(false); });
    }

    function setOpen(open) {
      if (inline) return;
      panel.hidden = !open;
      root.classList.toggle('jd-open', open);
      launcher.setAttribute('aria-expanded', String(open));
      if (open) launcher.setAttribute('aria-label', 'Close chat');
      else launcher.removeAttribute('aria-label');
      document.documentElement.classList.toggle('jd-lock', open);
      try { sessionStorage.setItem(KEY + ':open', open ? '1' : ''); } catch { /* private mode */ }
      if (!open) return launcher.focus();
      unread = 0, badge.hidden = true;
      scrollEnd();
      if (!matchMedia('(max-width: 520px), (prefers-reduced-motion: reduce)').matches) {
        panel.animate([{ opacity: 0, transform: 'translateY(12px) scale(.98)' }, { opacity: 1, transform: 'none' }], { duration: 180, easing: 'ease-out' });
      }
      const first = matchMedia('(pointer: fine)').matches && panel.querySelector('.jd-input:not([disabled])');
      (first || panel).focus();
    }

    // Storage: chat id, token and last seq per portal, so that a reload resumes.
    function load() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; } }
    function save() { try { sessionStorage.setItem(KEY, JSON.stringify(sess)); } catch { /* private mode */ } }
    function forget() { try { sessionStorage.removeItem(KEY); } catch { /* private mode */ } }

    async function api(method, path, data, token, signal) {
      const headers = {}, raw = data instanceof Blob; // a file goes as it is
      if (data) headers['Content-Type'] = raw ? data.type || 'application/octet-stream' : 'application/json';
      if (token) headers.Authorization = 'Bearer ' + token;
      let res, out = null;
      try {
        res = await fetch(base + '/api/v1' + path, { method, headers, signal, body: data ? (raw ? data : JSON.stringify(data)) : undefined, credentials: 'omit', cache: 'no-store' });
      } catch (x) {
        if (x.name === 'AbortError') throw x;
        throw Object.assign(new Error('Can’t reach the chat service. Check your connection and try again.'), { status: 0 });
      }
      try { out = await res.json(); } catch { /* empty body */ }
      if (!res.ok) {
        const e = (out && out.error) || {};
        const after = parseInt(res.headers.get('Retry-After'), 10);
        throw Object.assign(new Error(e.message || `Something went wrong (${res.status}). Please try again.`), { status: res.status, code: e.code, after: after > 0 ? after : 0 });
      }
      return out || {};
    }
    const post = (p, data) => api('POST', `/chats/${enc(sess.id)}${p}`, data, sess.token);

    function status() {
      let s = '', live = false;
      if (!sess) { s = online == null ? '' : online ? 'We’re online' : 'We’re away — leave a message'; live = !!online; }
      else if (ended) s = 'Chat ended';
      else if (agents.size) { s = [...agents].join(', '); live = true; }
      else s = 'Waiting for an agent…';
      sub.textContent = s;
      sub.classList.toggle('jd-live', live);
      if (agents.size) avatar.textContent = [...agents][0].trim().charAt(0).toUpperCase();
      else avatar.innerHTML = ICON.chat;
      if (wait) wait.hidden = ended || agents.size > 0;
    }

    // The start form.
    function field(label, input, hint) {
      const err = h('div', { class: 'jd-ferr', id: input.id + '-err', hidden: true });
      input.setAttribute('aria-describedby', err.id);
      return h('div', { class: 'jd-field' }, h('label', { class: 'jd-label', for: input.id }, label, hint && h('span', { class: 'jd-opt' }, hint)), input, err);
    }
    function invalid(input, msg) {
      const err = input.parentNode.querySelector('.jd-ferr');
      err.textContent = msg || '';
      err.hidden = !msg;
      input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    }
    function showForm() {
      if (sizes) sizes.disconnect();
      log = scroller = wait = typing = input = sendBtn = attachBtn = null;
      const id = (s) => `jd${n}-${s}`;
      const nameI = h('input', { class: 'jd-input', id: id('name'), name: 'name', autocomplete: 'name', maxlength: '100', required: true, value: prefill.name });
      const emailI = h('input', { class: 'jd-input', id: id('email'), name: 'email', type: 'email', autocomplete: 'email', maxlength: '200', value: prefill.email });
      const deptS = h('select', { class: 'jd-input', id: id('dept'), name: 'department' });
      const questionI = h('textarea', { class: 'jd-input', id: id('question'), name: 'question', rows: '3', maxlength: '2000', required: true });
      const deptF = field('Department', deptS);
      const note = h('p', { class: 'jd-note', role: 'status', hidden: true });
      const alert = h('p', { class: 'jd-alert', role: 'alert', hidden: true });
      const btn = h('button', { type: 'submit', class: 'jd-btn jd-primary' }, 'Start chat');
      let single = '';
      deptF.hidden = true;
      const form = h('form', { class: 'jd-form', novalidate: true, onsubmit: submit },
        h('p', { class: 'jd-intro' }, 'Hi! Tell us who you are and what you need, and we’ll connect you with someone from the team.'),
        note, field('Your name', nameI), field('Email', emailI, ' (optional)'), deptF, field('How can we help?', questionI), alert, btn);
      body.replaceChildren(form);
      endBtn.hidden = true;
      status();

      api('GET', `/portals/${enc(portal)}/departments`).then((d) => {
        const deps = Array.isArray(d.departments) ? d.departments : [];
        online = d.anyone_online !== false;
        status();
        if (!online) {
          note.textContent = 'Nobody is online right now. Leave your question (and your email) and we’ll get back to you.';
          note.hidden = false;
        }
        if (deps.length === 1) single = String(deps[0].name);
        if (deps.length > 1) {
          deptS.replaceChildren(h('option', { value: '' }, 'Choose a department'),
            ...deps.map((x) => h('option', { value: String(x.name) }, x.name + (x.online ? '' : ' (offline)'))));
          deptF.hidden = false;
        }
      }, (x) => {
        if (!x.status) return;
        alert.textContent = x.message;
        alert.hidden = false;
        if (x.status === 404 || x.status === 403) btn.disabled = true;
      });

      async function submit(e) {
        e.preventDefault();
        const v = { name: nameI.value.trim(), email: emailI.value.trim(), department: deptF.hidden ? single : deptS.value, question: questionI.value.trim() };
        const checks = [
          [nameI, !v.name && 'Please tell us your name.'],
          [emailI, v.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email) && 'That email address doesn’t look right.'],
          [deptS, !deptF.hidden && !v.department && 'Please choose a department.'],
          [questionI, !v.question && 'Please type your question.'],
        ];
        checks.forEach(([el, msg]) => invalid(el, msg));
        const bad = checks.find((c) => c[1]);
        if (bad) return bad[0].focus();
        alert.hidden = true;
        btn.disabled = true;
        btn.textContent = 'Starting…';
        const cid = newId();
        const req = { portal, ...v, page_url: location.href, language: navigator.language, client_id: cid };
        for (const k of Object.keys(req)) if (!req[k]) delete req[k];
        try {
          const r = await api('POST', '/chats', req);
          sess = { id: r.chat_id, token: r.token, num: r.visitor_number, seq: 0, q: { text: v.question, cid, at: new Date().toISOString() } };
          save();
          prefill = { name: v.name, email: v.email };
          showChat();
          openWS(gen); // nothing to catch up on yet
        } catch (x) {
          alert.textContent = x.message;
          alert.hidden = btn.disabled = false;
          btn.textContent = 'Start chat';
        }
      }
    }

    // The conversation.
    function showChat() {
      const num = sess.num != null && sess.num !== '' ? String(sess.num).replace(/^#/, '') : '';
      log = h('div', { class: 'jd-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
      wait = h('div', { class: 'jd-wait', role: 'status' }, h('span', { class: 'jd-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
        h('div', {}, h('strong', {}, 'Waiting for an agent…'), num ? `You are visitor #${num}. Someone will be with you shortly.` : 'Someone will be with you shortly.'));
      typing = h('div', { class: 'jd-typing', hidden: true });
      scroller = h('div', { class: 'jd-scroll', onscroll: () => { pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; } }, log, wait, typing);
      pinned = true;
      // Stay at the bottom while the conversation or the bars above it change size.
      if (window.ResizeObserver) [scroller, log, wait, typing].forEach((el) => sizes.observe(el));
      let enter = false; // Enter sends; the line break it may still produce is dropped
      input = h('textarea', { class: 'jd-input jd-msgin', rows: '1', placeholder: 'Type your message…', 'aria-label': 'Message', maxlength: '4000', enterkeyhint: 'send', oninput: onInput,
        onkeydown: (e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); enter = true; send(); } },
        onkeyup: () => { enter = false; },
        onbeforeinput: (e) => { if (enter && e.inputType === 'insertLineBreak') e.preventDefault(); } });
      sendBtn = h('button', { type: 'submit', class: 'jd-send', 'aria-label': 'Send', icon: 'send' });
      const picker = h('input', { type: 'file', class: 'jd-picker', hidden: true, tabindex: '-1', onchange: () => { const f = picker.files[0]; picker.value = ''; if (f) sendFile(f); } });
      attachBtn = h('button', { type: 'button', class: 'jd-attach', 'aria-label': 'Attach a file', title: 'Attach a file', icon: 'clip', onclick: () => picker.click() });
      body.replaceChildren(scroller, h('form', { class: 'jd-composer', onsubmit: (e) => { e.preventDefault(); send(); } }, attachBtn, picker, input, sendBtn));
      endBtn.hidden = false;
      status();
      if (sess.q) { mine.add(sess.q.cid); bubble('me', '', sess.q.text, sess.q.at); } // the question, unless echoed with its id
    }
    function add(el, force) {
      log.append(el);
      if (pinned || force) { pinned = true; scrollEnd(); }
      return el;
    }
    const sys = (text, cls) => add(h('div', { class: 'jd-sys' + (cls ? ' ' + cls : '') }, String(text)));
    function bubble(who, from, text, at, files) {
      from = String(from || (who === 'agent' ? 'Agent' : ''));
      const prev = log.lastElementChild;
      const cont = !!prev && prev.classList.contains('jd-' + who) && prev.getAttribute('data-from') === from;
      return add(h('div', { class: `jd-msg jd-${who}${cont ? ' jd-cont' : ''}`, 'data-from': from },
        who === 'agent' && !cont ? h('div', { class: 'jd-name' }, from) : h('span', { class: 'jd-sr' }, who === 'me' ? 'You: ' : from + ': '),
        content(who, from, text, files), h('time', { class: 'jd-time', datetime: at || new Date().toISOString() }, clock(at))), who === 'me');
    }
    // A message's bubble: its files (a picture inline, anything else a link),
    // and its text without the lines that give the files' addresses.
    function content(who, from, text, files) {
      text = String(text == null ? '' : text);
      const views = (Array.isArray(files) ? files : []).map((f) => fileView(f, from)).filter(Boolean);
      if (views.length) {
        const urls = files.map((f) => String(f.url || '')).filter(Boolean);
        text = text.split('\n').filter((l) => !urls.some((u) => l.includes(u))).join('\n').trim();
        return h('div', { class: 'jd-bubble jd-media' }, text && h('div', { class: 'jd-cap' }, linkify(text)), views);
      }
      const img = who === 'agent' && /^https?:\/\/\S+$/i.test(text.trim()) && safeURL(text);
      if (img && IMAGE.test(new URL(img).pathname)) return h('div', { class: 'jd-bubble jd-media' }, picture(img, 'Image sent by ' + from));
      return h('div', { class: 'jd-bubble' }, linkify(text));
    }
    function picture(u, alt) {
      const a = h('a', { href: u, target: '_blank', rel: 'noopener noreferrer' });
      a.append(h('img', { class: 'jd-img', src: u, alt, referrerpolicy: 'no-referrer', onload: () => { if (pinned) scrollEnd(); }, onerror: () => a.replaceWith(link(u)) }));
      return a;
    }
    function fileView(f, from) {
      const u = f && safeURL(f.url), name = String((f && f.name) || 'file');
      if (!u) return null;
      if (PICTURE.test(String(f.mime || ''))) return picture(u, name + (from ? ' from ' + from : ''));
      return h('a', { class: 'jd-file', href: u, target: '_blank', rel: 'noopener noreferrer', download: name },
        h('span', { class: 'jd-fi', icon: 'file' }), h('span', { class: 'jd-fname' }, name));
    }
    function card(raw) {
      const u = safeURL(raw);
      if (!u) return;
      const done = (t) => acts.replaceChildren(h('span', { class: 'jd-cstat' }, t));
      const acts = h('div', { class: 'jd-acts' },
        h('button', { type: 'button', class: 'jd-btn jd-primary jd-sm', onclick: () => {
          window.open(u, '_blank', 'noopener,noreferrer');
          done('Opened in a new tab.');
          post('/opened', { url: String(raw) }).catch(() => {});
        } }, 'Open'),
        h('button', { type: 'button', class: 'jd-btn jd-ghost jd-sm', onclick: () => done('Dismissed.') }, 'Dismiss'));
      add(h('div', { class: 'jd-card', role: 'group', 'aria-label': 'Suggested page' }, h('div', { class: 'jd-ctitle' }, 'The agent suggests a page:'), h('div', { class: 'jd-url' }, u), acts));
    }
    function typingOn(from) {
      typing.replaceChildren(h('span', { class: 'jd-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), `${from || 'The agent'} is typing…`);
      typing.hidden = false;
      if (pinned) scrollEnd();
      clearTimeout(typingT), typingT = setTimeout(typingOff, 30000);
    }
    function typingOff() { clearTimeout(typingT); if (typing) typing.hidden = true; }

    function startTimer(seconds) {
      stopTimer();
      if (!(seconds > 0)) return;
      const end = Date.now() + seconds * 1000;
      const tick = () => {
        const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
        timerText.textContent = left ? `Chat ends in ${left} s — type to keep it open` : 'Ending the chat…';
        timerFill.style.transform = `scaleX(${Math.max(0, (end - Date.now()) / (seconds * 1000))})`;
        if (!left) clearInterval(timerIv);
      };
      tick();
      timer.hidden = false, timerIv = setInterval(tick, 250);
    }
    function stopTimer() { clearInterval(timerIv); timer.hidden = true; }

    // One event from the WebSocket or the long poll. History (seq <= the seq
    // stored before a reload) is drawn without live effects.
    function handle(ev) {
      if (!ev || typeof ev.seq !== 'number' || ended || !log) return;
      if (ev.seq > 0) { // seq 0: live only, never stored (typing)
        if (ev.seq <= lastSeq) return;
        lastSeq = ev.seq;
        sess.seq = Math.max(sess.seq || 0, lastSeq);
        save();
      }
      const old = ev.seq > 0 && ev.seq <= replayTo;
      switch (ev.type) {
        case 'message':
          typingOff();
          bubble('agent', ev.from, ev.text, ev.at, ev.files);
          if (!inline && panel.hidden && !old) { badge.textContent = String(++unread); badge.hidden = false; }
          break;
        case 'visitor_message':
          if (ev.client_id && mine.has(ev.client_id)) mine.delete(ev.client_id);
          else bubble('me', '', ev.text, ev.at, ev.files);
          break;
        case 'system': sys(ev.text || ''); break;
        case 'agent_joined': agents.add(String(ev.name || 'An agent')); sys(`${ev.name || 'An agent'} joined the chat`); status(); break;
        case 'agent_left': agents.delete(String(ev.name || 'An agent')); typingOff(); sys(`${ev.name || 'An agent'} left the chat`); status(); break;
        case 'typing': if (!old) { if (ev.state === 'composing') typingOn(ev.from); else typingOff(); } break;
        case 'push_url': card(ev.url); break;
        case 'end_timer': startTimer(old ? ev.seconds - (Date.now() - Date.parse(ev.at)) / 1000 : Number(ev.seconds)); break;
        case 'end_timer_cancelled': stopTimer(); break;
        case 'ended': finish(ev.reason, ev.rate === true); break;
      }
    }
    const apply = (evs) => (evs || []).slice().sort((a, b) => a.seq - b.seq).forEach(handle);

    // Transport: a WebSocket; the long poll when WebSockets are unavailable.
    // Every (re)connection first fetches what it missed (after=lastSeq).
    async function fetchEvents(ms) {
      const c = (ctl = new AbortController()), t = setTimeout(() => c.abort(), ms);
      try {
        const r = await api('GET', `/chats/${enc(sess.id)}/events?after=${lastSeq}&token=${enc(sess.token)}`, null, null, c.signal);
        return r.events || [];
      } catch (x) {
        if (x.name === 'AbortError') return []; // nothing new within ms (or stopped)
        throw x;
      } finally {
        clearTimeout(t);
      }
    }
    async function connect() {
      clearTimeout(retryT);
      retryT = 0;
      const g = gen;
      do {
        if (ended || !sess || g !== gen) return;
        let evs;
        try { evs = await fetchEvents(pollMode ? 35000 : 2000); } catch (x) {
          if (g === gen && !fatal(x)) retry();
          return;
        }
        if (g !== gen) return;
        apply(evs);
        if (pollMode) up();
      } while (pollMode);
      if (!ended) openWS(g);
    }
    function openWS(g) {
      let opened = false, sock;
      try {
        sock = ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/chats/${enc(sess.id)}/ws?token=${enc(sess.token)}&after=${lastSeq}`);
      } catch {
        pollMode = true;
        return connect();
      }
      sock.onopen = () => { opened = true; wsFails = 0; up(); };
      sock.onmessage = (m) => {
        let ev;
        try { ev = JSON.parse(m.data); } catch { return; }
        if (g === gen) frame(ev, g);
      };
      sock.onclose = () => {
        if (ws === sock) ws = null;
        if (g !== gen || ended) return;
        if (opened) return retry();
        // Refused before it opened although HTTP works: try once more, then long-poll.
        if (++wsFails >= 2) pollMode = true;
        retryT = setTimeout(connect, pollMode ? 0 : 1000);
      };
    }
    // A frame that skips seqs: fetch the gap first, hold frames meanwhile.
    function frame(ev, g) {
      if (gap) return void held.push(ev);
      if (!(ev.seq > lastSeq + 1)) return handle(ev);
      held.push(ev);
      gap = fetchEvents(2000).then(apply, () => {}).finally(() => {
        if (g !== gen) return;
        const list = held;
        gap = null, held = [];
        apply(list);
      });
    }
    function retry() {
      reconn.hidden = false;
      clearTimeout(retryT);
      retryT = setTimeout(connect, backoff * (0.8 + Math.random() * 0.4));
      backoff = Math.min(backoff * 2, 30000);
    }
    function up() { reconn.hidden = true; backoff = 1000; }
    function fatal(x) {
      if (x.status === 409) finish();
      else if (x.status >= 400 && x.status < 500 && x.status !== 408 && x.status !== 429) { sys(x.message); finish('gone'); }
      else return false;
      return true;
    }
    function stopConn() {
      gen++;
      clearTimeout(retryT);
      if (ctl) ctl.abort();
      if (ws) { const s = ws; ws = null; s.close(); }
      retryT = 0, gap = null, held = [];
      reconn.hidden = true;
    }
    function onOnline() { if (retryT && sess && !ended) { backoff = 1000; connect(); } }
    window.addEventListener('online', onOnline);
    // Phones: keep the full-screen panel above the on-screen keyboard.
    const vv = window.visualViewport, fit = () => {
      const full = !inline && matchMedia('(max-width: 520px)').matches;
      panel.style.height = full ? vv.height + 'px' : '';
      panel.style.top = full ? vv.offsetTop + 'px' : '';
    };
    const vvOn = (on) => vv && ['resize', 'scroll'].forEach((e) => vv[on ? 'addEventListener' : 'removeEventListener'](e, fit));
    vvOn(true);

    // Visitor actions.
    function send() {
      const text = input.value.trim();
      if (!text || ended) return;
      input.value = '';
      grow(); idle();
      const cid = newId();
      mine.add(cid);
      deliver(bubble('me', '', text), text, cid);
    }
    function sendFile(file) {
      if (ended || !sess) return;
      const cid = newId();
      mine.add(cid);
      deliver(bubble('me', '', 'Sending ' + file.name + '…'), file, cid);
    }
    // deliver sends a message: text, or a file (a Blob) to attach.
    async function deliver(el, what, cid, tries = 0) {
      el.classList.replace('jd-failed', 'jd-pending') || el.classList.add('jd-pending');
      el.querySelectorAll('.jd-fail').forEach((n) => n.remove());
      try {
        if (typeof what === 'string') await post('/messages', { text: what, client_id: cid });
        else {
          const r = await post(`/files?name=${enc(what.name || 'file')}&client_id=${enc(cid)}`, what);
          el.querySelector('.jd-bubble').replaceWith(content('me', '', '', [r.file]));
          if (pinned) scrollEnd();
        }
        el.classList.remove('jd-pending');
      } catch (x) {
        // Too fast, or the agent is catching up: send it again when told.
        if (x.status === 429 && tries < 5 && !ended) return void setTimeout(() => deliver(el, what, cid, tries + 1), Math.min(x.after || 2, 30) * 1000);
        el.classList.replace('jd-pending', 'jd-failed');
        const again = !x.status || x.status === 429 || x.status >= 500;
        el.append(h('div', { class: 'jd-fail', role: 'alert' }, x.message + ' ', again && h('button', { type: 'button', class: 'jd-link', onclick: () => deliver(el, what, cid) }, 'Retry')));
        if (x.status === 409) finish();
      }
    }
    function grow() {
      input.style.height = 'auto';
      input.style.height = Math.min(input.scrollHeight + 2, 140) + 'px';
    }
    function onInput() {
      grow();
      if (ended || !input.value.trim()) return;
      const now = Date.now();
      if (now - lastComposing >= 3000) {
        lastComposing = now, composing = true;
        post('/typing', { state: 'composing' }).catch(() => {});
      }
      clearTimeout(idleT), idleT = setTimeout(idle, 5000);
    }
    function idle() {
      clearTimeout(idleT);
      if (!composing || !sess) return;
      composing = false;
      post('/typing', { state: 'paused' }).catch(() => {});
    }
    async function endChat() {
      if (!armed) {
        endBtn.textContent = 'Really end?';
        armed = setTimeout(() => { armed = 0; endBtn.textContent = 'End chat'; }, 4000);
        return;
      }
      clearTimeout(armed);
      armed = 0, endBtn.textContent = 'End chat';
      try { const r = await post('/end', {}); finish('visitor', r.rate === true); } catch (x) { if (!fatal(x)) sys(x.message); }
    }
    function finish(reason, rate) {
      if (ended) return;
      const had = panel.contains(document.activeElement);
      ended = true, composing = false;
      clearTimeout(idleT);
      stopConn(); stopTimer(); typingOff(); forget();
      agents.clear();
      status();
      endBtn.hidden = true;
      input.disabled = sendBtn.disabled = attachBtn.disabled = true;
      // A page pushed during the chat is not offered any more.
      if (log) log.querySelectorAll('.jd-card .jd-acts').forEach((a) => a.replaceChildren(h('span', { class: 'jd-cstat' }, 'The chat has ended.')));
      input.placeholder = 'This chat has ended';
      sys(ENDED[reason] || 'Chat ended', 'jd-end');
      const first = rate && rating();
      add(h('button', { type: 'button', class: rate ? 'jd-btn jd-ghost jd-again' : 'jd-btn jd-primary jd-again', onclick: restart }, 'Start a new chat'), true);
      if (first && had) first.focus({ preventScroll: true });
    }
    // The question at the end: 1–5 stars (a radio group: arrows choose) and a comment.
    function rating() {
      const id = (s) => `jd${n}-rate-${s}`, lit = (k) => labels.forEach((l, i) => l.classList.toggle('jd-lit', i < k));
      const picked = () => +((stars.querySelector('input:checked') || {}).value || 0);
      const radios = [1, 2, 3, 4, 5].map((k) => h('input', { type: 'radio', class: 'jd-star-in', name: id('stars'), id: id(k), value: String(k), onchange: () => { lit(k); alert.hidden = true; } }));
      const labels = radios.map((r, i) => h('label', { class: 'jd-star', for: r.id, title: `${i + 1} of 5`, 'data-stars': String(i + 1), onmouseenter: () => lit(i + 1) },
        h('span', { 'aria-hidden': 'true' }, '★'), h('span', { class: 'jd-sr' }, i ? `${i + 1} stars` : '1 star')));
      const stars = h('div', { class: 'jd-stars', onmouseleave: () => lit(picked()) }, radios.flatMap((r, i) => [r, labels[i]]));
      const comment = h('textarea', { class: 'jd-input', id: id('comment'), name: 'comment', rows: '2', maxlength: '500' });
      const alert = h('p', { class: 'jd-alert', role: 'alert', hidden: true });
      const btn = h('button', { type: 'submit', class: 'jd-btn jd-primary jd-sm' }, 'Send rating');
      const thanks = (t) => {
        const p = h('p', { class: 'jd-thanks', role: 'status', tabindex: '-1' }, t), back = form.contains(document.activeElement);
        form.replaceWith(p);
        log.querySelectorAll('.jd-again').forEach((b) => b.classList.replace('jd-ghost', 'jd-primary'));
        if (back) p.focus();
      };
      const form = h('form', { class: 'jd-rate', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        const k = picked();
        alert.hidden = !!k, alert.textContent = k ? '' : 'Please choose from 1 to 5 stars.';
        if (!k) return radios[0].focus();
        btn.disabled = true;
        try {
          await post('/rating', { stars: k, comment: comment.value.trim() });
          thanks('Thanks for your feedback!');
        } catch (x) {
          if (x.code === 'already_rated') return thanks('This chat was rated already. Thank you!');
          alert.textContent = x.message, alert.hidden = btn.disabled = false;
        }
      } }, h('fieldset', {}, h('legend', { class: 'jd-rq' }, 'How was this chat?'), stars),
      h('div', { class: 'jd-field' }, h('label', { class: 'jd-label', for: comment.id }, 'Comment', h('span', { class: 'jd-opt' }, ' (optional)')), comment), alert, btn);
      add(form, true);
      return radios[0];
    }
    function restart() {
      stopConn();
      sess = null, ended = false, lastSeq = replayTo = 0;
      agents.clear();
      mine.clear();
      showForm();
      const first = body.querySelector('.jd-input');
      if (first) first.focus();
    }

    if (sess && sess.id && sess.token) {
      replayTo = sess.seq || 0; // replay the whole log after a reload
      showChat();
      connect();
    } else {
      sess = null;
      showForm();
    }
    let wasOpen = false;
    try { wasOpen = !!sess && !!sessionStorage.getItem(KEY + ':open'); } catch { /* private mode */ }
    return {
      root,
      wasOpen,
      open: () => setOpen(true),
      close: () => setOpen(false),
      destroy() {
        stopConn();
        clearTimeout(idleT);
        stopTimer();
        if (sizes) sizes.disconnect();
        window.removeEventListener('online', onOnline);
        vvOn(false);
        root.remove();
      },
    };
  }

  function mount(element, opts) {
    opts = opts || {};
    const w = create({ ...opts, inline: true });
    w.root.hidden = true;
    element.append(w.root);
    loadCSS(String(opts.base || BASE).replace(/\/+$/, '')).then(() => { w.root.hidden = false; });
    return { root: w.root, destroy: w.destroy };
  }

  function auto() {
    if (!script) return;
    const d = script.dataset, portal = d.portal || (document.body && document.body.dataset.portal);
    if (!portal) return console.warn('jabberdesk widget: no data-portal attribute');
    const opts = { portal, base: d.base || BASE, title: d.title, color: d.color };
    const target = d.mount && document.querySelector(d.mount);
    if (target) return void mount(target, opts);
    floating = create(opts);
    loadCSS(opts.base.replace(/\/+$/, '')).then(() => {
      document.body.append(floating.root);
      if (floating.wasOpen) floating.open();
    });
  }

  window.JabberdeskWidget = {
    mount,
    open: () => floating && floating.open(),
    close: () => floating && floating.close(),
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', auto);
  else auto();
})();
