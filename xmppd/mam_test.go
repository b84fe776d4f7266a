package xmppd

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// mamPage queries george's archive and returns the bodies and the fin.
func mamPage(t *testing.T, c *xmpptest.Client, id, rsm, form string) ([]string, xmpptest.Node) {
	t.Helper()
	c.Send("<iq type='set' id='" + id + "'><query xmlns='urn:xmpp:mam:2' queryid='q-" + id + "'>" + form +
		"<set xmlns='http://jabber.org/protocol/rsm'>" + rsm + "</set></query></iq>")
	fin := c.Expect("fin of "+id, xmpptest.IQ(id))
	var bodies []string
	for {
		m, ok := c.Wait(0, func(n xmpptest.Node) bool {
			r, ok := n.Child("result")
			return ok && r.Attr("queryid") == "q-"+id
		})
		if !ok {
			break
		}
		msgs := m.Find("result/forwarded/message")
		if len(msgs) != 1 || len(m.Find("result/forwarded/delay")) != 1 {
			t.Fatalf("malformed result %+v", m)
		}
		bodies = append(bodies, msgs[0].Body())
	}
	return bodies, fin
}

func TestArchivePagingOver500Messages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "laptop", true)
	george := env.login("george.w", "phone", true)
	const n = 500
	for i := 0; i < n; i++ {
		fiona.Send(fmt.Sprintf("<message type='chat' to='%s'><body>msg %03d</body></message>", jidOf("george.w"), i))
	}
	last := george.Expect("the last message", xmpptest.Message(jidOf("fiona.b"), fmt.Sprintf("msg %03d", n-1)))
	if sid, ok := last.Child("stanza-id"); !ok || sid.Attr("by") != jidOf("george.w") {
		t.Errorf("no stanza-id on a routed message: %+v", last)
	}
	// Forward paging, 50 at a time: every message exactly once, in order.
	var all []string
	after := ""
	for page := 0; ; page++ {
		rsm := "<max>50</max>"
		if after != "" {
			rsm += "<after>" + after + "</after>"
		}
		bodies, fin := mamPage(t, george, "p"+strconv.Itoa(page), rsm, "")
		all = append(all, bodies...)
		f, _ := fin.Child("fin")
		if c := f.Find("set/count"); len(c) != 1 || c[0].Text != strconv.Itoa(n) {
			t.Fatalf("count %+v", f)
		}
		if f.Attr("complete") == "true" {
			break
		}
		after = f.Find("set/last")[0].Text
		if page > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != n {
		t.Fatalf("%d messages over all pages, want %d", len(all), n)
	}
	for i, b := range all {
		if b != fmt.Sprintf("msg %03d", i) {
			t.Fatalf("message %d is %q", i, b)
		}
	}
	// The last page, backwards.
	bodies, _ := mamPage(t, george, "last", "<max>10</max><before/>", "")
	if len(bodies) != 10 || bodies[9] != fmt.Sprintf("msg %03d", n-1) {
		t.Fatalf("last page %v", bodies)
	}
	// The sender's archive has them too, filtered by with.
	form := "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" +
		"<field var='with'><value>" + jidOf("george.w") + "</value></field></x>"
	bodies, fin := mamPage(t, fiona, "f1", "<max>5</max>", form)
	if len(bodies) != 5 || bodies[0] != "msg 000" {
		t.Fatalf("fiona's archive %v", bodies)
	}
	if f, _ := fin.Child("fin"); f.Find("set/count")[0].Text != strconv.Itoa(n) {
		t.Fatalf("fiona's count %+v", f)
	}
	// An unknown cursor is item-not-found.
	george.Send("<iq type='set' id='bad'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set></query></iq>")
	if res := george.Expect("error", xmpptest.IQ("bad")); len(res.Find("error/item-not-found")) != 1 {
		t.Fatalf("unknown cursor answered %+v", res)
	}
}

// archived counts the messages in an agent's archive, as on disk now.
func archived(t *testing.T, env *testEnv, owner string) int {
	t.Helper()
	page, err := env.st.QueryArchive(t.Context(), store.ArchiveQuery{Portal: "acme", Owner: owner, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.Count
}

// The server's <a/> (XEP-0198) and a delivery receipt (XEP-0184) confirm
// messages to their sender: by then they are in the archive on disk, not
// only queued for its next batch.
func TestConfirmedMessagesAreArchived(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withResume(time.Minute))
	fiona := env.login("fiona.b", "laptop", true)
	enableSM(t, fiona)
	george := env.login("george.w", "phone", true)
	const n = 50
	for i := 0; i < n; i++ {
		fiona.Send(fmt.Sprintf("<message type='chat' id='m%d' to='%s'><body>m%d</body><request xmlns='urn:xmpp:receipts'/></message>", i, jidOf("george.w"), i))
	}
	fiona.Send("<r xmlns='urn:xmpp:sm:3'/>")
	a := fiona.Expect("<a/>", func(n xmpptest.Node) bool { return n.XMLName.Local == "a" })
	if got := archived(t, env, "fiona.b"); a.Attr("h") != fmt.Sprint(n) || got != n {
		t.Fatalf("<a h=%s/> with %d of %d messages in the archive", a.Attr("h"), got, n)
	}

	// Without stream management, the receipt is the confirmation.
	bodies(george, jidOf("fiona.b"), n)
	george.Send(fmt.Sprintf("<message type='chat' to='%s'><body>reply</body></message>", jidOf("fiona.b")))
	george.Send(fmt.Sprintf("<message to='%s'><received xmlns='urn:xmpp:receipts' id='m%d'/></message>", jidOf("fiona.b"), n-1))
	fiona.Expect("receipt", func(n xmpptest.Node) bool { _, ok := n.Child("received"); return ok })
	if got := archived(t, env, "george.w"); got != n+1 {
		t.Fatalf("receipt delivered with %d of %d messages in george's archive", got, n+1)
	}
}
