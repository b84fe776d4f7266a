package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// visitor drives the visitor API over real HTTP and WebSocket.
type visitor struct {
	t      *testing.T
	base   string
	ChatID string `json:"chat_id"`
	Token  string `json:"token"`
	Number int64  `json:"visitor_number"`
	JID    string `json:"visitor_jid"`
	Status string `json:"status"`

	mu     sync.Mutex
	events []bridge.Event
	seen   chan struct{}
	conns  []*websocket.Conn
}

// call makes an API request and decodes the JSON answer into out.
func call(t testing.TB, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, res.StatusCode, data, err)
		}
	}
	return res.StatusCode
}

type apiErr struct {
	Error struct{ Code, Message string } `json:"error"`
}

// startChat starts a chat and opens its WebSocket.
func (r *running) startChat(t *testing.T, name, dept, question string) *visitor {
	t.Helper()
	v := &visitor{t: t, base: r.base, seen: make(chan struct{})}
	body := map[string]string{"portal": "demo", "name": name, "question": question, "department": dept, "email": strings.ToLower(name) + "@example.com",
		"page_url": "https://shop.example/cart"}
	if code := call(t, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
		t.Fatalf("start chat: status %d", code)
	}
	v.connect(0)
	return v
}

// connect opens the WebSocket and records events in the background.
func (v *visitor) connect(after int64) *websocket.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := strings.Replace(v.base, "http", "ws", 1) + fmt.Sprintf("/api/v1/chats/%s/ws?token=%s&after=%d", v.ChatID, v.Token, after)
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		v.t.Fatalf("websocket: %v", err)
	}
	v.t.Cleanup(func() { conn.CloseNow() })
	v.conns = append(v.conns, conn)
	go func() {
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var ev bridge.Event
			json.Unmarshal(data, &ev)
			v.mu.Lock()
			v.events = append(v.events, ev)
			close(v.seen)
			v.seen = make(chan struct{})
			v.mu.Unlock()
		}
	}()
	return conn
}

// expect waits for an event the visitor received.
func (v *visitor) expect(what string, match func(bridge.Event) bool) bridge.Event {
	v.t.Helper()
	deadline := time.After(xmpptest.Timeout)
	for {
		v.mu.Lock()
		for _, ev := range v.events {
			if match(ev) {
				v.mu.Unlock()
				return ev
			}
		}
		seen := v.seen
		v.mu.Unlock()
		select {
		case <-seen:
		case <-deadline:
			v.mu.Lock()
			defer v.mu.Unlock()
			v.t.Fatalf("visitor #%d: no %s; got %+v", v.Number, what, v.events)
		}
	}
}

// all returns a copy of the events received so far.
func (v *visitor) all() []bridge.Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]bridge.Event(nil), v.events...)
}

func (v *visitor) say(text string) {
	v.t.Helper()
	if code := call(v.t, "POST", v.base+"/api/v1/chats/"+v.ChatID+"/messages", v.Token, map[string]string{"text": text}, nil); code != http.StatusAccepted {
		v.t.Fatalf("say %q: status %d", text, code)
	}
}

// offered waits until the agent got the offer of v's chat.
func offered(c *xmpptest.Client, v *visitor) {
	c.Expect("offer of #"+fmt.Sprint(v.Number), xmpptest.Message(v.JID, "Reply y to accept"))
}

// inRoster matches a roster push of v's contact (sub "both" or "remove").
func inRoster(v *visitor, sub string) func(xmpptest.Node) bool {
	return func(n xmpptest.Node) bool {
		for _, it := range n.Find("query/item") {
			if it.Attr("jid") == v.JID && it.Attr("subscription") == sub {
				g, _ := it.Child("group")
				return sub == "remove" || g.Text == "Visitors"
			}
		}
		return false
	}
}

// loginWithRoster signs in, asks for the roster (so pushes come) and sends
// presence.
func (r *running) loginWithRoster(t *testing.T, user string) *xmpptest.Client {
	t.Helper()
	return r.loginWithRosterAt(t, r.startTLS, user)
}

// loginWithRosterAt is loginWithRoster at a STARTTLS address.
func (r *running) loginWithRosterAt(t *testing.T, addr, user string) *xmpptest.Client {
	t.Helper()
	c := xmpptest.MustDial(t, addr, "demo|"+user+"@localhost", r.passwords[user], xmpptest.Options{})
	c.Send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>")
	c.Expect("roster", xmpptest.IQ("roster"))
	c.Send("<presence/>")
	c.Expect("own presence", xmpptest.Presence(c.JID.String(), ""))
	return c
}

func chatMsg(to, body string) string {
	return "<message type='chat' to='" + to + "'><body>" + body + "</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"
}

