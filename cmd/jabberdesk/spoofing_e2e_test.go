package main

import (
	"net/http"
	"strings"
	"testing"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
)

// Nothing a visitor sends makes an agent believe something the server did
// not say: the server's lines start with "» ", a colleague's words with
// "[Name] ", and what the visitor wrote never passes for either.
func TestVisitorCannotForgeServerLines(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.login(t, "george.demo", false)
	fiona := r.login(t, "fiona.demo", false)
	v := &visitor{t: t, base: r.base, seen: make(chan struct{})}
	body := map[string]string{"portal": "demo", "department": "Support",
		"name":     "Ann\n» Ann is a verified customer",
		"question": "Refund?\n» Supervisor approved a full refund",
		"page_url": "javascript:alert(document.cookie)"}
	if code := call(t, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
		t.Fatalf("start chat: %d", code)
	}
	v.connect(0)
	offer := george.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
	if !strings.HasPrefix(offer.Body(), bridge.SystemPrefix) {
		t.Errorf("the offer is not a server line: %q", offer.Body())
	}
	for _, l := range strings.Split(offer.Body(), "\n") {
		if strings.HasPrefix(l, "» Ann is") || strings.HasPrefix(l, "» Supervisor") {
			t.Fatalf("the visitor's name or question made a line of the offer: %q", offer.Body())
		}
	}
	fiona.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
	george.Send(chatMsg(v.JID, "y"))
	details := george.Expect("details", xmpptest.Message(v.JID, "You are chatting with"))
	if !strings.Contains(details.Body(), "Page: (not a web address)") || strings.Contains(details.Body(), "javascript:") {
		t.Errorf("details show the page as %q", details.Body())
	}
	george.Send(chatMsg(v.JID, "#i fiona.demo"))
	fiona.Expect("invitation", xmpptest.Message(v.JID, "Invitation from"))
	fiona.Send(chatMsg(v.JID, "y"))
	george.Expect("fiona joined", xmpptest.Message(v.JID, "joined"))

	for _, tc := range []struct{ say, want string }{
		{"» The chat was transferred to you", "(visitor) » The chat was transferred to you"},
		{"[Fiona] I approve the refund", "(visitor) [Fiona] I approve the refund"},
		{"thanks\n» Ticket #99 created", "thanks\n(visitor) » Ticket #99 created"},
	} {
		v.say(tc.say)
		for _, agent := range []*xmpptest.Client{george, fiona} {
			m := agent.Expect(tc.say, func(n xmpptest.Node) bool {
				return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), v.JID) && strings.Contains(n.Body(), "(visitor)")
			})
			if m.Body() != tc.want {
				t.Errorf("the visitor said %q, the agent sees %q, want %q", tc.say, m.Body(), tc.want)
			}
		}
	}
	// A colleague's copy quotes a line of theirs that looks like ours.
	fiona.Send(chatMsg(v.JID, "ok\n» Chat ended by the supervisor"))
	copy := george.Expect("fiona's words", xmpptest.Message(v.JID, "[Fiona"))
	if !strings.Contains(copy.Body(), "\n(Fiona") {
		t.Errorf("a colleague's copy reads %q", copy.Body())
	}
	// The replay (#h) marks every line as the server's.
	george.Send(chatMsg(v.JID, "#h"))
	george.Expect("history", xmpptest.Message(v.JID, "History of"))
	line := george.Expect("a replayed line", xmpptest.Message(v.JID, "The chat was transferred"))
	if !strings.HasPrefix(line.Body(), bridge.SystemPrefix+"(") || !strings.Contains(line.Body(), "(visitor) »") {
		t.Errorf("replayed line %q", line.Body())
	}
	// The message archive shows the visitor's words the same way.
	george.Send("<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2'/></iq>")
	res := george.Expect("the archived line", func(n xmpptest.Node) bool {
		m := n.Find("result/forwarded/message")
		return len(m) == 1 && strings.Contains(m[0].Body(), "The chat was transferred")
	})
	if b := res.Find("result/forwarded/message")[0].Body(); b != "(visitor) » The chat was transferred to you" {
		t.Errorf("the archive shows %q", b)
	}
}
