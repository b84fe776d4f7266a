package cluster

import (
	"slices"
	"sync"
	"testing"
	"time"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

// TestLostNode: a node that stops without a goodbye is found lost by
// every survivor once, its sessions leave the lookups at once and the
// directory soon after, and the survivors' takeovers split its chats,
// each chat won by exactly one.
func TestLostNode(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	survivors := []*Cluster{join(t, url, "a"), join(t, url, "b"), join(t, url, "c")}
	x := join(t, url, "x")
	ctx := ctxFor(t)
	const jid = "acme|ann@example.com"

	type told struct {
		node     string
		sessions []Session
		won      []int64
	}
	var mu sync.Mutex
	calls := map[string][]told{}
	for _, s := range survivors {
		s.OnNodeLost(func(node string) {
			seen := s.Sessions(jid)
			won, err := s.TakeOver(ctx, node)
			if err != nil {
				t.Errorf("%s takes over %s: %v", s.Node(), node, err)
			}
			mu.Lock()
			calls[s.Node()] = append(calls[s.Node()], told{node, seen, won})
			mu.Unlock()
		})
	}
	if err := survivors[0].AddSession(ctx, jid, "laptop"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"phone", "tablet"} {
		if err := x.AddSession(ctx, jid, r); err != nil {
			t.Fatal(err)
		}
	}
	var chats []int64
	for id := int64(1); id <= 60; id++ {
		if _, won, err := x.Claim(ctx, id); err != nil || !won {
			t.Fatalf("x claims %d: %v %v", id, won, err)
		}
		chats = append(chats, id)
	}
	for _, s := range survivors {
		testwait.For(t, s.Node()+" to see x's sessions and chats", func() bool {
			return len(s.Sessions(jid)) == 3 && slices.Equal(s.chats.of("x"), chats)
		})
	}
	if _, err := survivors[0].TakeOver(ctx, "x"); err == nil {
		t.Error("TakeOver of a live node worked")
	}

	x.Close()
	lostAt := time.Now()
	testwait.For(t, "every survivor to be told", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == 3
	})
	t.Logf("x found lost after %v (takeover %v)", time.Since(lostAt).Round(time.Millisecond), testTakeover)
	// A further heartbeat round must not tell anyone again.
	time.Sleep(testTakeover / 2)

	mu.Lock()
	defer mu.Unlock()
	owner := map[int64]string{}
	for _, s := range survivors {
		got := calls[s.Node()]
		if len(got) != 1 || got[0].node != "x" {
			t.Fatalf("%s was told %+v", s.Node(), got)
		}
		if want := []Session{{JID: jid, Resource: "laptop", Node: "a"}}; !slices.Equal(got[0].sessions, want) {
			t.Errorf("%s saw %v when told, want only %v", s.Node(), got[0].sessions, want)
		}
		for _, id := range got[0].won {
			if o, dup := owner[id]; dup {
				t.Errorf("chat %d won by %s and %s", id, o, s.Node())
			}
			owner[id] = s.Node()
		}
		t.Logf("%s took over %d chats", s.Node(), len(got[0].won))
	}
	if len(owner) != len(chats) {
		t.Errorf("%d of %d chats taken over", len(owner), len(chats))
	}
	for _, s := range survivors {
		testwait.For(t, s.Node()+" to agree on the owners and forget x's sessions", func() bool {
			for id, o := range owner {
				if got, ok := s.Owner(id); !ok || got != o {
					return false
				}
			}
			return len(s.dir.keysOf("x")) == 0
		})
		for _, n := range s.Nodes() {
			if n.Node == "x" && n.Alive {
				t.Errorf("%s lists x alive", s.Node())
			}
		}
		if won := calls[s.Node()][0].won; !slices.Equal(s.Owned(), won) {
			t.Errorf("%s owns %v, won %v", s.Node(), s.Owned(), won)
		}
	}
}

// Inspect lists the nodes without joining, and tells a lost one.
func TestInspect(t *testing.T) {
	url, _ := clustertest.Server(t)
	ctx := ctxFor(t)
	st, err := Inspect(ctx, url, 2*time.Second)
	if err != nil || len(st.Nodes) != 0 {
		t.Fatalf("before any node: %+v %v", st, err)
	}
	join(t, url, "a")
	b := join(t, url, "b")
	testwait.For(t, "two live nodes", func() bool {
		st, err = Inspect(ctx, url, 2*time.Second)
		return err == nil && len(st.Nodes) == 2 && st.Nodes[0].Alive && st.Nodes[1].Alive
	})
	if st.Nodes[0].Node != "a" || st.Nodes[1].Node != "b" || !st.Connected || st.RTT <= 0 {
		t.Fatalf("status %+v", st)
	}
	b.Close() // dies without a goodbye
	testwait.For(t, "b lost", func() bool {
		st, err = Inspect(ctx, url, 2*time.Second)
		return err == nil && len(st.Nodes) == 2 && st.Nodes[0].Alive && !st.Nodes[1].Alive
	})
}
