package xmppd

import (
	"testing"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
)

// A file from a visitor contact carries its address twice: as the body
// and as XEP-0066 out-of-band data, which clients show inline; also when
// the agent gets it later from offline storage.
func TestVisitorFileHasOutOfBandData(t *testing.T) {
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	const url = "https://chat.example.test/upload/abcdefghijklmnopqrstuvwxyz234567/photo%201.png"
	m := bridge.Message{From: "v-1001", Body: url, Attachment: &bridge.File{URL: url, Name: "photo 1.png", MIME: "image/png"}}
	if !env.srv.Message("acme", "fiona.b", m) {
		t.Fatal("not delivered to an available agent")
	}
	check := func(got xmpptest.Node) {
		t.Helper()
		urls, descs := got.Find("x/url"), got.Find("x/desc")
		if len(urls) != 1 || urls[0].Text != url || urls[0].XMLName.Space != nsOOB || len(descs) != 1 || descs[0].Text != "photo 1.png" {
			t.Errorf("no out-of-band data: %+v", got)
		}
	}
	check(fiona.Expect("the file", xmpptest.Message("acme|v-1001@"+testDomain, url)))
	fiona.Close()

	// Plain text has none.
	env.srv.Message("acme", "george.w", bridge.Message{From: "v-1001", Body: "hello"})
	env.srv.Message("acme", "george.w", m)
	george := env.login("george.w", "desk", true)
	if got := george.Expect("text", xmpptest.Message("acme|v-1001@"+testDomain, "hello")); len(got.Find("x")) != 0 {
		t.Errorf("text with out-of-band data: %+v", got)
	}
	check(george.Expect("the file, offline", xmpptest.Message("acme|v-1001@"+testDomain, url)))
}

// An agent's file to a visitor is its address, whether the client puts
// it in the body, in out-of-band data, or both.
func TestWithOOB(t *testing.T) {
	const url = "https://chat.example.test/upload/x/a.png"
	msg := func(body, oob string) *Element {
		el := NewElement(nsClient, "message")
		if body != "" {
			el.Add(NewElement(nsClient, "body").AddText(body))
		}
		if oob != "" {
			el.Add(NewElement(nsOOB, "x").Add(NewElement(nsOOB, "url").AddText(oob)))
		}
		return el
	}
	for _, tc := range []struct{ body, oob, want string }{
		{url, url, url},
		{"", url, url},
		{url, "", url},
		{"look", url, "look\n" + url},
		{"look at " + url, url, "look at " + url},
		{"hello", "", "hello"},
		{"hello", " ", "hello"},
	} {
		el := msg(tc.body, tc.oob)
		if got := withOOB(el, el.ChildText(nsClient, "body")); got != tc.want {
			t.Errorf("withOOB(%q, %q) = %q, want %q", tc.body, tc.oob, got, tc.want)
		}
	}
}
