package xmppd

import (
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

func event(node string) func(xmpptest.Node) bool {
	return func(n xmpptest.Node) bool {
		for _, it := range n.Find("event/items") {
			if it.Attr("node") == node {
				return true
			}
		}
		return len(n.Find("event/delete")) == 1 && n.Find("event/delete")[0].Attr("node") == node
	}
}

// Personal eventing (XEP-0163) as modern clients use it: nickname and
// avatar reach colleagues, bookmarks stay the account's.
func TestPersonalEventing(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	desk := env.login("fiona.b", "desk", true)
	george := env.login("george.w", "laptop", true)

	fiona.Send("<iq type='get' id='d1' to='" + jidOf("fiona.b") + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	info := fiona.Expect("account disco", xmpptest.IQ("d1"))
	pep := false
	for _, id := range info.Find("query/identity") {
		pep = pep || id.Attr("category") == "pubsub" && id.Attr("type") == "pep"
	}
	if !pep {
		t.Fatalf("no PEP identity: %+v", info)
	}

	// Nickname (XEP-0172): colleagues get the event and can ask.
	fiona.Send("<iq type='set' id='n1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='http://jabber.org/protocol/nick'><item><nick xmlns='http://jabber.org/protocol/nick'>Fi</nick></item></publish></pubsub></iq>")
	if res := fiona.Expect("publish", xmpptest.IQ("n1")); len(res.Find("pubsub/publish/item")) != 1 {
		t.Fatalf("publish answered %+v", res)
	}
	for _, c := range []*xmpptest.Client{george, desk} {
		ev := c.Expect("nick event", event("http://jabber.org/protocol/nick"))
		// (mellium's client leaves out a from that is the own account.)
		if from := ev.Attr("from"); from != jidOf("fiona.b") && !(c == desk && from == "") || ev.Find("event/items/item/nick")[0].Text != "Fi" {
			t.Errorf("nick event %+v", ev)
		}
	}
	george.Send("<iq type='get' id='n2' to='" + jidOf("fiona.b") + "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='http://jabber.org/protocol/nick'/></pubsub></iq>")
	if res := george.Expect("nick items", xmpptest.IQ("n2")); len(res.Find("pubsub/items/item/nick")) != 1 {
		t.Fatalf("items answered %+v", res)
	}

	// Avatar (XEP-0084): the metadata is an event; the data is fetched.
	fiona.Send("<iq type='set' id='a1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:data'><item id='abc'><data xmlns='urn:xmpp:avatar:data'>iVBORw0KGgo=</data></item></publish></pubsub></iq>")
	fiona.Expect("data published", xmpptest.IQ("a1"))
	fiona.Send("<iq type='set' id='a2'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'><item id='abc'><metadata xmlns='urn:xmpp:avatar:metadata'><info id='abc' bytes='8' type='image/png'/></metadata></item></publish></pubsub></iq>")
	fiona.Expect("metadata published", xmpptest.IQ("a2"))
	george.Expect("metadata event", event("urn:xmpp:avatar:metadata"))
	if _, ok := george.Wait(200*time.Millisecond, event("urn:xmpp:avatar:data")); ok {
		t.Error("the avatar's data was pushed")
	}
	george.Send("<iq type='get' id='a3' to='" + jidOf("fiona.b") + "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'><item id='abc'/></items></pubsub></iq>")
	if res := george.Expect("avatar data", xmpptest.IQ("a3")); len(res.Find("pubsub/items/item/data")) != 1 {
		t.Fatalf("avatar data %+v", res)
	}

	// Bookmarks (XEP-0402): the account's alone.
	fiona.Send("<iq type='set' id='b1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:bookmarks:1'><item id='team@rooms.example'><conference xmlns='urn:xmpp:bookmarks:1' name='Team'/></item></publish>" +
		"<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
		"<field var='pubsub#access_model'><value>whitelist</value></field><field var='pubsub#max_items'><value>max</value></field></x></publish-options></pubsub></iq>")
	fiona.Expect("bookmark published", xmpptest.IQ("b1"))
	desk.Expect("bookmark event on the own resource", event("urn:xmpp:bookmarks:1"))
	if _, ok := george.Wait(200*time.Millisecond, event("urn:xmpp:bookmarks:1")); ok {
		t.Fatal("a colleague got a bookmark")
	}
	george.Send("<iq type='get' id='b2' to='" + jidOf("fiona.b") + "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'/></pubsub></iq>")
	if res := george.Expect("refused", xmpptest.IQ("b2")); len(res.Find("error/item-not-found")) != 1 {
		t.Fatalf("a colleague read bookmarks: %+v", res)
	}
	desk.Send("<iq type='get' id='b3'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'/></pubsub></iq>")
	if res := desk.Expect("own bookmarks", xmpptest.IQ("b3")); len(res.Find("pubsub/items/item/conference")) != 1 {
		t.Fatalf("own bookmarks %+v", res)
	}
	// Nobody publishes to someone else's node.
	george.Send("<iq type='set' id='x1' to='" + jidOf("fiona.b") + "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='http://jabber.org/protocol/nick'><item><nick xmlns='http://jabber.org/protocol/nick'>Boss</nick></item></publish></pubsub></iq>")
	if res := george.Expect("refused", xmpptest.IQ("x1")); len(res.Find("error/forbidden")) != 1 {
		t.Fatalf("publish to a colleague's node: %+v", res)
	}
	// Retract and delete.
	desk.Send("<iq type='set' id='r1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='urn:xmpp:bookmarks:1'><item id='team@rooms.example'/></retract></pubsub></iq>")
	desk.Expect("retracted", xmpptest.IQ("r1"))
	fiona.Expect("retract event", event("urn:xmpp:bookmarks:1"))
	fiona.Send("<iq type='set' id='r2'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='http://jabber.org/protocol/nick'/></pubsub></iq>")
	fiona.Expect("deleted", xmpptest.IQ("r2"))
	george.Expect("delete event", event("http://jabber.org/protocol/nick"))
}
