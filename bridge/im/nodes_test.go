package im

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"jabberdesk/channels"
	"jabberdesk/internal/testwait"
)

// With several nodes, one runs the queues; a webhook that lands on
// another stores the message there and its Notify wakes the one that
// runs them, which delivers it at once.
func TestQueuesRunOnOneNode(t *testing.T) {
	slow := func(_ *fixture, cfg *Config) { cfg.InboundRetry = time.Hour } // only a poke wakes the dispatcher
	f := newFixtureWith(t, channels.Telegram, false, slow)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.svc.RunQueues(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var mu sync.Mutex
	var told []Queue
	other := New(Config{Store: f.st, Desk: f.desk, Logger: slog.New(slog.DiscardHandler), InboundRetry: time.Hour,
		Notify: func(q Queue) {
			mu.Lock()
			told = append(told, q)
			mu.Unlock()
			f.svc.Poke(q) // what the cluster carries to the node that runs the queues
		}})
	mux := http.NewServeMux()
	mux.Handle("/hooks/{id}", other)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	body := f.fake.TextMessage("4915112345678", "Ann", "Where is my parcel?")
	if code := f.fake.Post(t, srv.URL+"/hooks/"+f.ch.PublicID, body, f.fake.Sign(body)); code != http.StatusOK {
		t.Fatalf("webhook on the other node: %d", code)
	}
	testwait.For(t, "the message in a chat", func() bool { return len(f.desk.shownTexts()) == 1 })
	other.Wake()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(told, []Queue{Inbound, Outbound}) {
		t.Errorf("notified %v, want inbound then outbound", told)
	}
}
