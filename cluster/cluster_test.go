package cluster

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

// testTakeover is short, so that a lost node is found within seconds.
const testTakeover = 2 * time.Second

// join brings a node into the cluster at url; it is closed when the test
// ends.
func join(t testing.TB, url, node string, mod ...func(*Config)) *Cluster {
	t.Helper()
	cfg := Config{URL: url, Node: node, Takeover: testTakeover, Logger: testLogger()}
	for _, m := range mod {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testLogger writes to stderr under -v and nowhere otherwise.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lostLog records the OnNodeLost calls of a node.
type lostLog struct {
	mu    sync.Mutex
	nodes []string
}

func (l *lostLog) add(node string) {
	l.mu.Lock()
	l.nodes = append(l.nodes, node)
	l.mu.Unlock()
}

func (l *lostLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.nodes)
}

func TestJoinRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	for _, cfg := range []Config{
		{Node: "a"},
		{URL: "nats://127.0.0.1:1", Node: ""},
		{URL: "nats://127.0.0.1:1", Node: "a.b"},
		{URL: "nats://127.0.0.1:1", Node: "a b"},
		{URL: "nats://127.0.0.1:1", Node: "a*"},
		{URL: "nats://127.0.0.1:1", Node: strings.Repeat("n", 65)},
		{URL: "nats://127.0.0.1:1", Node: "a", Takeover: 10 * time.Millisecond},
	} {
		if c, err := Join(ctx, cfg); err == nil {
			c.Close()
			t.Errorf("Join(%+v) worked", cfg)
		} else if !strings.HasPrefix(err.Error(), "cluster: join: ") {
			t.Errorf("Join(%+v): %v", cfg, err)
		}
	}
}

func TestJoinWaitsForNATSUntilItsContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Join(ctx, Config{URL: "nats://127.0.0.1:1", Node: "a", Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("Join without a server: %v", err)
	}
}

func TestShutdownSaysGoodbye(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	// A long takeover: only the goodbye can make b lost in time.
	long := func(cfg *Config) { cfg.Takeover = time.Minute }
	a := join(t, url, "a", long)
	b := join(t, url, "b", long)
	ctx := ctxFor(t)
	var lost lostLog
	taken := make(chan []int64, 1)
	a.OnNodeLost(func(node string) {
		lost.add(node)
		ids, err := a.TakeOver(ctx, node)
		if err != nil {
			t.Error(err)
		}
		taken <- ids
	})
	if err := b.AddSession(ctx, "acme|ann@example.com", "phone"); err != nil {
		t.Fatal(err)
	}
	if _, won, err := b.Claim(ctx, 7); err != nil || !won {
		t.Fatalf("b claims chat 7: %v %v", won, err)
	}
	testwait.For(t, "a to see b's session and chat", func() bool {
		owner, _ := a.Owner(7)
		return len(a.Sessions("acme|ann@example.com")) == 1 && owner == "b"
	})
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("second Shutdown: %v", err)
	}
	select {
	case ids := <-taken:
		if !slices.Equal(ids, []int64{7}) {
			t.Errorf("a took over %v, want [7]", ids)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a was not told that b left")
	}
	testwait.For(t, "b's session to be deleted and b unlisted", func() bool {
		return len(a.dir.keysOf("b")) == 0 && len(a.Nodes()) == 1
	})
	if got := lost.list(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("lost nodes %v, want [b]", got)
	}
	if owner, ok := a.Owner(7); owner != "a" || !ok {
		t.Errorf("Owner(7) = %q %v, want a", owner, ok)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a", func(cfg *Config) {
		cfg.Stats = func() map[string]int64 { return map[string]int64{"visitors": 3} }
	})
	b := join(t, url, "b")
	ctx := ctxFor(t)
	if err := a.AddSession(ctx, "acme|ann@example.com", "phone"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Claim(ctx, 1); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a's counts in b's registry", func() bool {
		ns := b.Nodes()
		return len(ns) == 2 && ns[0].Sessions == 1 && ns[0].Chats == 1 && ns[0].Stats["visitors"] == 3
	})
	s, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node != "b" || !s.Connected || s.RTT <= 0 || s.Server == "" || len(s.Nodes) != 2 {
		t.Fatalf("status %+v", s)
	}
	for _, n := range s.Nodes {
		if !n.Alive || n.Self != (n.Node == "b") || n.Age > testTakeover || n.Started.IsZero() {
			t.Errorf("node %+v", n)
		}
	}
	t.Logf("RTT to NATS %v", s.RTT)
}
