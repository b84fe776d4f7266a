package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jabberdesk/address"
	"jabberdesk/bridge"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// agentsSide is the agents' side of the bridge for these tests: fiona.b
// is online and takes everything, unless busy.
type agentsSide struct {
	mu       sync.Mutex
	busy     bool
	messages []bridge.Message
}

func (a *agentsSide) Availability(portal, agent string) bridge.Availability { return bridge.Online }
func (a *agentsSide) Contact(portal, agent string, c bridge.Contact)        {}
func (a *agentsSide) Message(portal, agent string, m bridge.Message) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.messages = append(a.messages, m)
	return true
}
func (a *agentsSide) Busy(portal, agent string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.busy
}

// told counts the server lines fiona.b got that contain text.
func (a *agentsSide) told(text string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, m := range a.messages {
		if m.System && strings.Contains(m.Body, text) {
			n++
		}
	}
	return n
}

func (a *agentsSide) setBusy(b bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.busy = b
}

// count counts what fiona.b got: messages with text, or chat states.
func (a *agentsSide) count(states bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, m := range a.messages {
		if !m.System && !strings.HasPrefix(m.Body, bridge.SystemPrefix) && (m.Body == "") == states {
			n++
		}
	}
	return n
}

// apiFixture is the visitor API on a real listener, as serve runs it,
// with a real store and chat engine.
type apiFixture struct {
	srv    *Server
	agents *agentsSide
	engine *bridge.Engine
	addr   string // host:port
	base   string // http://host:port
}

func newAPIFixture(t testing.TB, lim Limits, tweak ...func(*Config)) *apiFixture {
	t.Helper()
	return newAPIFixtureIn(t, t.TempDir(), lim, tweak...)
}

// newAPIFixtureIn is newAPIFixture with the database in dir.
func newAPIFixtureIn(t testing.TB, dir string, lim Limits, tweak ...func(*Config)) *apiFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(dir, "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: "fiona.b", DisplayName: "Fiona", Email: "fiona@acme.example", Password: "password1"}, "test"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f := &apiFixture{agents: &agentsSide{}}
	cfg := Config{Store: st, Logger: log, Limits: lim, ChatBurst: 100}
	for _, tw := range tweak {
		tw(&cfg)
	}
	bcfg := bridge.Config{Domain: "chat.example"}
	if cfg.Uploads != nil {
		bcfg.Files = cfg.Uploads
	}
	f.engine = bridge.New(bcfg, st, log)
	f.engine.Attach(f.agents)
	if err := f.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.engine.Stop)
	cfg.Engine = f.engine
	f.srv = New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.base = "http://" + f.addr
	go f.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f.srv.Shutdown(ctx)
	})
	return f
}

// chat starts a chat that fiona.b accepted; it returns its id and token.
func (f *apiFixture) chat(t testing.TB) (id, token string) {
	t.Helper()
	res := f.post(t, "/api/v1/chats", "", `{"portal":"acme","name":"Ann","question":"Where is my parcel?"}`)
	body := expectStatus(t, res, http.StatusCreated, "new chat")
	var started bridge.Started
	if err := json.Unmarshal(body, &started); err != nil {
		t.Fatal(err)
	}
	local := address.VisitorName(started.VisitorNumber)
	if err := f.engine.AgentSays("acme", bridge.AgentInfo{Key: "fiona.b", Name: "Fiona", Role: store.RoleAgent}, local, "y", ""); err != nil {
		t.Fatal(err)
	}
	f.agents.mu.Lock()
	f.agents.messages = nil // the offer and the details
	f.agents.mu.Unlock()
	return started.ChatID, started.Token
}

func (f *apiFixture) post(t testing.TB, path, token, body string) *http.Response {
	t.Helper()
	return f.send(t, path, token, "application/json", strings.NewReader(body))
}

// send POSTs a body of type ct ("" for none) with the chat's token.
func (f *apiFixture) send(t testing.TB, path, token, ct string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", f.base+path, body)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A request body that trickles in is cut off with the request: the
// whole request, header and body, has request_timeout.
func TestSlowRequestBodyIsCutOff(t *testing.T) {
	f := newAPIFixture(t, Limits{RequestTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/chats HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	closed := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, conn)
		closed <- err
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-closed:
			return
		case <-tick.C:
			if i > 100 {
				t.Fatal("a body sent a byte at a time is still being read after 10 s")
			}
			conn.Write([]byte(" ")) // may fail once the server has closed
		}
	}
}

// rawConn opens a connection that sends nothing.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The connections of one address are capped at accept: the next gets a
// 429 and is closed. Trusted proxies are not capped.
func TestConnectionsPerAddressAreCapped(t *testing.T) {
	f := newAPIFixture(t, Limits{ConnectionsPerIP: 3})
	var held []net.Conn
	for i := 0; i < 3; i++ {
		held = append(held, rawConn(t, f.addr))
	}
	over := rawConn(t, f.addr)
	over.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("the connection over the cap: %v", err)
	}
	body := expectStatus(t, res, http.StatusTooManyRequests, "over the cap")
	if res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too_many_connections") {
		t.Fatalf("429 without Retry-After or code: %v %s", res.Header, body)
	}
	// The count follows the answer: wait for it rather than race it.
	testwait.For(t, "the refusal counted", func() bool { return f.srv.Refused() == 1 })
	// A place frees up when a connection closes.
	held[0].Close()
	testwait.For(t, "the place to free up", func() bool { return f.srv.lim.conns.In("127.0.0.1") < 3 })
	res, err = http.Get(f.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, res, http.StatusOK, "after a close")

	// Behind a trusted proxy, all connections come from the proxy.
	g := newAPIFixture(t, Limits{ConnectionsPerIP: 1}, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	rawConn(t, g.addr)
	res, err = http.Get(g.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, res, http.StatusOK, "through a trusted proxy")
}

