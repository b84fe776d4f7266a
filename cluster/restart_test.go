package cluster

import (
	"context"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

// TestServerRestart: the NATS server stops and comes back on the same
// port and store; the nodes reconnect, nobody is lost, and requests,
// broadcasts, the directory and the leases work again.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	url, restart := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	ctx := ctxFor(t)
	var lost atomic.Int32
	for _, c := range []*Cluster{a, b} {
		c.OnNodeLost(func(string) { lost.Add(1) })
	}
	if err := b.Handle("echo", func(_ context.Context, _ string, data []byte) ([]byte, error) { return data, nil }); err != nil {
		t.Fatal(err)
	}
	var heard atomic.Int32
	if _, err := a.Subscribe("control", func(from string, _ []byte) {
		if from == "b" {
			heard.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	const ann = "acme|ann@example.com"
	if err := b.AddSession(ctx, ann, "phone"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Claim(ctx, 1); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a to see b's session", func() bool { return len(a.Sessions(ann)) == 1 })

	restart()
	restarted := time.Now()

	testwait.For(t, "a request to go through again", func() bool {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		got, err := a.Request(rctx, "b", "echo", []byte("x"))
		return err == nil && string(got) == "x"
	})
	testwait.For(t, "a broadcast to go through again", func() bool {
		if err := b.Publish("control", nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return heard.Load() > 0
	})
	testwait.For(t, "a session to be added again", func() bool {
		actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		return b.AddSession(actx, ann, "laptop") == nil
	})
	want := []Session{{JID: ann, Resource: "laptop", Node: "b"}, {JID: ann, Resource: "phone", Node: "b"}}
	testwait.For(t, "a to see the session kept and the one added", func() bool {
		return slices.Equal(a.Sessions(ann), want)
	})
	if owner, ok := a.Owner(1); !ok || owner != "a" {
		t.Errorf("chat 1's owner after the restart: %q %v", owner, ok)
	}
	if _, won, err := b.Claim(ctx, 2); err != nil || !won {
		t.Errorf("b claims a chat after the restart: %v %v", won, err)
	}
	testwait.For(t, "heartbeats after the restart", func() bool {
		for _, c := range []*Cluster{a, b} {
			ns := c.Nodes()
			if len(ns) != 2 || ns[0].LastSeen.Before(restarted) || ns[1].LastSeen.Before(restarted) {
				return false
			}
		}
		return true
	})
	// Past the takeover after the restart nobody has been found lost.
	time.Sleep(testTakeover + 500*time.Millisecond)
	if n := lost.Load(); n != 0 {
		t.Errorf("%d nodes found lost over a NATS restart", n)
	}
	for _, c := range []*Cluster{a, b} {
		for _, n := range c.Nodes() {
			if !n.Alive {
				t.Errorf("%s: %+v", c.Node(), n)
			}
		}
	}
}

// TestServerBackWithoutItsStore: NATS comes back empty; the buckets are
// made again, the nodes write their heartbeats and sessions back, and a
// chat whose lease went with the store is claimed again.
func TestServerBackWithoutItsStore(t *testing.T) {
	t.Parallel()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	s := startServer(t, opts)
	opts.Port = s.Addr().(*net.TCPAddr).Port
	a := join(t, s.ClientURL(), "a")
	b := join(t, s.ClientURL(), "b")
	ctx := ctxFor(t)
	var lost atomic.Int32
	for _, c := range []*Cluster{a, b} {
		c.OnNodeLost(func(string) { lost.Add(1) })
	}
	const ann = "acme|ann@example.com"
	if err := b.AddSession(ctx, ann, "phone"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Claim(ctx, 1); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a to see b's session", func() bool { return len(a.Sessions(ann)) == 1 })

	s.Shutdown()
	s.WaitForShutdown()
	opts.StoreDir = t.TempDir()
	startServer(t, opts)

	testwait.For(t, "b's session back in a's directory", func() bool {
		_, owned := a.Owner(1)
		return len(a.Sessions(ann)) == 1 && len(a.dir.keysOf("b")) == 1 && !owned
	})
	testwait.For(t, "both heartbeats back", func() bool {
		ns := b.Nodes()
		return len(ns) == 2 && ns[0].Alive && ns[1].Alive
	})
	if owner, won, err := b.Claim(ctx, 1); err != nil || !won || owner != "b" {
		t.Errorf("b claims a chat whose lease was lost: %q %v %v", owner, won, err)
	}
	// Past the takeover after the restart nobody has been found lost.
	time.Sleep(testTakeover + 500*time.Millisecond)
	if n := lost.Load(); n != 0 {
		t.Errorf("%d nodes found lost over a NATS restart without its store", n)
	}
}

func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	o := *opts
	s, err := server.NewServer(&o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}
