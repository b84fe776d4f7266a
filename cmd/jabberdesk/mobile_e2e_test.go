package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
)

// The "done means" of mobile-grade XMPP: an agent's phone loses its
// network in the middle of a visitor chat; on reconnecting (resuming the
// stream) every visitor message is there, once, in order; the agent's
// desktop saw the whole conversation, the agent's own words as carbons.
func TestPhoneDropsMidChatAndLosesNothing(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	// A session is resumed on the node that holds it (docs/CLUSTER.md):
	// the phone connects to one node, past the balancer.
	phone := r.loginWithRosterAt(t, r.sameNodeStartTLS(), "george.demo")
	desk := r.loginWithRoster(t, "george.demo")
	desk.Send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	desk.Expect("carbons on", xmpptest.IQ("c1"))
	phone.Send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	en := phone.Expect("enabled", func(n xmpptest.Node) bool { return n.XMLName.Local == "enabled" })

	v := r.startChat(t, "Ann", "Support", "Refund for order 99")
	phone.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
	phone.Send(chatMsg(v.JID, "y"))
	phone.Expect("details", xmpptest.Message(v.JID, "You are chatting with Ann"))
	phone.Send(chatMsg(v.JID, "Let me look at order 99"))
	desk.Expect("sent carbon", func(n xmpptest.Node) bool {
		m := n.Find("sent/forwarded/message")
		return len(m) == 1 && m[0].Body() == "Let me look at order 99"
	})
	v.expect("agent text", func(ev bridge.Event) bool { return ev.Text == "Let me look at order 99" })

	// The network goes; the server has not noticed yet when the visitor writes.
	phone.Raw.Close()
	h := phone.Handled()
	for i := 1; i <= 3; i++ {
		v.say(fmt.Sprintf("visitor line %d", i))
	}
	// The desktop sees them at once.
	for i := 1; i <= 3; i++ {
		desk.Expect("on the desktop", xmpptest.Message(v.JID, fmt.Sprintf("visitor line %d", i)))
	}
	// The phone comes back and resumes, acknowledging nothing new.
	back := xmpptest.MustDial(t, r.sameNodeStartTLS(), "demo|george.demo@localhost", r.passwords["george.demo"],
		xmpptest.Options{ResumeID: en.Attr("id"), ResumeH: h})
	var got []string
	for i := 1; i <= 3; i++ {
		m := back.Expect("after resuming", xmpptest.Message(v.JID, "visitor line"))
		got = append(got, m.Body())
	}
	if strings.Join(got, "|") != "visitor line 1|visitor line 2|visitor line 3" {
		t.Fatalf("after resuming: %v", got)
	}
	if _, ok := back.Wait(300*time.Millisecond, xmpptest.Message(v.JID, "visitor line")); ok {
		t.Fatal("a visitor message came twice")
	}
	back.Send(chatMsg(v.JID, "Refund done"))
	v.expect("after resuming, the agent's words", func(ev bridge.Event) bool { return ev.Text == "Refund done" })
}

// An agent uploads a picture (XEP-0363) and sends its URL to the
// visitor; anyone can fetch it.
func TestUploadAndSendToVisitor(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	george.Send("<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	items := george.Expect("disco items", xmpptest.IQ("d1"))
	if len(items.Find("query/item")) != 1 || items.Find("query/item")[0].Attr("jid") != "upload.localhost" {
		t.Fatalf("no upload service: %+v", items)
	}
	png := []byte("\x89PNG\r\n\x1a\nnot really a picture")
	url := upload(t, george, "photo of parcel.png", "image/png", png)
	if data, ct := fetch(t, url); !bytes.Equal(data, png) || ct != "image/png" {
		t.Fatalf("GET: %s %q", ct, data)
	}
	// Too big: refused with the limit.
	george.Send("<iq type='get' id='u2' to='upload.localhost'><request xmlns='urn:xmpp:http:upload:0' filename='huge.bin' size='999999999999' content-type='application/octet-stream'/></iq>")
	if e := george.Expect("too big", xmpptest.IQ("u2")); len(e.Find("error/file-too-large/max-file-size")) != 1 {
		t.Fatalf("oversize answered %+v", e)
	}
	v := r.startChat(t, "Bea", "Support", "Damaged parcel")
	george.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
	george.Send(chatMsg(v.JID, "y"))
	// Shared the way Conversations does: the address as the body and as
	// out-of-band data. The visitor gets the file.
	george.Send(shareFile(v.JID, url))
	v.expect("the picture", func(ev bridge.Event) bool {
		return ev.Type == "message" && len(ev.Files) == 1 && ev.Files[0].URL == url && ev.Files[0].Name == "photo of parcel.png" &&
			ev.Files[0].MIME == "image/png" && ev.Text == "Image: photo of parcel.png "+url
	})
}
