package console

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

// password is every test agent's.
const password = "password1"

// fakeDesk is the engine as the console sees it: a live view per portal
// the test sets, a change signal it fires, and the changes asked for.
type fakeDesk struct {
	mu      sync.Mutex
	views   map[string]bridge.LiveView
	changed chan struct{}
	calls   []string // "assign acme 1001 george.w by sue.super", "end …"
	refuse  string   // when set, Assign and End refuse with it
}

func newFakeDesk() *fakeDesk {
	return &fakeDesk{views: map[string]bridge.LiveView{}, changed: make(chan struct{})}
}

func (d *fakeDesk) Live(_ context.Context, portal string) bridge.LiveView {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.views[portal]
	v.At = time.Now()
	return v
}

func (d *fakeDesk) LiveChanged() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// setView changes a portal's live view and signals it.
func (d *fakeDesk) setView(portal string, v bridge.LiveView) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.views[portal] = v
	close(d.changed)
	d.changed = make(chan struct{})
}

func (d *fakeDesk) record(what, portal string, by bridge.AgentInfo, number int64, who string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, strings.TrimSpace(fmt.Sprintf("%s %s %d %s by %s/%s", what, portal, number, who, by.Key, by.Role)))
	if d.refuse != "" {
		return "", &bridge.CommandError{Msg: d.refuse}
	}
	return fmt.Sprintf("Chat #%d: %s done.", number, what), nil
}

func (d *fakeDesk) Assign(_ context.Context, portal string, by bridge.AgentInfo, number int64, who string) (string, error) {
	return d.record("assign", portal, by, number, who)
}

func (d *fakeDesk) End(_ context.Context, portal string, by bridge.AgentInfo, number int64) (string, error) {
	return d.record("end", portal, by, number, "")
}

func (d *fakeDesk) called() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// fakePresence: everyone named in online is online, the rest offline.
type fakePresence map[string]bool

func (p fakePresence) Availability(portal, agent string) bridge.Availability {
	if p[portal+"|"+agent] {
		return bridge.Online
	}
	return bridge.Offline
}

// fixture is a console over a real store with portals acme and globex:
// sue.super (supervisor), ann.agent (agent) and ada.admin (admin) in
// acme, gus.super (supervisor) in globex.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	desk  *fakeDesk
	cfg   Config
	srv   *Server
	ts    *httptest.Server
	guard *limit.Guard
	now   time.Time
	nowMu sync.Mutex
}

// newFixture serves the console over plain HTTP (tls: over TLS); tweak
// may change the configuration before the console is made.
func newFixture(t *testing.T, tls bool, tweak ...func(*Config)) *fixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, ctx: context.Background(), st: st, desk: newFakeDesk(), now: time.Now()}
	f.seed()
	f.guard = limit.NewGuard(limit.GuardConfig{})
	cfg := Config{Domain: "chat.example", Store: st, Sessions: st, Desk: f.desk, Presence: fakePresence{"acme|sue.super": true},
		Guard: f.guard, Now: f.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Reporter: echoReporter{}}
	for _, tw := range tweak {
		tw(&cfg)
	}
	f.guard, f.cfg = cfg.Guard, cfg
	if f.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if tls {
		f.ts = httptest.NewTLSServer(f.srv)
	} else {
		f.ts = httptest.NewServer(f.srv)
	}
	t.Cleanup(f.ts.Close)
	t.Cleanup(f.srv.Shutdown)
	return f
}

