package xmppd

import (
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

// inDirectory waits until the cluster's directory has the session.
func (c *cluster) inDirectory(t *testing.T, user, resource, node string) {
	t.Helper()
	testwait.For(t, user+"/"+resource+" in the directory", func() bool {
		c.bus.mu.Lock()
		defer c.bus.mu.Unlock()
		return c.bus.sessions[RemoteSession{jidOf(user), resource, node}]
	})
}

func chat(to, body string) string {
	return "<message type='chat' to='" + to + "'><body>" + body + "</body></message>"
}

func offlineCount(t *testing.T, env *testEnv, user string) int {
	n, err := env.st.OfflineCount(t.Context(), "acme", user)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPeersMessageToFullAndBareJID(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	george := c.login("b", "george.w", "phone", true)
	c.inDirectory(t, "george.w", "phone", "b")

	fiona.Send(chat(jidOf("george.w")+"/phone", "to the phone"))
	m := george.Expect("message to the full JID", xmpptest.Message(jidOf("fiona.b")+"/laptop", "to the phone"))
	if sid, ok := m.Child("stanza-id"); !ok || sid.Attr("id") == "" {
		t.Errorf("no stanza id from the sender's node's archive: %+v", m)
	}
	fiona.Send(chat(jidOf("george.w"), "to the bare JID"))
	george.Expect("message to the bare JID", xmpptest.Message(jidOf("fiona.b"), "to the bare JID"))
	// An unknown resource of a chat message: as to the bare JID (RFC 6121
	// §8.5.3.2.1).
	fiona.Send(chat(jidOf("george.w")+"/gone", "to a gone resource"))
	george.Expect("message to an unknown resource", xmpptest.Message(jidOf("fiona.b"), "to a gone resource"))
	// And back.
	george.Send(chat(jidOf("fiona.b")+"/laptop", "answer"))
	fiona.Expect("answer across nodes", xmpptest.Message(jidOf("george.w")+"/phone", "answer"))
	// An IQ to a full JID on the other node, and its result.
	fiona.Send("<iq type='get' id='v1' to='" + jidOf("george.w") + "/phone'><query xmlns='jabber:iq:version'/></iq>")
	iq := george.Expect("IQ from another node", xmpptest.IQ("v1"))
	if iq.Attr("from") != jidOf("fiona.b")+"/laptop" {
		t.Fatalf("IQ from %q", iq.Attr("from"))
	}
	george.Send("<iq type='result' id='v1' to='" + jidOf("fiona.b") + "/laptop'><query xmlns='jabber:iq:version'><name>x</name></query></iq>")
	fiona.Expect("the IQ's result", xmpptest.IQ("v1"))
	if n := offlineCount(t, c.nodes["a"], "george.w"); n != 0 {
		t.Fatalf("%d messages kept offline for an agent signed in on another node", n)
	}
}

func TestPeersMessageOfflineWhenSignedInNowhere(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	fiona.Send(chat(jidOf("george.w"), "while you were out"))
	testwait.For(t, "the message kept offline", func() bool { return offlineCount(t, c.nodes["a"], "george.w") == 1 })
	george := c.login("b", "george.w", "phone", true)
	m := george.Expect("the offline message on the other node", xmpptest.Message(jidOf("fiona.b"), "while you were out"))
	if _, ok := m.Child("delay"); !ok {
		t.Errorf("no delay stamp: %+v", m)
	}
}

func TestPeersMessageOfflineWhenNodeUnreachable(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	george := c.login("b", "george.w", "phone", true)
	c.inDirectory(t, "george.w", "phone", "b")
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/phone", ""))

	c.bus.cut("b", true)
	fiona.Send(chat(jidOf("george.w"), "to the bare JID"))
	fiona.Send(chat(jidOf("george.w")+"/phone", "to the full JID"))
	testwait.For(t, "both kept offline", func() bool { return offlineCount(t, c.nodes["a"], "george.w") == 2 })
	if m, ok := george.Wait(200*time.Millisecond, xmpptest.Message(jidOf("fiona.b"), "")); ok {
		t.Fatalf("delivered through a cut link: %+v", m)
	}
	if m, ok := fiona.Wait(100*time.Millisecond, func(n xmpptest.Node) bool { return n.Attr("type") == "error" }); ok {
		t.Fatalf("the sender got an error: %+v", m)
	}
	// Back: the agent's next sign-in gets them.
	c.bus.cut("b", false)
	george.Close()
	again := c.login("b", "george.w", "desk", true)
	got := bodies(again, jidOf("fiona.b"), 2)
	if strings.Join(got, ",") != "to the bare JID,to the full JID" {
		t.Fatalf("after the outage: %v", got)
	}
}

func TestPeersCarbons(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b", "c"})
	phone := c.login("a", "george.w", "phone", true)
	desk := c.login("b", "george.w", "desk", true)
	for _, cl := range []*xmpptest.Client{phone, desk} {
		cl.Send("<iq type='set' id='cb'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
		cl.Expect("carbons enabled", xmpptest.IQ("cb"))
	}
	fiona := c.login("c", "fiona.b", "laptop", true)
	c.inDirectory(t, "george.w", "phone", "a")
	c.inDirectory(t, "george.w", "desk", "b")
	c.inDirectory(t, "fiona.b", "laptop", "c")

	carbonOf := func(direction, body string) func(xmpptest.Node) bool {
		return func(n xmpptest.Node) bool {
			fwd := n.Find(direction + "/forwarded/message")
			return n.XMLName.Local == "message" && len(fwd) == 1 && fwd[0].Body() == body
		}
	}
	// From a third node to the desk: the phone gets a received carbon.
	fiona.Send(chat(jidOf("george.w")+"/desk", "for the desk"))
	desk.Expect("the message", xmpptest.Message(jidOf("fiona.b"), "for the desk"))
	phone.Expect("received carbon on another node", carbonOf("received", "for the desk"))
	// From the phone: the desk gets a sent carbon.
	phone.Send(chat(jidOf("fiona.b"), "from the phone"))
	fiona.Expect("the message", xmpptest.Message(jidOf("george.w")+"/phone", "from the phone"))
	desk.Expect("sent carbon on another node", carbonOf("sent", "from the phone"))
	// Nobody gets a copy twice.
	for _, cl := range []*xmpptest.Client{phone, desk} {
		if n, ok := cl.Wait(300*time.Millisecond, func(n xmpptest.Node) bool { return len(n.Find("received")) > 0 || len(n.Find("sent")) > 0 }); ok {
			t.Fatalf("%s: a second carbon %+v", cl.JID, n)
		}
	}
}

func TestPeersContactAndVisitorMessage(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	george := c.login("b", "george.w", "phone", true)
	george.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
	george.Expect("roster", xmpptest.IQ("r1"))
	c.inDirectory(t, "george.w", "phone", "b")
	a := c.nodes["a"].srv

	a.Contact("acme", "george.w", bridge.Contact{Local: "v-7", Name: "Ann (#7)", Status: "Where is my order?", Available: true})
	push := george.Expect("roster push from another node", func(n xmpptest.Node) bool {
		items := n.Find("query/item")
		return n.XMLName.Local == "iq" && len(items) == 1 && strings.HasPrefix(items[0].Attr("jid"), "acme|v-7@")
	})
	if push.Attr("type") != "set" {
		t.Fatalf("push %+v", push)
	}
	george.Expect("the contact's presence", xmpptest.Presence("acme|v-7@", ""))
	if !a.Message("acme", "george.w", bridge.Message{From: "v-7", Body: "hello?"}) {
		t.Fatal("Message says nobody took it")
	}
	george.Expect("the visitor's message", xmpptest.Message("acme|v-7@", "hello?"))

	// Signed in nowhere: kept offline, and Message says so.
	george.Close()
	testwait.For(t, "george gone from the directory", func() bool {
		return len(c.nodes["a"].srv.peers.RemoteSessions(jidOf("george.w"))) == 0
	})
	if a.Message("acme", "george.w", bridge.Message{From: "v-7", Body: "still there?"}) {
		t.Fatal("Message says an agent signed in nowhere took it")
	}
	if n := offlineCount(t, c.nodes["a"], "george.w"); n != 1 {
		t.Fatalf("%d offline messages, want 1", n)
	}
}

func TestPeersBoardAndPersonalEvents(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"})
	fiona := c.login("a", "fiona.b", "laptop", true)
	george := c.login("b", "george.w", "phone", true)
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/phone", ""))

	fiona.Send(chat("acme|board@"+testDomain, "lunch at noon"))
	george.Expect("the board post on another node", xmpptest.Message("acme|board@", "[Fiona] lunch at noon"))
	if n, ok := fiona.Wait(200*time.Millisecond, xmpptest.Message("acme|board@", "lunch")); ok {
		t.Fatalf("the poster got their own post: %+v", n)
	}

	fiona.Send("<iq type='set' id='n1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='http://jabber.org/protocol/nick'><item><nick xmlns='http://jabber.org/protocol/nick'>Fi</nick></item></publish></pubsub></iq>")
	fiona.Expect("published", xmpptest.IQ("n1"))
	ev := george.Expect("the nick event on another node", event("http://jabber.org/protocol/nick"))
	if ev.Attr("from") != jidOf("fiona.b") || ev.Attr("to") != jidOf("george.w")+"/phone" {
		t.Fatalf("event %+v", ev)
	}
}
