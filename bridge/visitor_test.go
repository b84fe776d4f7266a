package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jabberdesk/address"
	"jabberdesk/internal/testwait"
)

// A visitor's event stream misses nothing: a backlog longer than one page
// of the store is sent whole, and a subscriber that stops reading while
// the agent goes on (and is dropped from the live events) is caught up
// from the store when it reads again.
func TestSubscriberMissesNothing(t *testing.T) {
	ctx := context.Background()
	e, st, _ := newTestEngine(t, "fiona.b")
	started, err := e.Create(ctx, NewChat{Portal: "acme", Name: "Ann", Question: "Help?"})
	if err != nil {
		t.Fatal(err)
	}
	fiona := AgentInfo{Key: "fiona.b", Name: "Fiona"}
	local := address.VisitorName(started.VisitorNumber)
	e.AgentSays("acme", fiona, local, "y", "")
	v, err := e.Visitor(ctx, started.ChatID, started.Token)
	if err != nil {
		t.Fatal(err)
	}
	const before, total = storedPage + 200, storedPage + 500
	say := func(from, to int) {
		for i := from; i < to; i++ {
			if err := e.AgentSays("acme", fiona, local, fmt.Sprintf("m%d", i), ""); err != nil {
				t.Fatal(err)
			}
		}
		want := fmt.Sprintf("m%d", to-1)
		testwait.For(t, want+" stored", func() bool {
			recs, _ := st.ChatEvents(ctx, v.Info().ID, 0, true, 2*total)
			return len(recs) > 0 && recs[len(recs)-1].Text == want
		})
	}
	say(0, before)
	events, stop, err := v.Subscribe(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	say(before, total) // not read meanwhile: far more than the buffers hold
	next := 0
	timeout := time.After(10 * time.Second)
	for next < total {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended after m%d", next-1)
			}
			if ev.Type != EventMessage {
				continue
			}
			if want := fmt.Sprintf("m%d", next); ev.Text != want {
				t.Fatalf("got %q, want %q", ev.Text, want)
			}
			next++
		case <-timeout:
			t.Fatalf("timed out after m%d", next-1)
		}
	}
}
