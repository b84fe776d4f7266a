package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// A visitor sending as fast as the API takes it, to an agent whose client
// has stopped reading, never costs the agent the connection: the visitor
// is held back (429 agent_busy) once the agent's outbox is half full, and
// when the agent reads again every message that was accepted arrives.
func TestVisitorBurstNeverCutsOffAnAgent(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[limits]", "outbox_size = 64", "visitor_message_rate = 100000.0", "visitor_message_burst = 100000",
		"visitor_request_rate = 100000.0", "visitor_request_burst = 100000")
	george := r.login(t, "george.demo", false)
	v := r.startChat(t, "Ann", "Support", "Flood")
	offered(george, v)
	george.Send(chatMsg(v.JID, "y"))
	george.Expect("details", xmpptest.Message(v.JID, "You are chatting with Ann"))

	george.Pause()
	line := strings.Repeat("x", 3900)
	accepted, busy := 0, false
	for i := 0; i < 5000 && !busy; i++ {
		switch code := call(t, "POST", v.base+"/api/v1/chats/"+v.ChatID+"/messages", v.Token, map[string]string{"text": fmt.Sprintf("%d %s", i, line)}, nil); code {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			busy = true
		default:
			t.Fatalf("message %d: status %d", i, code)
		}
	}
	if !busy {
		t.Fatalf("5000 messages to an agent who does not read, all accepted")
	}
	george.Resume()
	for i := 0; i < accepted; i++ {
		george.Expect(fmt.Sprintf("message %d of %d", i, accepted), func(n xmpptest.Node) bool {
			return n.XMLName.Local == "message" && strings.HasPrefix(n.Body(), fmt.Sprintf("%d x", i))
		})
	}
	if err, closed := george.Closed(100 * time.Millisecond); closed {
		t.Fatalf("the agent was cut off: %v", err)
	}
	t.Logf("%d messages accepted before the visitor was held back", accepted)
}
