package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

func TestSessionKeys(t *testing.T) {
	t.Parallel()
	for _, s := range []Session{
		{JID: "acme|ann@example.com", Resource: "phone", Node: "n1"},
		{JID: "a|b@c", Resource: "Gajim.x/y z|ü🙂", Node: "node_2-b"},
		{JID: "x@y", Resource: ".", Node: "N"},
	} {
		key := sessionKey(s.JID, s.Resource, s.Node)
		if strings.Trim(key, "-/_=.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Errorf("key %q has characters a key may not have", key)
		}
		got, ok := parseSessionKey(key)
		if !ok || got != s {
			t.Errorf("parseSessionKey(%q) = %+v %v, want %+v", key, got, ok, s)
		}
	}
	prefix := sessionKey("acme|ann@example.com", "a", "n")
	prefix = prefix[:strings.IndexByte(prefix, '.')+1]
	if other := sessionKey("acme|ann@example.com", "b", "m"); !strings.HasPrefix(other, prefix) {
		t.Errorf("a JID's sessions do not share a prefix: %q, %q", prefix, other)
	}
	for _, bad := range []string{"", "a.b", "YQ.Yg", "YQ.Yg.n.x", "YQ..n", "!!.Yg.n", "YQ.Yg.n*"} {
		if s, ok := parseSessionKey(bad); ok {
			t.Errorf("parseSessionKey(%q) = %+v", bad, s)
		}
	}
}

func TestDirectoryAcrossNodes(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	nodes := []*Cluster{join(t, url, "n1"), join(t, url, "n2"), join(t, url, "n3")}
	ctx := ctxFor(t)
	ann, bob := "acme|ann@example.com", "acme|bob@example.com"
	want := []Session{
		{JID: ann, Resource: "Gajim.x/y z|ü", Node: "n1"},
		{JID: ann, Resource: "phone", Node: "n1"},
		{JID: ann, Resource: "phone", Node: "n2"}, // the same resource on two nodes: both listed
		{JID: ann, Resource: "laptop", Node: "n3"},
	}
	for _, s := range want {
		node := nodes[s.Node[1]-'1']
		if err := node.AddSession(ctx, s.JID, s.Resource); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes[2].AddSession(ctx, bob, "web"); err != nil {
		t.Fatal(err)
	}
	sortSessions(want)
	for _, n := range nodes {
		testwait.For(t, n.Node()+" to see ann's sessions", func() bool {
			return slices.Equal(n.Sessions(ann), want) && len(n.Sessions(bob)) == 1
		})
		if got := n.Sessions("acme|nobody@example.com"); len(got) != 0 {
			t.Errorf("%s: nobody's sessions %v", n.Node(), got)
		}
	}
	if err := nodes[1].RemoveSession(ctx, ann, "phone"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].RemoveSession(ctx, ann, "phone"); err != nil {
		t.Fatalf("removing again: %v", err)
	}
	want = slices.DeleteFunc(want, func(s Session) bool { return s.Node == "n2" })
	for _, n := range nodes {
		testwait.For(t, n.Node()+" to see ann's session on n2 removed", func() bool {
			return slices.Equal(n.Sessions(ann), want)
		})
	}
	if err := nodes[0].AddSession(ctx, "", "x"); err == nil {
		t.Error("AddSession with no JID worked")
	}
	if err := nodes[0].RemoveSession(ctx, ann, ""); err == nil {
		t.Error("RemoveSession with no resource worked")
	}
}

// sortSessions puts sessions in the order Sessions returns them.
func sortSessions(ss []Session) {
	slices.SortFunc(ss, func(a, b Session) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.Resource, b.Resource)
	})
}

func TestJoinPurgesWhatAPreviousRunLeft(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	x := join(t, url, "x")
	ctx := ctxFor(t)
	for i := range 5 {
		if err := x.AddSession(ctx, fmt.Sprintf("acme|agent%d@example.com", i), "phone"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := x.Claim(ctx, 5); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a to see x's sessions", func() bool { return len(a.dir.keysOf("x")) == 5 })
	x.Close() // a crash: no goodbye

	x2 := join(t, url, "x")
	testwait.For(t, "x's old sessions to be purged", func() bool {
		return len(a.dir.keysOf("x")) == 0 && len(x2.dir.keysOf("x")) == 0
	})
	if got := x2.Owned(); !slices.Equal(got, []int64{5}) {
		t.Errorf("the new run owns %v, want the chat the old one kept [5]", got)
	}
}

func TestSessionsPurgedByAnotherNodeComeBack(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	ctx := ctxFor(t)
	if err := b.AddSession(ctx, "acme|ann@example.com", "phone"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a to see b's session", func() bool { return len(a.Sessions("acme|ann@example.com")) == 1 })
	key := sessionKey("acme|ann@example.com", "phone", "b")
	before := a.dir.keysOf("b")[key]
	// a takes b for lost, wrongly, and purges its sessions.
	if err := a.purgeSessionsOf(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	// The purge removes the key; only b putting it back gives it a newer
	// revision.
	testwait.For(t, "b to put its session back", func() bool {
		keys := a.dir.keysOf("b")
		return len(keys) == 1 && keys[key] > before
	})
}
