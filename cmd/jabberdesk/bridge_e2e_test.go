package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
}

// call makes an API request and decodes the JSON answer into out.
func call(t *testing.T, method, url, token string, body any, out any) int {
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

func (v *visitor) say(text string) {
	v.t.Helper()
	if code := call(v.t, "POST", v.base+"/api/v1/chats/"+v.ChatID+"/messages", v.Token, map[string]string{"text": text}, nil); code != http.StatusAccepted {
		v.t.Fatalf("say %q: status %d", text, code)
	}
}

func (v *visitor) contact() string { return strings.TrimSuffix(v.JID, "") }

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
	c := xmpptest.MustDial(t, r.startTLS, "demo|"+user+"@localhost", r.passwords[user], xmpptest.Options{})
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
	v.expect("typing", func(ev bridge.Event) bool { return ev.Type == "typing" && ev.State == "composing" && ev.From == "George" })
	george.Send(chatMsg(v.JID, "Let me check"))
	v.expect("agent message", func(ev bridge.Event) bool { return ev.Type == "message" && ev.Text == "Let me check" && ev.From == "George" })

	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/typing", v.Token, map[string]string{"state": "composing"}, nil)
	george.Expect("visitor composing", func(n xmpptest.Node) bool {
		_, ok := n.Child("composing")
		return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), v.JID) && ok
	})
	// A hash command never reaches the visitor; ## sends a literal #.
	george.Send(chatMsg(v.JID, "#frobnicate"))
	george.Expect("command seam", xmpptest.Message(v.JID, "unknown command, try #help"))
	george.Send(chatMsg(v.JID, "##1 in the queue"))
	v.expect("escaped hash", func(ev bridge.Event) bool { return ev.Type == "message" && ev.Text == "#1 in the queue" })
	for _, ev := range v.events {
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
}
