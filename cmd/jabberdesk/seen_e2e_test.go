package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
)

// What the agent's client says around a hash command does not reach the
// visitor: the composing that typed "#info" is followed by paused, so
// the visitor's window does not show "is typing…" for 30 s.
func TestHashCommandsEndTheVisitorsTypingLine(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Ann")
	george.Send("<message type='chat' to='" + v.JID + "'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	v.expect("composing", func(ev bridge.Event) bool { return ev.Type == "typing" && ev.State == "composing" })
	george.Send(chatMsg(v.JID, "#info"))
	george.Expect("details", reply(v, "Language:"))
	v.expect("paused after the command", func(ev bridge.Event) bool { return ev.Type == "typing" && ev.State == "paused" })
}

// #h begins with the visitor's question; n is acknowledged; #info shows
// the visitor's language.
func TestHistoryDeclineAndLanguage(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	fiona := r.loginWithRoster(t, "fiona.demo")
	v := &visitor{t: t, base: r.base, seen: make(chan struct{})}
	body := map[string]string{"portal": "demo", "name": "Ann", "question": "Where is parcel 7?", "department": "Support", "language": "fr-CA"}
	if code := call(t, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
		t.Fatalf("start chat: %d", code)
	}
	v.connect(0)
	fiona.Expect("offer", reply(v, "Reply y"))
	fiona.Send(chatMsg(v.JID, "n"))
	fiona.Expect("declined", reply(v, "You declined the chat with Ann"))
	george.Expect("offer", reply(v, "Reply y"))
	george.Send(chatMsg(v.JID, "y"))
	if d := george.Expect("details", reply(v, "You are chatting with Ann")); !strings.Contains(d.Body(), "Language: fr-CA") {
		t.Errorf("details without the language: %q", d.Body())
	}
	v.say("hello?")
	george.Expect("visitor", xmpptest.Message(v.JID, "hello?"))
	george.Send(chatMsg(v.JID, "#h"))
	george.Expect("history", reply(v, "History of"))
	q := george.Expect("the question first", reply(v, "Where is parcel 7?"))
	if !strings.HasPrefix(q.Body(), bridge.SystemPrefix+"(Ann, ") {
		t.Errorf("question line %q", q.Body())
	}
	george.Expect("then the message", reply(v, "hello?"))
}

// An agent's typing reaches a visitor on the long poll too.
func TestTypingReachesTheLongPoll(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Bea")
	var after int64
	for _, ev := range v.all() {
		after = max(after, ev.Seq)
	}
	done := make(chan []bridge.Event, 1)
	go func() {
		req, _ := http.NewRequest("GET", r.base+"/api/v1/chats/"+v.ChatID+"/events?after="+jsonInt(after), nil)
		req.Header.Set("Authorization", "Bearer "+v.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		defer res.Body.Close()
		var out struct{ Events []bridge.Event }
		json.NewDecoder(res.Body).Decode(&out)
		done <- out.Events
	}()
	// Typing is not stored: it reaches a poll that is waiting. Until this
	// one is, each composing is lost, so it is sent again.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		george.Send("<message type='chat' to='" + v.JID + "'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
		select {
		case evs := <-done:
			if len(evs) != 1 || evs[0].Type != "typing" || evs[0].State != "composing" || evs[0].From != "George" {
				t.Fatalf("long poll got %+v", evs)
			}
			return
		case <-deadline:
			t.Fatal("the long poll did not return the agent's typing")
		case <-tick.C:
		}
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
