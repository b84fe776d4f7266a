package xmppd

import (
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

func presenceShow(from, show string) func(xmpptest.Node) bool {
	return func(n xmpptest.Node) bool {
		s, _ := n.Child("show")
		return xmpptest.Presence(from, "")(n) && s.Text == show
	}
}

func TestPeersPresenceAtSignInAndOnChange(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	george := c.login("b", "george.w", "phone", true)
	a := c.nodes["a"].srv
	testwait.For(t, "node a to count george online", func() bool { return a.Availability("acme", "george.w") == Online })
	if !c.desks["a"].told("acme", "george.w", Online) {
		t.Error("node a's desk was not told that george is online")
	}

	// Signing in later on a: george's current presence, as a local
	// colleague's.
	fiona := c.login("a", "fiona.b", "laptop", true)
	fiona.Expect("george's presence at sign-in", xmpptest.Presence(jidOf("george.w")+"/phone", ""))
	george.Expect("fiona's presence", xmpptest.Presence(jidOf("fiona.b")+"/laptop", ""))

	george.Send("<presence><show>dnd</show></presence>")
	fiona.Expect("george busy", presenceShow(jidOf("george.w")+"/phone", "dnd"))
	if av := a.Availability("acme", "george.w"); av != Busy {
		t.Fatalf("node a says george is %v", av)
	}
	testwait.For(t, "node a's desk told george is busy", func() bool { return c.desks["a"].told("acme", "george.w", Busy) })

	// A probe answers with the presence of the other node's session.
	fiona.Send("<presence type='probe' to='" + jidOf("george.w") + "'/>")
	fiona.Expect("probe answer", presenceShow(jidOf("george.w")+"/phone", "dnd"))

	// A second session of george on a: the more available one counts.
	desk := c.login("a", "george.w", "desk", true)
	desk.Expect("own other resource on another node", presenceShow(jidOf("george.w")+"/phone", "dnd"))
	if av := a.Availability("acme", "george.w"); av != Online {
		t.Fatalf("with a session here, node a says george is %v", av)
	}
	testwait.For(t, "node b counts both", func() bool { return c.nodes["b"].srv.Availability("acme", "george.w") == Online })
	desk.Close()
	testwait.For(t, "node b counts the phone only", func() bool { return c.nodes["b"].srv.Availability("acme", "george.w") == Busy })

	george.Send("<presence type='unavailable'/>")
	fiona.Expect("george gone", xmpptest.Presence(jidOf("george.w")+"/phone", "unavailable"))
	testwait.For(t, "node a counts george offline", func() bool { return a.Availability("acme", "george.w") == Offline })
	testwait.For(t, "node a's desk told george is offline", func() bool { return c.desks["a"].told("acme", "george.w", Offline) })
}

func TestPeersPresenceBlocked(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	fiona.Send("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='" + jidOf("george.w") + "'/></block></iq>")
	fiona.Expect("blocked", xmpptest.IQ("b1"))
	george := c.login("b", "george.w", "phone", true)
	if n, ok := fiona.Wait(300*time.Millisecond, xmpptest.Presence(jidOf("george.w"), "")); ok {
		t.Fatalf("a blocked colleague's presence came from another node: %+v", n)
	}
	if n, ok := george.Wait(100*time.Millisecond, xmpptest.Presence(jidOf("fiona.b"), "")); ok {
		t.Fatalf("the presence of a colleague who blocks george came: %+v", n)
	}
	// The other node's copy of the block lists follows the change.
	george.Send(chat(jidOf("fiona.b"), "blocked?"))
	george.Expect("refused", func(n xmpptest.Node) bool { return n.Attr("type") == "error" })

	// Unblocked: both see the other; blocked again: both see the other go.
	fiona.Send("<iq type='set' id='b2'><unblock xmlns='urn:xmpp:blocking'><item jid='" + jidOf("george.w") + "'/></unblock></iq>")
	fiona.Expect("unblocked", xmpptest.IQ("b2"))
	fiona.Expect("george's presence once unblocked", xmpptest.Presence(jidOf("george.w")+"/phone", ""))
	george.Expect("fiona's presence once unblocked", xmpptest.Presence(jidOf("fiona.b")+"/laptop", ""))
	fiona.Send("<iq type='set' id='b3'><block xmlns='urn:xmpp:blocking'><item jid='" + jidOf("george.w") + "'/></block></iq>")
	fiona.Expect("blocked again", xmpptest.IQ("b3"))
	fiona.Expect("george gone once blocked", xmpptest.Presence(jidOf("george.w")+"/phone", "unavailable"))
	george.Expect("fiona gone once she blocks him", xmpptest.Presence(jidOf("fiona.b")+"/laptop", "unavailable"))
}

func TestPeersPeerLost(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	c.login("b", "george.w", "phone", true)
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/phone", ""))
	a := c.nodes["a"].srv

	c.bus.lose("b")
	a.PeerLost("b")
	fiona.Expect("george unavailable once his node is lost", xmpptest.Presence(jidOf("george.w")+"/phone", "unavailable"))
	if av := a.Availability("acme", "george.w"); av != Offline {
		t.Fatalf("george is %v on a lost node", av)
	}
	if !c.desks["a"].told("acme", "george.w", Offline) {
		t.Error("the desk was not told")
	}
	// Messages for him are kept offline now.
	fiona.Send(chat(jidOf("george.w"), "are you there?"))
	testwait.For(t, "kept offline", func() bool { return offlineCount(t, c.nodes["a"], "george.w") == 1 })
	// The reports' record has him offline from the loss on.
	testwait.For(t, "george offline in the presence log", func() bool {
		ch, err := c.nodes["a"].st.PresenceChanges(t.Context(), "acme", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		last := ""
		for _, p := range ch {
			if p.Username == "george.w" {
				last = p.State
			}
		}
		return last == "offline"
	})
}

func TestPeersRestartedNodeForgetsItsEarlierRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	c.login("b", "george.w", "phone", true)
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/phone", ""))
	// Node b comes back under the same name without its sessions: its
	// first event (following the portal again) has a new incarnation.
	a := c.nodes["a"].srv
	a.portalEvent("acme", "b", []byte(`{"op":"sync","run":"new-run"}`))
	fiona.Expect("george gone with b's earlier run", xmpptest.Presence(jidOf("george.w")+"/phone", "unavailable"))
	if av := a.Availability("acme", "george.w"); av != Offline {
		t.Fatalf("george is %v", av)
	}
}

// The directory queue holds one entry per full JID, drops new sessions

// past its bound but never a removal.

// A session that ends while the directory is unreachable leaves it once

// it is back: the removal is tried again, not lost.
