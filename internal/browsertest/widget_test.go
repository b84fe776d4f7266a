package browsertest_test

import (
	"bytes"
	"encoding/json"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"jabberdesk/internal/browsertest"
)

// assets is the widget's directory, relative to this package.
var assets = filepath.Join("..", "..", "bridge", "web", "assets")

const (
	chatID = "c-7f3a"
	token  = "tok-0123456789abcdef"
)

// fakeAPI is a small stand-in for the visitor API of docs/VISITOR-API.md: one portal
// ("acme"), one chat, an event log the test appends to, a WebSocket and the
// long poll. It records what the widget sends.
type fakeAPI struct {
	t    testing.TB
	mux  *http.ServeMux
	done chan struct{}

	// Set before the browser starts.
	noWS        bool // the WebSocket endpoint refuses: the widget must long-poll
	oneDept     bool // a single department: no picker
	nobody      bool // anyone_online false
	failCreates int  // answer this many POST /chats with 429
	busyAgent   int  // answer this many POST messages with 429 agent_busy

	mu     sync.Mutex
	events []map[string]any // stored: seq = index+1
	live   []map[string]any // typing: seq 0, never stored, only for readers connected now
	wake   chan struct{}    // closed at the next event
	conns  map[*websocket.Conn]bool
	wsSeen int
	wsUp   chan struct{} // a WebSocket was accepted

	created  chan map[string]any
	messages chan map[string]any
	typing   chan string
	opened   chan string
	ends     chan struct{}
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{
		t: t, mux: http.NewServeMux(), done: make(chan struct{}), wake: make(chan struct{}),
		conns:   map[*websocket.Conn]bool{},
		created: make(chan map[string]any, 8), messages: make(chan map[string]any, 8),
		typing: make(chan string, 64), opened: make(chan string, 8), ends: make(chan struct{}, 8),
		wsUp: make(chan struct{}, 16),
	}
	m := f.mux
	m.HandleFunc("GET /widget.js", f.file("widget.js"))
	m.HandleFunc("GET /widget.css", f.file("widget.css"))
	m.HandleFunc("GET /chat/{portal}", f.chatPage)
	m.HandleFunc("GET /img/rocket.png", servePNG)
	m.HandleFunc("GET /pages/{page}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>page</title><p>A page an agent pushed.</p>"))
	})
	m.HandleFunc("GET /api/v1/portals/{portal}/departments", f.departments)
	m.HandleFunc("POST /api/v1/chats", f.create)
	m.HandleFunc("GET /api/v1/chats/{id}/ws", f.ws)
	m.HandleFunc("GET /api/v1/chats/{id}/events", f.poll)
	m.HandleFunc("POST /api/v1/chats/{id}/{action}", f.action)
	return f
}

// start serves the fake on a local port until the test ends.
func (f *fakeAPI) start() *httptest.Server {
	srv := httptest.NewServer(f)
	f.t.Cleanup(func() { close(f.done); srv.Close() })
	return srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The widget is embedded on other sites: the API answers any origin
	// (no cookies; the bearer token authorizes).
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		h.Set("Access-Control-Max-Age", "600")
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	f.mux.ServeHTTP(w, r)
}

func (f *fakeAPI) file(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, filepath.Join(assets, name)) }
}

