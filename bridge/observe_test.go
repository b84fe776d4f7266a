package bridge

import (
	"slices"
	"sync"
	"testing"
	"time"

	"jabberdesk/store"
)

// Metrics hear each chat answered or missed once, and its first agent
// message once, with the time since the chat began.
func TestObserveChatMilestones(t *testing.T) {
	d := newDeskTest(t)
	var mu sync.Mutex
	var seen []string
	d.e.cfg.ObserveChat = func(portal string, m Milestone, since time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if since < 0 {
			t.Errorf("%s after %v", m, since)
		}
		seen = append(seen, portal+" "+string(m))
	}
	ann := d.agent(store.NewAgent{Username: "ann.kay"}, true)
	tc := d.chat(NewChat{}, false)
	tc.says(ann, "y")
	tc.says(ann, "Hello!")
	tc.says(ann, "How can I help?")
	tc.visitorSays("Thanks")
	d.setOnline("ann.kay", false)
	missed := d.chat(NewChat{Name: "Bo"}, false) // nobody online: missed at once
	missed.wantStatus(store.ChatMissed, reasonMissed)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"acme answered", "acme first_response", "acme missed"}; !slices.Equal(seen, want) {
		t.Errorf("observed %q, want %q", seen, want)
	}
}