// Long polls and WebSockets are capped per chat and per address.
func TestEventStreamsAreCapped(t *testing.T) {
	f := newAPIFixture(t, Limits{StreamsPerChat: 2, StreamsPerIP: 3}, func(c *Config) { c.LongPollWait = 10 * time.Second })
	id, token := f.chat(t)
	poll := func(id, token string) (*http.Response, error) {
		return http.Get(f.base + "/api/v1/chats/" + id + "/events?after=100&token=" + token)
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); wg.Wait() }()
	// Two waiting streams: a long poll and a WebSocket.
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/api/v1/chats/"+id+"/events?after=100&token="+token, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	ws, _, err := websocket.Dial(ctx, "ws://"+f.addr+"/api/v1/chats/"+id+"/ws?after=100&token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	testwait.For(t, "two streams", func() bool { return f.srv.lim.streamsByChat.In(id) == 2 })
	res, err := poll(id, token)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, res, http.StatusTooManyRequests, "a third stream of the chat")
	if _, res, err := websocket.Dial(ctx, "ws://"+f.addr+"/api/v1/chats/"+id+"/ws?token="+token, nil); err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third stream as a WebSocket: %v %v", res, err)
	}
	// Another chat from the same address: its first stream is the
	// address's third, its second is one too many.
	id2, token2 := f.chat(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/api/v1/chats/"+id2+"/events?after=100&token="+token2, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	testwait.For(t, "a third stream", func() bool { return f.srv.lim.streamsByAddr.In("127.0.0.1") == 3 })
	res, err = poll(id2, token2)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, res, http.StatusTooManyRequests, "a fourth stream of the address")
	cancel()
	ws.CloseNow()
	wg.Wait()
	testwait.For(t, "the streams to be counted out", func() bool { return f.srv.lim.streamsByAddr.In("127.0.0.1") == 0 })
}

// Messages and typing are rate limited per chat, requests per address;
// over the limit: 429 with Retry-After.
func TestVisitorRatesAnswer429(t *testing.T) {
	f := newAPIFixture(t, Limits{MessageRate: 0.01, MessageBurst: 3, TypingRate: 0.01, TypingBurst: 2, RequestRate: 0.01, RequestBurst: 12})
	id, token := f.chat(t)
	for i := 1; i <= 3; i++ {
		expectStatus(t, f.post(t, "/api/v1/chats/"+id+"/messages", token, fmt.Sprintf(`{"text":"m%d"}`, i)), http.StatusAccepted, "message")
	}
	res := f.post(t, "/api/v1/chats/"+id+"/messages", token, `{"text":"one too many"}`)
	expectStatus(t, res, http.StatusTooManyRequests, "a message over the rate")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	for i := 1; i <= 2; i++ {
		expectStatus(t, f.post(t, "/api/v1/chats/"+id+"/typing", token, `{"state":"composing"}`), http.StatusNoContent, "typing")
	}
	expectStatus(t, f.post(t, "/api/v1/chats/"+id+"/typing", token, `{"state":"paused"}`), http.StatusTooManyRequests, "typing over the rate")
	if got := f.agents.count(false); got != 3 {
		t.Fatalf("the agent got %d messages, want the 3 accepted", got)
	}
	// The address has used 7 of its 12 requests (creating a chat is
	// limited on its own): 5 more, then 429.
	for i := 0; i < 5; i++ {
		res, err := http.Get(f.base + "/api/v1/portals/acme/departments")
		if err != nil {
			t.Fatal(err)
		}
		expectStatus(t, res, http.StatusOK, "departments")
	}
	res, err := http.Get(f.base + "/api/v1/portals/acme/departments")
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, res, http.StatusTooManyRequests, "requests over the address's rate")
}

// An agent whose client does not keep up holds the visitor back (429,
// message not taken) and gets no typing; it is never cut off for it.
func TestBusyAgentHoldsVisitorBack(t *testing.T) {
	f := newAPIFixture(t, Limits{})
	id, token := f.chat(t)
	f.agents.setBusy(true)
	res := f.post(t, "/api/v1/chats/"+id+"/messages", token, `{"text":"hello?"}`)
	body := expectStatus(t, res, http.StatusTooManyRequests, "a message to a busy agent")
	if !strings.Contains(string(body), "agent_busy") || res.Header.Get("Retry-After") == "" {
		t.Fatalf("answer %v %s", res.Header, body)
	}
	expectStatus(t, f.post(t, "/api/v1/chats/"+id+"/typing", token, `{"state":"composing"}`), http.StatusNoContent, "typing")
	if m, s := f.agents.count(false), f.agents.count(true); m != 0 || s != 0 {
		t.Fatalf("a busy agent got %d messages and %d chat states", m, s)
	}
	f.agents.setBusy(false)
	expectStatus(t, f.post(t, "/api/v1/chats/"+id+"/messages", token, `{"text":"hello?"}`), http.StatusAccepted, "sent again")
	if m := f.agents.count(false); m != 1 {
		t.Fatalf("the agent got %d messages", m)
	}
}

// expectStatus checks a response's status and returns its body.
func expectStatus(t testing.TB, res *http.Response, status int, what string) []byte {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, res.StatusCode, status, b)
	}
	return b
}