func (f *fakeAPI) chatPage(w http.ResponseWriter, r *http.Request) {
	page, err := os.ReadFile(filepath.Join(assets, "chat.html"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(bytes.ReplaceAll(page, []byte("{{PORTAL}}"), []byte(html.EscapeString(r.PathValue("portal")))))
}

func servePNG(w http.ResponseWriter, r *http.Request) {
	img := image.NewRGBA(image.Rect(0, 0, 480, 270))
	for y := range 270 {
		for x := range 480 {
			img.Set(x, y, color.RGBA{uint8(30 + x/4), uint8(60 + y/3), 200, 255})
		}
	}
	w.Header().Set("Content-Type", "image/png")
	_ = png.Encode(w, img)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) departments(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("portal") != "acme" {
		apiError(w, http.StatusNotFound, "unknown_portal", "This chat is not available.")
		return
	}
	deps := []map[string]any{
		{"name": "Sales", "online": !f.nobody, "agents_online": 2},
		{"name": "Billing", "online": false, "agents_online": 0},
	}
	if f.oneDept {
		deps = deps[:1]
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": deps, "anyone_online": !f.nobody})
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_json", "Bad request.")
		return
	}
	if req["portal"] != "acme" {
		apiError(w, http.StatusNotFound, "unknown_portal", "This chat is not available.")
		return
	}
	if req["name"] == nil || req["question"] == nil {
		apiError(w, http.StatusBadRequest, "missing_field", "Name and question are required.")
		return
	}
	f.mu.Lock()
	fail := f.failCreates > 0
	if fail {
		f.failCreates--
	}
	f.mu.Unlock()
	if fail {
		apiError(w, http.StatusTooManyRequests, "rate_limited", "Too many chats from your network. Please wait a minute.")
		return
	}
	f.created <- req
	writeJSON(w, http.StatusCreated, map[string]any{
		"chat_id": chatID, "token": token, "visitor_number": 1042,
		"visitor_jid": "acme|v-1042@chat.example.com", "status": "waiting",
	})
}

// chat checks the chat id and the token (query for GETs, bearer for POSTs).
func (f *fakeAPI) chat(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("id") != chatID {
		apiError(w, http.StatusNotFound, "unknown_chat", "This chat does not exist.")
		return false
	}
	got := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		got = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if got != token {
		apiError(w, http.StatusUnauthorized, "bad_token", "This chat link is not valid.")
		return false
	}
	return true
}

// emit appends an event to the chat's log and wakes the readers. Typing
// events are not stored and have seq 0, as in the real server.
func (f *fakeAPI) emit(typ string, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := map[string]any{"seq": 0, "type": typ, "at": time.Now().UTC().Format(time.RFC3339)}
	for k, v := range fields {
		ev[k] = v
	}
	if typ == "typing" {
		f.live = append(f.live, ev)
	} else {
		ev["seq"] = len(f.events) + 1
		f.events = append(f.events, ev)
	}
	close(f.wake)
	f.wake = make(chan struct{})
}

// liveNow is where a reader that connects now starts in f.live.
func (f *fakeAPI) liveNow() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live)
}

// since returns the stored events after seq after, the live ones from
// index live on, the next live index and a channel closed at the next event.
func (f *fakeAPI) since(after, live int) ([]map[string]any, int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after < 0 || after > len(f.events) {
		after = len(f.events)
	}
	evs := append([]map[string]any(nil), f.events[after:]...)
	return append(evs, f.live[live:]...), len(f.live), f.wake
}

// kick drops every WebSocket, as a network failure would.
func (f *fakeAPI) kick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.CloseNow()
	}
}

func (f *fakeAPI) ws(w http.ResponseWriter, r *http.Request) {
	if !f.chat(w, r) {
		return
	}
	if f.noWS {
		http.Error(w, "no WebSockets on this network", http.StatusForbidden)
		return
	}
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	live := f.liveNow()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // any origin
	if err != nil {
		return
	}
	f.mu.Lock()
	f.conns[c] = true
	f.wsSeen++
	f.mu.Unlock()
	select {
	case f.wsUp <- struct{}{}:
	default:
	}
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		_ = c.CloseNow()
	}()
	ctx := c.CloseRead(r.Context())
	for {
		evs, next, wake := f.since(after, live)
		live = next
		for _, ev := range evs {
			if err := wsjson.Write(ctx, c, ev); err != nil {
				return
			}
			after = max(after, ev["seq"].(int))
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-f.done:
			return
		}
	}
}