func TestBroadcastFirstYesWins(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	fiona := r.loginWithRoster(t, "fiona.demo")
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Ann", "Support", "My order is late")
	if v.Status != "offered" || !strings.HasPrefix(v.JID, "demo|v-") {
		t.Fatalf("chat %+v", v)
	}
	for _, c := range []*xmpptest.Client{fiona, george} {
		c.Expect("visitor contact", inRoster(v, "both"))
		p := c.Expect("visitor presence", xmpptest.Presence(v.JID, ""))
		if st, _ := p.Child("status"); st.Text != "My order is late — Support" {
			t.Errorf("status %q", st.Text)
		}
		offered(c, v)
	}
	george.Send(chatMsg(v.JID, "y"))
	details := george.Expect("visitor details", xmpptest.Message(v.JID, "You are chatting with Ann"))
	for _, want := range []string{"Email: ann@example.com", "Page: https://shop.example/cart", "IP: 127.0.0.1", "Question: My order is late"} {
		if !strings.Contains(details.Body(), want) {
			t.Errorf("details lack %q:\n%s", want, details.Body())
		}
	}
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" && ev.Name == "George" })
	fiona.Expect("who took it", xmpptest.Message(v.JID, "George took the chat"))
	fiona.Expect("contact removed", inRoster(v, "remove"))
	// A late "y" from fiona does not take the chat.
	fiona.Send(chatMsg(v.JID, "y"))
	fiona.Expect("not in chat", xmpptest.Message(v.JID, "You are not in this chat"))
	sc, err := r.st.ChatByNumber(context.Background(), "demo", v.Number)
	if err != nil || sc.Status != store.ChatActive || len(sc.Agents) != 1 || sc.Agents[0].Username != "george.demo" {
		t.Fatalf("stored chat %+v %v", sc, err)
	}
}

func TestRelayBothWaysWithChatStates(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Bob", "Support", "Where is my parcel?")
	offered(george, v)
	george.Send(chatMsg(v.JID, "y"))
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" })

	v.say("It was due Monday")
	m := george.Expect("visitor message", xmpptest.Message(v.JID, "It was due Monday"))
	if m.Attr("type") != "chat" {
		t.Errorf("type %q", m.Attr("type"))
	}
	george.Send("<message type='chat' to='" + v.JID + "'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	v.expect("typing", func(ev bridge.Event) bool {
		return ev.Type == "typing" && ev.State == "composing" && ev.From == "George"
	})
	george.Send(chatMsg(v.JID, "Let me check"))
	v.expect("agent message", func(ev bridge.Event) bool {
		return ev.Type == "message" && ev.Text == "Let me check" && ev.From == "George"
	})

	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/typing", v.Token, map[string]string{"state": "composing"}, nil)
	george.Expect("visitor composing", func(n xmpptest.Node) bool {
		_, ok := n.Child("composing")
		return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), v.JID) && ok
	})
	// A hash command never reaches the visitor; ## sends a literal #.
	george.Send(chatMsg(v.JID, "#frobnicate"))
	george.Expect("unknown command", xmpptest.Message(v.JID, "unknown command #frobnicate — try #help"))
	george.Send(chatMsg(v.JID, "##1 in the queue"))
	v.expect("escaped hash", func(ev bridge.Event) bool { return ev.Type == "message" && ev.Text == "#1 in the queue" })
	for _, ev := range v.all() {
		if strings.Contains(ev.Text, "frobnicate") {
			t.Fatalf("command leaked to the visitor: %+v", ev)
		}
	}

	// The long poll sees the same stored events, after a given seq.
	var got struct{ Events []bridge.Event }
	call(t, "GET", r.base+"/api/v1/chats/"+v.ChatID+"/events?after=0", v.Token, nil, &got)
	var texts []string
	for _, ev := range got.Events {
		if ev.Seq == 0 {
			t.Fatalf("stored event without seq: %+v", ev)
		}
		texts = append(texts, ev.Type+":"+ev.Text)
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"visitor_message:It was due Monday", "message:Let me check", "message:#1 in the queue"} {
		if !strings.Contains(joined, want) {
			t.Errorf("events lack %s: %s", want, joined)
		}
	}

	// The visitor ends the chat: the agent is told, the contact leaves.
	if code := call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil); code != http.StatusOK {
		t.Fatalf("end: %d", code)
	}
	george.Expect("ended", xmpptest.Message(v.JID, "Bob (#"))
	george.Expect("contact removed", inRoster(v, "remove"))
	george.Send(chatMsg(v.JID, "Hello?"))
	george.Expect("chat over", xmpptest.Message(v.JID, "This chat is over"))
	var e apiErr
	if code := call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/messages", v.Token, map[string]string{"text": "hi"}, &e); code != http.StatusConflict {
		t.Fatalf("message to ended chat: %d %+v", code, e)
	}

	// The transcript is in chat show, with times and authors, for people.
	var out, errOut bytes.Buffer
	cfgArgs := []string{"--config", filepath.Join(r.dir, "jabberdesk.toml")}
	if code := run(append(cfgArgs, "chat", "show", "demo", fmt.Sprint(v.Number)), strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("chat show: %d %s", code, errOut.String())
	}
	for _, want := range []string{"] Bob: It was due Monday", "] George: Let me check", "] George: #1 in the queue", "] George joined the chat", "] The chat ended: the visitor ended it"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("chat show lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "{") {
		t.Errorf("chat show prints raw event data:\n%s", out.String())
	}
	out.Reset()
	if code := run(append(cfgArgs, "chat", "list", "demo", "--status", "ended", "--json"), strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("chat list: %d %s", code, errOut.String())
	}
	var rows []chatRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0].Number != v.Number || rows[0].Agents != "george.demo" || rows[0].EndReason != "visitor" {
		t.Fatalf("chat list --json: %v %s", err, out.String())
	}
}

