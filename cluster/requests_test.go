package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

func TestRequests(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	ctx := ctxFor(t)
	handle := func(c *Cluster, kind string, h Handler) {
		t.Helper()
		if err := c.Handle(kind, h); err != nil {
			t.Fatal(err)
		}
	}
	handle(b, "echo", func(_ context.Context, from string, data []byte) ([]byte, error) {
		return append([]byte(from+":"), data...), nil
	})
	handle(b, "fail", func(context.Context, string, []byte) ([]byte, error) {
		return nil, errors.New("no chat 12")
	})
	handle(b, "panic", func(context.Context, string, []byte) ([]byte, error) { panic("boom") })
	if err := b.Handle("echo", nil); err == nil {
		t.Error("a second handler of echo was taken")
	}
	for _, bad := range []string{"", "a..b", ".a", "a.", "a*", "a>", "a b"} {
		if err := b.Handle(bad, nil); err == nil {
			t.Errorf("the kind %q was taken", bad)
		}
	}
	handle(b, "xmpp.deliver", func(context.Context, string, []byte) ([]byte, error) {
		return []byte("delivered"), nil
	})

	got, err := a.Request(ctx, "b", "echo", []byte("hi"))
	if err != nil || string(got) != "a:hi" {
		t.Errorf("echo: %q %v", got, err)
	}
	if got, err := a.Request(ctx, "b", "xmpp.deliver", nil); err != nil || string(got) != "delivered" {
		t.Errorf("xmpp.deliver: %q %v", got, err)
	}
	if _, err := a.Request(ctx, "b", "xmpp", nil); !errors.Is(err, ErrNodeUnreachable) {
		t.Errorf("a kind's first word alone: %v", err)
	}
	got, err = b.Request(ctx, "b", "echo", nil)
	if err != nil || string(got) != "b:" {
		t.Errorf("echo to itself: %q %v", got, err)
	}
	_, err = a.Request(ctx, "b", "fail", nil)
	var remote *RemoteError
	if !errors.As(err, &remote) || remote.Node != "b" || remote.Msg != "no chat 12" {
		t.Errorf("fail: %v", err)
	}
	if _, err = a.Request(ctx, "b", "panic", nil); !errors.As(err, &remote) || remote.Msg != "internal error" {
		t.Errorf("panic: %v", err)
	}
	for _, to := range [][2]string{{"nobody", "echo"}, {"b", "unknown"}} {
		if _, err := a.Request(ctx, to[0], to[1], nil); !errors.Is(err, ErrNodeUnreachable) {
			t.Errorf("request %s of %s: %v", to[1], to[0], err)
		}
	}
	if _, err := a.Request(ctx, "b.c", "echo", nil); err == nil || errors.Is(err, ErrNodeUnreachable) {
		t.Errorf("request to a bad node name: %v", err)
	}
}

// TestRequestsInFlightAreBounded: past MaxHandlers a kind's requests
// wait in NATS; those whose requester gave up are then dropped.
func TestRequestsInFlightAreBounded(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b", func(cfg *Config) { cfg.MaxHandlers = 2 })
	var running, most, started atomic.Int32
	release := make(chan struct{})
	// The handlers hold their places until released, past the requests'
	// deadline.
	err := b.Handle("slow", func(context.Context, string, []byte) ([]byte, error) {
		started.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		return []byte("done"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const requests = 6
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for range requests {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := a.Request(ctx, "b", "slow", nil)
			errs <- err
		})
	}
	testwait.For(t, "two handlers to run", func() bool { return running.Load() == 2 })
	free := sync.OnceFunc(func() { close(release) })
	defer free() // should the test fail before releasing them
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil {
			t.Error("a request was answered while every handler was held")
		}
	}
	free()
	testwait.For(t, "the handlers to end", func() bool { return running.Load() == 0 })
	// The queued requests come out now, past their deadline.
	time.Sleep(200 * time.Millisecond)
	if most.Load() != 2 || started.Load() != 2 {
		t.Errorf("%d handlers ran at once, %d in all; want 2 and 2", most.Load(), started.Load())
	}
	ctx := ctxFor(t)
	if got, err := a.Request(ctx, "b", "slow", nil); err != nil || string(got) != "done" {
		t.Errorf("after the jam: %q %v", got, err)
	}
}

func TestShutdownWaitsForHandlers(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	ctx := ctxFor(t)
	entered := make(chan struct{})
	var finished atomic.Bool
	err := b.Handle("work", func(context.Context, string, []byte) ([]byte, error) {
		close(entered)
		time.Sleep(200 * time.Millisecond)
		finished.Store(true)
		return []byte("ok"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	answer := make(chan error, 1)
	go func() {
		_, err := a.Request(ctx, "b", "work", nil)
		answer <- err
	}()
	<-entered
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Shutdown returned before the handler ended")
	}
	if err := <-answer; err != nil {
		t.Errorf("the request under way at shutdown: %v", err)
	}
	if _, err := a.Request(ctx, "b", "work", nil); !errors.Is(err, ErrNodeUnreachable) {
		t.Errorf("request after shutdown: %v", err)
	}
	if err := b.Handle("more", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after shutdown: %v", err)
	}
}
