package console

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/store"
)

// waitingChat is a live view with one chat waiting in it.
func waitingChat(number int64, visitor string) bridge.LiveView {
	return bridge.LiveView{Chats: []bridge.LiveChat{{Number: number, Visitor: visitor, Question: "Where is my parcel?",
		Status: store.ChatOffered, CreatedAt: time.Now().Add(-95 * time.Second), OfferedTo: []string{"sue.super"}}}}
}

// evilName is a visitor's name that would be markup if it were not
// escaped.
const evilName = `<img src=x onerror=alert(1)>"'`

// The live page shows the waiting chat with how long it waited and who
// has it on offer, and the agents with their availability; what the
// visitor wrote is text, never markup.
func TestLivePage(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	f.desk.setView("acme", waitingChat(1001, evilName))
	r := b.get("/console/live")
	r.expect(t, http.StatusOK, "#1001", "1m 35s", "Offered to", "Sue", `class="avail online"`, "No chats are active.",
		"&lt;img src=x onerror=alert(1)&gt;", `data-stream="/console/live/stream?portal=acme"`)
	if strings.Contains(r.body, "<img src=x") {
		t.Error("a visitor's markup is in the page")
	}
}

// The live page's stream sends the live part at once and again when the
// engine says it changed.
func TestLiveStream(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", f.ts.URL+"/console/live/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, ct)
	}
	events := bufio.NewReader(res.Body)
	next := func() string {
		t.Helper()
		var data []string
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			if line == "" && len(data) > 0 {
				return strings.Join(data, "\n")
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				data = append(data, d)
			}
		}
	}
	if first := next(); !strings.Contains(first, "No chats are waiting.") || !strings.Contains(first, "Sue") {
		t.Fatalf("first event:\n%s", first)
	}
	f.desk.setView("acme", waitingChat(1042, "Zoe Visitor"))
	if second := next(); !strings.Contains(second, "Zoe Visitor") || !strings.Contains(second, "/console/chats/1042/assign") {
		t.Fatalf("after a change:\n%s", second)
	}

	// A session that is signed out cannot open one.
	out := f.browser()
	if r := out.get("/console/live/stream"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a stream without a session: %d", r.StatusCode)
	}
}