func TestRoundRobinMovesOnAfterNoAndTimeout(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[chats]\noffer_timeout = \"1500ms\"")
	if _, err := r.st.UpdateDepartment(context.Background(), "demo", "Support", store.DepartmentUpdate{Routing: ptr(store.RoutingRoundRobin)}, "test"); err != nil {
		t.Fatal(err)
	}
	fiona := r.loginWithRoster(t, "fiona.demo")
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Cid", "Support", "Refund?")
	// One agent at a time: whoever got it first, the other did not.
	var first, second *xmpptest.Client
	for first == nil {
		if _, ok := fiona.Wait(20*time.Millisecond, xmpptest.Message(v.JID, "Reply y to accept")); ok {
			first, second = fiona, george
		} else if _, ok := george.Wait(20*time.Millisecond, xmpptest.Message(v.JID, "Reply y to accept")); ok {
			first, second = george, fiona
		}
	}
	if _, ok := second.Wait(300*time.Millisecond, xmpptest.Message(v.JID, "Reply y to accept")); ok {
		t.Fatal("round robin offered to two agents at once")
	}
	// "n" moves the offer on.
	first.Send(chatMsg(v.JID, "n"))
	first.Expect("contact removed", inRoster(v, "remove"))
	offered(second, v)
	// No answer: after offer_timeout it moves back to the first agent.
	second.Expect("offer timed out", xmpptest.Message(v.JID, "did not answer in time"))
	offered(first, v)
	first.Send(chatMsg(v.JID, "y"))
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" })
	offers, _ := r.st.Offers(context.Background(), mustChat(t, r, v).ID)
	var answers []string
	for _, o := range offers {
		answers = append(answers, o.Answer)
	}
	if strings.Join(answers, ",") != "declined,timeout,accepted" {
		t.Fatalf("offer answers %v", answers)
	}
}

func ptr[T any](v T) *T { return &v }

func mustChat(t *testing.T, r *running, v *visitor) store.Chat {
	t.Helper()
	sc, err := r.st.ChatByNumber(context.Background(), "demo", v.Number)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestMissedChats(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[chats]\nqueue_timeout = \"500ms\"\nmissed_text = \"Nobody here, sorry\"")
	// Nobody online: missed at once.
	v := r.startChat(t, "Dee", "", "Anyone?")
	if v.Status != "missed" {
		t.Fatalf("status %q with nobody online", v.Status)
	}
	v.expect("missed text", func(ev bridge.Event) bool { return ev.Type == "system" && ev.Text == "Nobody here, sorry" })
	v.expect("ended", func(ev bridge.Event) bool { return ev.Type == "ended" && ev.Reason == "missed" })

	// Online but nobody answers: missed after queue_timeout.
	george := r.loginWithRoster(t, "george.demo")
	v2 := r.startChat(t, "Eve", "Support", "Hello?")
	offered(george, v2)
	v2.expect("ended", func(ev bridge.Event) bool { return ev.Type == "ended" && ev.Reason == "missed" })
	george.Expect("told it was missed", xmpptest.Message(v2.JID, "it was missed"))
	george.Expect("contact removed", inRoster(v2, "remove"))
	if sc := mustChat(t, r, v2); sc.Status != store.ChatMissed || sc.EndedAt == nil {
		t.Fatalf("stored %+v", sc)
	}
}

func TestVisitorGoneLongerThanGraceEndsChat(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[chats]\nvisitor_grace = \"500ms\"")
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Fay", "Support", "Quick one")
	offered(george, v)
	george.Send(chatMsg(v.JID, "y"))
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" })
	george.Send(chatMsg(v.JID, "still there?"))
	v.expect("message", func(ev bridge.Event) bool { return ev.Text == "still there?" })
	closeAll(v)
	george.Expect("visitor left", xmpptest.Message(v.JID, "left; the chat is over"))
	george.Expect("contact removed", inRoster(v, "remove"))
	if sc := mustChat(t, r, v); sc.Status != store.ChatEnded || sc.EndReason != "visitor_left" {
		t.Fatalf("stored %+v", sc)
	}
}