func (f *fakeAPI) poll(w http.ResponseWriter, r *http.Request) {
	if !f.chat(w, r) {
		return
	}
	after, err := strconv.Atoi(r.URL.Query().Get("after"))
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_after", "Bad after.")
		return
	}
	limit := time.NewTimer(25 * time.Second)
	defer limit.Stop()
	live := f.liveNow()
	for {
		evs, next, wake := f.since(after, live)
		live = next
		if len(evs) > 0 {
			writeJSON(w, http.StatusOK, map[string]any{"events": evs})
			return
		}
		select {
		case <-wake:
		case <-limit.C:
			writeJSON(w, http.StatusOK, map[string]any{"events": []any{}})
			return
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
}

// body checks a POST about the chat and reads its JSON body; ok is false
// when it was answered with an error.
func (f *fakeAPI) body(w http.ResponseWriter, r *http.Request) (body map[string]any, ok bool) {
	if !f.chat(w, r) {
		return nil, false
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_json", "Bad request.")
		return nil, false
	}
	return body, true
}

func (f *fakeAPI) action(w http.ResponseWriter, r *http.Request) {
	body, ok := f.body(w, r)
	if !ok {
		return
	}
	switch r.PathValue("action") {
	case "messages":
		f.mu.Lock()
		busy := f.busyAgent > 0
		if busy {
			f.busyAgent--
		}
		f.mu.Unlock()
		if busy {
			w.Header().Set("Retry-After", "1")
			apiError(w, http.StatusTooManyRequests, "agent_busy", "The agent is catching up; send it again in a moment.")
			return
		}
		f.messages <- body
		f.emit("visitor_message", map[string]any{"text": body["text"], "client_id": body["client_id"]})
		writeJSON(w, http.StatusAccepted, map[string]any{})
	case "typing":
		state, _ := body["state"].(string)
		select {
		case f.typing <- state:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	case "opened":
		url, _ := body["url"].(string)
		f.opened <- url
		w.WriteHeader(http.StatusNoContent)
	case "end":
		f.ends <- struct{}{}
		f.emit("ended", map[string]any{"reason": "visitor"})
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		apiError(w, http.StatusNotFound, "not_found", "Not found.")
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(browsertest.WaitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func run(t *testing.T, b *browsertest.Browser, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := b.Run(actions...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, b *browsertest.Browser, expr string) T {
	t.Helper()
	v, err := browsertest.Eval[T](b, expr)
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

func noExceptions(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Errorf("the page threw: %q", ex)
	}
}

// fillForm fills the start form of the widget under root and submits it.
func fillForm(root, dept string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.CSS(root+" input[name=name]"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS(root+" input[name=email]"), "ada@example.com"),
	}
	if dept != "" {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(root+" select[name=department]"), dept))
	}
	return chromedp.Steps(append(steps,
		chromedp.SendKeys(chromedp.CSS(root+" textarea[name=question]"), "Do you ship rockets to Mars?"),
		chromedp.Click(chromedp.CSS(root+" .jd-form button[type=submit]")),
	)...)
}

// TestWidgetStandalone drives /chat/acme on a phone: form, validation, a
// chat over the WebSocket with every kind of event, and the end.
func TestWidgetStandalone(t *testing.T) {
	api := newFakeAPI(t)
	srv := api.start()
	b := browsertest.Start(t)

	run(t, b,
		browsertest.Phone(),
		chromedp.Navigate(srv.URL+"/chat/acme"),
		browsertest.WaitText("#jd-app select[name=department]", "Billing (offline)"),
	)
	if title := eval[string](t, b, `document.title`); !strings.Contains(title, "acme") {
		t.Errorf("title %q does not name the portal", title)
	}
	b.Screenshot(t, "phone-form")

	// Validation happens before anything is sent.
	run(t, b,
		chromedp.Click(chromedp.CSS(".jd-form button[type=submit]")),
		browsertest.WaitText(".jd-form", "Please tell us your name."),
		browsertest.WaitText(".jd-form", "Please type your question."),
	)
	if len(api.created) != 0 {
		t.Fatal("an invalid form was sent")
	}

	run(t, b, fillForm("#jd-app", "Sales"))
	req := recv(t, api.created, "POST /api/v1/chats")
	for k, want := range map[string]string{"portal": "acme", "name": "Ada Lovelace", "email": "ada@example.com", "department": "Sales", "question": "Do you ship rockets to Mars?"} {
		if req[k] != want {
			t.Errorf("create %s = %v, want %q", k, req[k], want)
		}
	}
	if u, _ := req["page_url"].(string); !strings.HasSuffix(u, "/chat/acme") {
		t.Errorf("page_url = %q", u)
	}
	if l, _ := req["language"].(string); l == "" {
		t.Error("language is empty")
	}
	run(t, b,
		browsertest.WaitText(".jd-wait", "visitor #1042"),
		browsertest.WaitText(".jd-log", "Do you ship rockets to Mars?"),
	)

	// Typing events are not stored: they reach only a connected stream.
	recv(t, api.wsUp, "the WebSocket")
	api.emit("agent_joined", map[string]any{"name": "Fiona"})
	api.emit("typing", map[string]any{"state": "composing", "from": "Fiona"})
	run(t, b,
		browsertest.WaitText(".jd-typing", "Fiona is typing…"),
		browsertest.WaitText(".jd-sub", "Fiona"),
	)
	hostile := `Hi Ada! Yes we do <img src=x onerror="document.title='pwned'">`
	api.emit("message", map[string]any{"from": "Fiona", "text": hostile})
	run(t, b, browsertest.WaitText(".jd-log", "Hi Ada! Yes we do"))
	if !eval[bool](t, b, `document.querySelector('.jd-typing').hidden`) {
		t.Error("the typing line stays after the agent's message")
	}
	if got := eval[string](t, b, `[...document.querySelectorAll('.jd-agent .jd-bubble')].pop().textContent`); got != hostile {
		t.Errorf("agent text shown as %q, want it verbatim", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll('.jd-log img:not(.jd-img)').length`); n != 0 {
		t.Errorf("server text became HTML: %d stray <img>", n)
	}

	api.emit("message", map[string]any{"from": "Fiona", "text": srv.URL + "/img/rocket.png"})
	api.emit("message", map[string]any{"from": "Fiona", "text": "Prices: https://example.com/prices?to=mars."})
	api.emit("system", map[string]any{"text": "Fiona sent you the shipping terms."})
	api.emit("push_url", map[string]any{"url": "javascript:document.title='pwned'"}) // never offered
	api.emit("push_url", map[string]any{"url": srv.URL + "/pages/mars"})
	run(t, b,
		browsertest.WaitJS(`(() => { const i = document.querySelector('.jd-log img.jd-img'); return i && i.complete && i.naturalWidth > 0; })()`),
		browsertest.WaitJS(`[...document.querySelectorAll('.jd-log a')].some(a => a.href === 'https://example.com/prices?to=mars' && a.target === '_blank' && a.rel === 'noopener noreferrer')`),
		browsertest.WaitText(".jd-log", "Fiona sent you the shipping terms."),
		browsertest.WaitText(".jd-card", "/pages/mars"),
	)
	if n := eval[int](t, b, `document.querySelectorAll('.jd-card').length`); n != 1 {
		t.Errorf("%d page cards, want 1 (javascript: URLs are not offered)", n)
	}
	select {
	case u := <-api.opened:
		t.Fatalf("the pushed page %s was opened without a click", u)
	default:
	}

	// The visitor answers; the echo of the message is not shown twice.
	run(t, b, chromedp.SendKeys(chromedp.CSS(".jd-msgin"), "Great, thanks!"+kb.Enter))
	msg := recv(t, api.messages, "POST messages")
	if msg["text"] != "Great, thanks!" || msg["client_id"] == "" || msg["client_id"] == nil {
		t.Errorf("message body = %v", msg)
	}
	if s := recv(t, api.typing, "typing composing"); s != "composing" {
		t.Errorf("first typing state = %q, want composing", s)
	}
	if s := recv(t, api.typing, "typing paused"); s != "paused" {
		t.Errorf("typing state after send = %q, want paused", s)
	}
	api.emit("message", map[string]any{"from": "Fiona", "text": "You're welcome!"})
	api.emit("end_timer", map[string]any{"seconds": 30})
	run(t, b,
		browsertest.WaitText(".jd-log", "You're welcome!"),
		browsertest.WaitText(".jd-timer", "Chat ends in"),
		browsertest.WaitText(".jd-timer", "type to keep it open"),
	)
	count := `[...document.querySelectorAll('.jd-me .jd-bubble')].filter(e => e.textContent === %q).length`
	for _, text := range []string{"Great, thanks!", "Do you ship rockets to Mars?"} {
		if n := eval[int](t, b, strings.Replace(count, "%q", strconv.Quote(text), 1)); n != 1 {
			t.Errorf("%q shown %d times, want once", text, n)
		}
	}
	b.Screenshot(t, "phone-chat")

	// The pushed page opens only on a click, and the server is told.
	run(t, b,
		chromedp.Click(chromedp.CSS(".jd-card .jd-primary")),
		browsertest.WaitText(".jd-card", "Opened"),
	)
	if u := recv(t, api.opened, "POST opened"); u != srv.URL+"/pages/mars" {
		t.Errorf("opened %q", u)
	}

	api.emit("end_timer_cancelled", nil)
	run(t, b, browsertest.WaitJS(`document.querySelector('.jd-timer').hidden`))
	// An agent who leaves stops typing; a second page offer is not
	// clickable once the chat has ended.
	api.emit("agent_joined", map[string]any{"name": "Gus"})
	api.emit("typing", map[string]any{"state": "composing", "from": "Gus"})
	run(t, b, browsertest.WaitText(".jd-typing", "Gus is typing…"))
	api.emit("agent_left", map[string]any{"name": "Gus"})
	run(t, b, browsertest.WaitJS(`document.querySelector('.jd-typing').hidden`))
	api.emit("push_url", map[string]any{"url": srv.URL + "/pages/venus"})
	run(t, b, browsertest.WaitText(".jd-log", "/pages/venus"))
	api.emit("ended", map[string]any{"reason": "agent"})
	run(t, b,
		browsertest.WaitJS(`document.querySelector('.jd-msgin').disabled`),
		browsertest.WaitText(".jd-log .jd-end", "The agent ended the chat"),
		browsertest.WaitText(".jd-log .jd-again", "Start a new chat"),
	)
	if n := eval[int](t, b, `document.querySelectorAll('.jd-card button').length`); n != 0 {
		t.Errorf("%d page-card buttons left after the end", n)
	}
	if title := eval[string](t, b, `document.title`); title == "pwned" {
		t.Error("server text ran as script")
	}
	b.Screenshot(t, "phone-ended")
	run(t, b, browsertest.Desktop())
	b.Screenshot(t, "desktop-ended")

	// A new chat starts from the form, with the name kept.
	run(t, b,
		chromedp.Click(chromedp.CSS(".jd-again")),
		browsertest.WaitJS(`document.querySelector('.jd-form input[name=name]').value === 'Ada Lovelace'`),
	)
	if eval[bool](t, b, `sessionStorage.length > 0 && Object.keys(sessionStorage).some(k => sessionStorage.getItem(k).includes('`+chatID+`'))`) {
		t.Error("the ended chat is still in sessionStorage")
	}
	noExceptions(t, b)
}

// hostPage serves a page of another site, with head's elements and
// content, that embeds the widget served at base.
func hostPage(t *testing.T, base, head, content string) *httptest.Server {
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8">` + head + `<title>Acme Rockets</title></head>
<body>` + content + `<script src="` + base + `/widget.js" data-portal="acme" async></script></body></html>`))
	}))
	t.Cleanup(host.Close)
	return host
}