// node is another node of the console: a Server of its own (its own
// live streams) on the same store, over plain HTTP.
func (f *fixture) node() *httptest.Server {
	f.t.Helper()
	srv, err := New(f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	f.t.Cleanup(ts.Close)
	f.t.Cleanup(srv.Shutdown)
	return ts
}

func (f *fixture) clock() time.Time {
	f.nowMu.Lock()
	defer f.nowMu.Unlock()
	return f.now
}

// advance moves the console's clock on.
func (f *fixture) advance(d time.Duration) {
	f.nowMu.Lock()
	defer f.nowMu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) seed() {
	f.t.Helper()
	for _, p := range []string{"acme", "globex"} {
		if _, err := f.st.AddPortal(f.ctx, p, "test"); err != nil {
			f.t.Fatal(err)
		}
	}
	for _, a := range []store.NewAgent{
		{Portal: "acme", Username: "sue.super", DisplayName: "Sue", Role: store.RoleSupervisor},
		{Portal: "acme", Username: "ann.agent", DisplayName: "Ann", Role: store.RoleAgent},
		{Portal: "acme", Username: "ada.admin", DisplayName: "Ada", Role: store.RoleAdmin},
		{Portal: "globex", Username: "gus.super", DisplayName: "Gus", Role: store.RoleSupervisor},
	} {
		a.Email, a.Password = a.Username+"@"+a.Portal+".example", password
		if _, err := f.st.AddAgent(f.ctx, a, "test"); err != nil {
			f.t.Fatal(err)
		}
	}
}

// browser is one browser: its own cookies; redirects are not followed.
type browser struct {
	f      *fixture
	c      *http.Client
	header http.Header // sent with every request
	base   string      // the console it asks: f.ts, or another node (the cookies are the same)
}

func (f *fixture) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	c := *f.ts.Client() // the server's transport, this browser's cookies
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{f: f, c: &c, header: http.Header{}, base: f.ts.URL}
}

// result is an answer with its body read.
type result struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values) result {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	all, err := io.ReadAll(res.Body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	return result{res, string(all)}
}

func (b *browser) get(path string) result { return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) result { return b.do("POST", path, form) }

// signIn posts the sign-in form.
func (b *browser) signIn(login, pw string) result {
	return b.post("/console/signin", url.Values{"login": {login}, "password": {pw}})
}

// mustSignIn signs in and fails the test unless a session started.
func (b *browser) mustSignIn(login string) {
	b.f.t.Helper()
	if r := b.signIn(login, password); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/live" {
		b.f.t.Fatalf("sign in as %s: %d %s\n%s", login, r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the browser's session, read from a page's forms.
func (b *browser) csrf() string {
	b.f.t.Helper()
	r := b.get("/console/live")
	m := csrfField.FindStringSubmatch(r.body)
	if m == nil {
		b.f.t.Fatalf("no CSRF token on the page (%d):\n%s", r.StatusCode, r.body)
	}
	return m[1]
}

// expect fails unless the answer has the status and its body holds each
// text.
func (r result) expect(t *testing.T, status int, texts ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s %s: the page lacks %q:\n%s", r.Request.Method, r.Request.URL.Path, s, r.body)
		}
	}
}

// sessionCookie is the Set-Cookie of the console's session, or nil.
func (r result) sessionCookie() *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// chat stores a chat of portal with a visitor's message and returns it.
func (f *fixture) chat(portal, name, email, question, said string) store.Chat {
	f.t.Helper()
	id := fmt.Sprintf("pub-%s-%d", portal, time.Now().UnixNano())
	h := sha256.Sum256([]byte(id))
	c, err := f.st.CreateChat(f.ctx, store.NewChat{Portal: portal, PublicID: id, TokenHash: h[:], Name: name, Email: email,
		Question: question, PageURL: "javascript:alert(1)"})
	if err != nil {
		f.t.Fatal(err)
	}
	if said != "" {
		if _, err := f.st.AppendChatEvent(f.ctx, c.ID, store.ChatEvent{Type: bridge.EventVisitorMessage, AuthorKind: store.AuthorVisitor, Text: said, Visible: true}); err != nil {
			f.t.Fatal(err)
		}
	}
	return c
}

// signedIn is a console over plain HTTP and a browser signed in to it.
func signedIn(t *testing.T, login string) (*fixture, *browser) {
	t.Helper()
	f := newFixture(t, false)
	b := f.browser()
	b.mustSignIn(login)
	return f, b
}