// closeAll drops the visitor's WebSockets.
func closeAll(v *visitor) {
	v.t.Helper()
	for _, c := range v.conns {
		c.CloseNow()
	}
	v.conns = nil
}

func TestAgentWithTwoResourcesGetsEverything(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	phone := r.loginWithRoster(t, "george.demo")
	desk := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Gus", "Support", "Two screens")
	offered(phone, v)
	offered(desk, v)
	phone.Send(chatMsg(v.JID, "y"))
	v.say("hello both")
	phone.Expect("message on phone", xmpptest.Message(v.JID, "hello both"))
	desk.Expect("message on desktop", xmpptest.Message(v.JID, "hello both"))
}

func TestActiveChatSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := startRunningIn(t, dir)
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Hal", "Support", "Before restart")
	offered(george, v)
	george.Send(chatMsg(v.JID, "y"))
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" })
	v.say("first")
	george.Expect("first", xmpptest.Message(v.JID, "first"))
	closeAll(v)
	george.Close()
	r.stop()

	r2 := startRunningIn(t, dir)
	george2 := r2.loginWithRoster(t, "george.demo")
	v.base = r2.base
	v.connect(0)
	v.say("after restart")
	george2.Expect("message after restart", xmpptest.Message(v.JID, "after restart"))
	george2.Send(chatMsg(v.JID, "welcome back"))
	v.expect("reply", func(ev bridge.Event) bool { return ev.Text == "welcome back" })
	evs, _ := r2.st.ChatEvents(context.Background(), mustChat(t, r2, v).ID, 0, false, 0)
	var lines []string
	for _, ev := range evs {
		lines = append(lines, ev.Text)
	}
	if got := strings.Join(lines, "|"); !strings.Contains(got, "first|after restart|welcome back") {
		t.Fatalf("transcript %s", got)
	}
}

func TestBadVisitorRequests(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "chat_burst = 8\nmax_body = 2048") // in [http]
	george := r.loginWithRoster(t, "george.demo")
	_ = george
	ctx := context.Background()
	count := func() int {
		cs, _ := r.st.Chats(ctx, "demo", "", 1000)
		return len(cs)
	}
	before := count()
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"portal":"demo","name":"Ann"`, 400, "not valid JSON"},
		{`{"portal":"demo","name":"Ann"}`, 400, "missing required field(s): question"},
		{`{"portal":"nope","name":"Ann","question":"q"}`, 404, `portal "nope" does not exist`},
		{`{"portal":"demo","name":"Ann","question":"q","department":"Nope"}`, 400, `department "Nope" does not exist`},
		{`{"portal":"demo","name":"Ann","question":"` + strings.Repeat("x", 4000) + `"}`, 413, "larger than 2048 bytes"},
	} {
		var e apiErr
		code := call(t, "POST", r.base+"/api/v1/chats", "", tc.body, &e)
		if code != tc.code || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("%.60s: %d %+v, want %d %q", tc.body, code, e, tc.code, tc.want)
		}
	}
	if n := count(); n != before {
		t.Fatalf("%d chats stored by bad requests", n-before)
	}
	v := r.startChat(t, "Ivy", "Support", "q")
	var e apiErr
	if code := call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/messages", "wrong-token", map[string]string{"text": "x"}, &e); code != 401 {
		t.Errorf("bad token: %d %+v", code, e)
	}
	if code := call(t, "POST", r.base+"/api/v1/chats/nonexistent/messages", v.Token, map[string]string{"text": "x"}, &e); code != 404 {
		t.Errorf("unknown chat: %d %+v", code, e)
	}
	if code := call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/messages", v.Token, map[string]string{"text": " "}, &e); code != 400 {
		t.Errorf("empty text: %d %+v", code, e)
	}
	// The burst is 8 chats; the bad requests above counted too. Each node
	// counts for itself (docs/CLUSTER.md), and the balancer hands new
	// connections to the nodes in turn: on several, more tries reach one
	// node's limit.
	limited := false
	for i := 0; i < 5+9*max(len(r.nodes)-1, 0) && !limited; i++ {
		limited = call(t, "POST", r.base+"/api/v1/chats", "", map[string]string{"portal": "demo", "name": "Z", "question": "q"}, &e) == 429
	}
	if !limited || !strings.Contains(e.Error.Message, "too many chats") {
		t.Fatalf("no 429: %+v", e)
	}
}