// TestWidgetEmbedded puts the floating widget on a page of another origin:
// CORS, the launcher, a dropped WebSocket, a reload that resumes the chat.
func TestWidgetEmbedded(t *testing.T) {
	api := newFakeAPI(t)
	srv := api.start()
	host := hostPage(t, srv.URL, `
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<style>body{font:18px/1.6 Georgia,serif;margin:0;padding:48px;background:#fbf7ef;color:#332}
h1{font-size:44px;margin:0 0 12px}button{background:red;border:4px solid lime}p{max-width:640px}</style>`,
		`<h1>Acme Rockets</h1><p>Reusable rockets for every budget. Delivery to low orbit in 3–5 business days,
to Mars in 7 months. Ask our team anything: we are here to help.</p><p>`+strings.Repeat("Lorem ipsum dolor sit amet. ", 40)+`</p>
`)
	b := browsertest.Start(t)

	run(t, b,
		browsertest.Desktop(),
		chromedp.Navigate(host.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(".jd-launcher")),
	)
	b.Screenshot(t, "desktop-closed")
	run(t, b,
		chromedp.Click(chromedp.CSS(".jd-launcher")),
		browsertest.WaitText(".jd-panel select[name=department]", "Sales"),
		fillForm(".jd-panel", "Billing"),
	)
	req := recv(t, api.created, "POST /api/v1/chats")
	if req["department"] != "Billing" || !strings.HasPrefix(req["page_url"].(string), host.URL) {
		t.Errorf("create = %v", req)
	}
	api.emit("agent_joined", map[string]any{"name": "Fiona Brandt"})
	api.emit("message", map[string]any{"from": "Fiona Brandt", "text": "Hello Ada, Billing here. What can I do for you?"})
	run(t, b, browsertest.WaitText(".jd-log", "Billing here"))
	b.Screenshot(t, "desktop-open")

	// A dropped connection: what is said meanwhile arrives after the reconnect.
	api.kick()
	api.emit("message", map[string]any{"from": "Fiona Brandt", "text": "Are you still there?"})
	run(t, b, browsertest.WaitText(".jd-log", "Are you still there?"))
	run(t, b, browsertest.WaitJS(`document.querySelector('.jd-reconnect').hidden`))

	// A reload resumes the same chat, with its history, the panel open.
	run(t, b,
		chromedp.Reload(),
		browsertest.WaitText(".jd-log", "Are you still there?"),
		browsertest.WaitText(".jd-log", "Do you ship rockets to Mars?"),
		browsertest.WaitText(".jd-sub", "Fiona Brandt"),
	)
	if n := eval[int](t, b, `document.querySelectorAll('.jd-me').length`); n != 1 {
		t.Errorf("after the reload the visitor's question is shown %d times, want once", n)
	}
	if n := eval[int](t, b, `[...document.querySelectorAll('.jd-agent .jd-bubble')].filter(e => e.textContent === 'Are you still there?').length`); n != 1 {
		t.Errorf("after the reload a message is shown %d times, want once", n)
	}

	// Closed panel: a new message raises the badge.
	run(t, b, chromedp.Click(chromedp.CSS(".jd-launcher")), browsertest.WaitJS(`document.querySelector('.jd-panel').hidden`))
	api.emit("message", map[string]any{"from": "Fiona Brandt", "text": "I have sent you the invoice."})
	run(t, b, browsertest.WaitText(".jd-badge", "1"))

	run(t, b,
		browsertest.Phone(),
		chromedp.Click(chromedp.CSS(".jd-launcher")),
		browsertest.WaitText(".jd-log", "I have sent you the invoice."),
	)
	b.ScreenshotViewport(t, "phone-open")

	// The visitor ends the chat (two taps).
	run(t, b,
		chromedp.Click(chromedp.CSS(".jd-header .jd-hbtn:not(.jd-icon)")),
		chromedp.Click(chromedp.CSS(".jd-header .jd-hbtn:not(.jd-icon)")),
	)
	recv(t, api.ends, "POST end")
	run(t, b, browsertest.WaitJS(`document.querySelector('.jd-msgin').disabled`))
	noExceptions(t, b)
}

