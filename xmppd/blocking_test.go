package xmppd

import (
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// XEP-0191: what a blocked colleague sends does not arrive, presence
// stops both ways, every resource hears of the change.
func TestBlockingCommand(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	desk := env.login("fiona.b", "desk", true)
	george := env.login("george.w", "laptop", true)
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/laptop", ""))
	desk.Send("<iq type='get' id='b0'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
	if res := desk.Expect("empty list", xmpptest.IQ("b0")); len(res.Find("blocklist/item")) != 0 {
		t.Fatalf("blocklist %+v", res)
	}
	fiona.Send("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='" + jidOf("george.w") + "'/></block></iq>")
	fiona.Expect("block result", xmpptest.IQ("b1"))
	desk.Expect("block push", func(n xmpptest.Node) bool {
		it := n.Find("block/item")
		return n.Attr("type") == "set" && len(it) == 1 && it[0].Attr("jid") == jidOf("george.w")
	})
	george.Expect("fiona goes offline for george", xmpptest.Presence(jidOf("fiona.b"), "unavailable"))
	fiona.Expect("george goes offline for fiona", xmpptest.Presence(jidOf("george.w"), "unavailable"))

	george.Send("<message type='chat' id='m1' to='" + jidOf("fiona.b") + "'><body>are you there?</body></message>")
	if e := george.Expect("refused", func(n xmpptest.Node) bool { return n.Attr("id") == "m1" }); len(e.Find("error/service-unavailable")) != 1 {
		t.Fatalf("message to someone who blocks you: %+v", e)
	}
	fiona.Send("<message type='chat' id='m2' to='" + jidOf("george.w") + "'><body>hi</body></message>")
	if e := fiona.Expect("refused", func(n xmpptest.Node) bool { return n.Attr("id") == "m2" }); len(e.Find("error/blocked")) != 1 {
		t.Fatalf("message to someone you block: %+v", e)
	}
	if _, ok := fiona.Wait(200*time.Millisecond, xmpptest.Message(jidOf("george.w"), "are you there")); ok {
		t.Fatal("a blocked colleague's message arrived")
	}
	// A presence change of george's no longer reaches fiona.
	george.Send("<presence><show>away</show></presence>")
	if _, ok := fiona.Wait(300*time.Millisecond, xmpptest.Presence(jidOf("george.w"), "")); ok {
		t.Fatal("a blocked colleague's presence arrived")
	}

	// Unblock all: presence again both ways, messages go.
	desk.Send("<iq type='set' id='b2'><unblock xmlns='urn:xmpp:blocking'/></iq>")
	desk.Expect("unblock result", xmpptest.IQ("b2"))
	george.Expect("fiona is back for george", xmpptest.Presence(jidOf("fiona.b"), ""))
	fiona.Expect("george is back for fiona", func(n xmpptest.Node) bool {
		return n.XMLName.Local == "presence" && strings.HasPrefix(n.Attr("from"), jidOf("george.w")) && n.Attr("type") == ""
	})
	george.Send("<message type='chat' to='" + jidOf("fiona.b") + "'><body>hello again</body></message>")
	fiona.Expect("message after unblocking", xmpptest.Message(jidOf("george.w"), "hello again"))
}
