package xmppd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

func TestPeersResumeOnAnotherNodeFails(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"}, withResume(time.Minute))
	fiona := c.login("a", "fiona.b", "laptop", true)
	george := c.login("a", "george.w", "phone", true)
	id := enableSM(t, george)
	george.Raw.Close() // lost network, no <a/>
	testwait.For(t, "the session to hibernate", func() bool {
		_, hibernating := c.nodes["a"].srv.SessionState("acme", "george.w")
		return hibernating
	})
	fiona.Send(chat(jidOf("george.w"), "while hibernating"))
	testwait.For(t, "held for the hibernating session", func() bool { return offlineCount(t, c.nodes["a"], "george.w") == 1 })

	// The load balancer sends the phone to b: no such stream there.
	back := xmpptest.MustDial(t, c.nodes["b"].startTLS, jidOf("george.w")+"/phone", testPassword,
		xmpptest.Options{ResumeID: id, ResumeH: 0, BindIfNotResumed: true})
	if back.NotResumed != "item-not-found" {
		t.Fatalf("resumption on another node answered %q, want item-not-found", back.NotResumed)
	}
	if back.JID.String() != jidOf("george.w")+"/phone" {
		t.Fatalf("bound %s", back.JID)
	}
	back.Send("<presence/>")
	// The new session took the resource over: the one waiting on a ends,
	// and what was held for it reaches the new one.
	back.Expect("the held message", xmpptest.Message(jidOf("fiona.b"), "while hibernating"))
	testwait.For(t, "the old session gone from a", func() bool {
		return c.nodes["a"].srv.router.session(jidOf("george.w"), jidOf("george.w")+"/phone") == nil
	})
	testwait.For(t, "the delivered message deleted", func() bool { return offlineCount(t, c.nodes["a"], "george.w") == 0 })
}

func TestPeersHeldMessagesReleasedPerNode(t *testing.T) {
	t.Parallel()
	path := newTestStore(t)
	st := openTestStore(t, path)
	ctx := context.Background()
	for _, holder := range []string{"a:sm1", "b:sm2"} {
		if _, err := st.HoldOffline(ctx, "acme", "george.w", jidOf("fiona.b"), []byte("<message type='chat' from='"+jidOf("fiona.b")+"/laptop'><body>held by "+holder+"</body></message>"), holder); err != nil {
			t.Fatal(err)
		}
	}
	takeable := func() int {
		ms, err := st.TakeOffline(ctx, "acme", "george.w", 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	// Node a starts: it releases its own, not b's (b runs on).
	bus := newBus()
	env := startTestEnv(t, openTestStore(t, path), func(cfg *Config) { cfg.Peers = bus.peer(t, "a") })
	if n := takeable(); n != 1 {
		t.Fatalf("after a's start %d messages are offline, want a's 1", n)
	}
	// George signs in on a, then node b is lost: b's are released and
	// delivered at once.
	george := env.login("george.w", "desk", true)
	george.Expect("a's", xmpptest.Message(jidOf("fiona.b"), "held by a:sm1"))
	env.srv.PeerLost("b")
	george.Expect("b's, once b is lost", xmpptest.Message(jidOf("fiona.b"), "held by b:sm2"))
}

func TestSessionDirectoryQueue(t *testing.T) {
	t.Parallel()
	d := newSessionDirectory(nil)
	for range 3 {
		d.mark("acme|george.w@x", "phone", true)
		d.mark("acme|george.w@x", "phone", false)
	}
	if len(d.order) != 1 || len(d.pending) != 1 {
		t.Fatalf("%d entries for one JID", len(d.order))
	}
	for i := len(d.order); i < dirQueueMax; i++ {
		d.mark("acme|fiona.b@x", fmt.Sprint(i), true)
	}
	d.mark("acme|fiona.b@x", "one too many", true)
	d.mark("acme|fiona.b@x", "ended", false)
	if len(d.order) != dirQueueMax+1 || d.dropped != 1 {
		t.Fatalf("%d queued, %d dropped; want the removal queued past the bound and the new session dropped", len(d.order), d.dropped)
	}
	if k, ok, _, dropped := d.next(); !ok || k.resource != "phone" || dropped != 1 {
		t.Fatalf("first out %v %v (dropped %d), want the oldest", k, ok, dropped)
	}
}

func TestPeersDirectoryRemovalOutlivesAnOutage(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	george := c.login("b", "george.w", "phone", true)
	c.inDirectory(t, "george.w", "phone", "b")
	c.bus.cut("b", true)
	george.Close()
	testwait.For(t, "the session to end", func() bool { return c.nodes["b"].srv.router.count() == 0 })
	if len(c.nodes["a"].srv.peers.RemoteSessions(jidOf("george.w"))) != 1 {
		t.Fatal("the directory changed while unreachable")
	}
	c.bus.cut("b", false)
	testwait.For(t, "the session gone from the directory", func() bool {
		return len(c.nodes["a"].srv.peers.RemoteSessions(jidOf("george.w"))) == 0
	})
}
