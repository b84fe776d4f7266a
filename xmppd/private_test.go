package xmppd

import (
	"testing"

	"jabberdesk/internal/xmpptest"
)

func TestPrivateXMLStorage(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	fiona.Send("<iq type='set' id='p1'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='room@example.org' name='Team'/></storage></query></iq>")
	if res := fiona.Expect("set", xmpptest.IQ("p1")); res.Attr("type") != "result" {
		t.Fatalf("set answered %+v", res)
	}
	desk := env.login("fiona.b", "desk", true)
	desk.Send("<iq type='get' id='p2'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>")
	res := desk.Expect("get", xmpptest.IQ("p2"))
	if c := res.Find("query/storage/conference"); len(c) != 1 || c[0].Attr("name") != "Team" {
		t.Fatalf("get answered %+v", res)
	}
	// Nothing kept: the empty element.
	desk.Send("<iq type='get' id='p3'><query xmlns='jabber:iq:private'><prefs xmlns='example:prefs'/></query></iq>")
	if res := desk.Expect("get", xmpptest.IQ("p3")); len(res.Find("query/prefs")) != 1 {
		t.Fatalf("empty get answered %+v", res)
	}
	// Another agent's storage is their own.
	george := env.login("george.w", "desk", true)
	george.Send("<iq type='get' id='p4'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>")
	if res := george.Expect("get", xmpptest.IQ("p4")); len(res.Find("query/storage/conference")) != 0 {
		t.Fatalf("george sees fiona's storage: %+v", res)
	}
	// jabber:* namespaces are not kept.
	fiona.Send("<iq type='set' id='p5'><query xmlns='jabber:iq:private'><message xmlns='jabber:client'/></query></iq>")
	if res := fiona.Expect("refused", xmpptest.IQ("p5")); len(res.Find("error/not-acceptable")) != 1 {
		t.Fatalf("jabber:client set answered %+v", res)
	}
}
