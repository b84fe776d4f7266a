package cluster

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

// TestClaimRace: goroutines on three nodes claim the same chats at once;
// each chat has exactly one winner, and every claimer is told who.
func TestClaimRace(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	nodes := []*Cluster{join(t, url, "a"), join(t, url, "b"), join(t, url, "c")}
	ctx := ctxFor(t)
	const chats, perNode = 40, 6
	type result struct {
		node, owner string
		won         bool
	}
	var mu sync.Mutex
	results := map[int64][]result{}
	var wg sync.WaitGroup
	for _, n := range nodes {
		for range perNode {
			wg.Go(func() {
				for _, i := range rand.Perm(chats) {
					id := int64(i + 1)
					owner, won, err := n.Claim(ctx, id)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					results[id] = append(results[id], result{n.Node(), owner, won})
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	wins := map[string]int{}
	for id := int64(1); id <= chats; id++ {
		winners := map[string]bool{}
		owners := map[string]bool{}
		for _, r := range results[id] {
			owners[r.owner] = true
			if r.won {
				winners[r.node] = true
				if r.owner != r.node {
					t.Errorf("chat %d: %s won but was told %s owns it", id, r.node, r.owner)
				}
			}
		}
		if len(winners) != 1 || len(owners) != 1 {
			t.Errorf("chat %d: winners %v, owners told %v", id, winners, owners)
		}
		for w := range winners {
			wins[w]++
			for _, n := range nodes {
				testwait.For(t, fmt.Sprintf("%s to see chat %d's owner", n.Node(), id), func() bool {
					o, ok := n.Owner(id)
					return ok && o == w
				})
			}
		}
	}
	t.Logf("chats won per node: %v", wins)
}

func TestClaimTakesALostOwnersChat(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	x := join(t, url, "x")
	ctx := ctxFor(t)
	if _, won, err := x.Claim(ctx, 100); err != nil || !won {
		t.Fatalf("x claims: %v %v", won, err)
	}
	if owner, won, err := a.Claim(ctx, 100); err != nil || won || owner != "x" {
		t.Fatalf("a claims x's chat: %q %v %v", owner, won, err)
	}
	x.Close()
	testwait.For(t, "a to find x lost", func() bool { return !a.alive("x") })
	if _, ok := a.Owner(100); ok {
		t.Error("a lost node still owns chat 100")
	}
	if owner, won, err := a.Claim(ctx, 100); err != nil || !won || owner != "a" {
		t.Fatalf("a claims a lost node's chat: %q %v %v", owner, won, err)
	}
	if owner, won, err := b.Claim(ctx, 100); err != nil || won || owner != "a" {
		t.Fatalf("b claims a's chat: %q %v %v", owner, won, err)
	}
}

func TestClaimByAnUnknownOwner(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	ctx := ctxFor(t)
	// A lease left by a node that has no heartbeat at all.
	if _, err := a.chatsKV.Create(ctx, chatKey(3), []byte("ghost")); err != nil {
		t.Fatal(err)
	}
	if owner, won, err := a.Claim(ctx, 3); err != nil || !won || owner != "a" {
		t.Fatalf("a claims a chat of a node unheard of: %q %v %v", owner, won, err)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	ctx := ctxFor(t)
	for _, id := range []int64{-4, 0, 9} {
		if _, won, err := a.Claim(ctx, id); err != nil || !won {
			t.Fatalf("a claims %d: %v %v", id, won, err)
		}
		if owner, won, err := a.Claim(ctx, id); err != nil || !won || owner != "a" {
			t.Fatalf("a claims its own %d again: %q %v %v", id, owner, won, err)
		}
	}
	testwait.For(t, "a's chats", func() bool { return fmt.Sprint(a.Owned()) == "[-4 0 9]" })
	if err := b.Release(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx, 12345); err != nil {
		t.Fatal(err)
	}
	if owner, won, _ := b.Claim(ctx, 9); won || owner != "a" {
		t.Fatalf("after b released a's chat, b claims it: %q %v", owner, won)
	}
	if err := a.Release(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if owner, won, err := b.Claim(ctx, 9); err != nil || !won || owner != "b" {
		t.Fatalf("b claims a released chat: %q %v %v", owner, won, err)
	}
	testwait.For(t, "the owners to follow", func() bool {
		o, _ := a.Owner(9)
		return o == "b" && fmt.Sprint(a.Owned()) == "[-4 0]" && fmt.Sprint(b.Owned()) == "[9]"
	})
}