// TestWidgetLongPoll: no WebSockets on the path, one department, nobody
// online, and a first attempt that the server rate-limits.
func TestWidgetLongPoll(t *testing.T) {
	api := newFakeAPI(t)
	api.noWS, api.oneDept, api.nobody, api.failCreates, api.busyAgent = true, true, true, 1, 2
	srv := api.start()
	b := browsertest.Start(t)

	run(t, b,
		browsertest.Phone(),
		chromedp.Navigate(srv.URL+"/chat/acme"),
		browsertest.WaitText(".jd-note", "Nobody is online right now"),
	)
	if !eval[bool](t, b, `document.querySelector('select[name=department]').closest('.jd-field').hidden`) {
		t.Error("a department picker is shown for a single department")
	}
	run(t, b,
		fillForm("#jd-app", ""),
		browsertest.WaitText(".jd-alert", "Too many chats from your network"),
		chromedp.Click(chromedp.CSS(".jd-form button[type=submit]")),
	)
	req := recv(t, api.created, "POST /api/v1/chats")
	if req["department"] != "Sales" {
		t.Errorf("department = %v, want the only one", req["department"])
	}
	api.emit("agent_joined", map[string]any{"name": "Fiona"})
	api.emit("message", map[string]any{"from": "Fiona", "text": "Sorry for the wait!"})
	run(t, b, browsertest.WaitText(".jd-log", "Sorry for the wait!"))
	// The agent is catching up twice (429): the widget sends it again by
	// itself, once, when told.
	run(t, b, chromedp.SendKeys(chromedp.CSS(".jd-msgin"), "No problem"+kb.Enter))
	if m := recv(t, api.messages, "POST messages"); m["text"] != "No problem" {
		t.Errorf("sent %v", m)
	}
	api.emit("message", map[string]any{"from": "Fiona", "text": "Long polling works."})
	run(t, b, browsertest.WaitText(".jd-log", "Long polling works."))
	if n := eval[int](t, b, `[...document.querySelectorAll('.jd-me')].filter(e => e.textContent.includes('No problem')).length`); n != 1 {
		t.Errorf("the visitor's message is shown %d times", n)
	}
	api.emit("ended", map[string]any{"reason": "idle"})
	run(t, b,
		browsertest.WaitJS(`document.querySelector('.jd-msgin').disabled`),
		browsertest.WaitText(".jd-log", "inactivity"),
	)
	api.mu.Lock()
	seen := api.wsSeen
	api.mu.Unlock()
	if seen != 0 {
		t.Errorf("%d WebSockets accepted with noWS", seen)
	}
	noExceptions(t, b)
}
