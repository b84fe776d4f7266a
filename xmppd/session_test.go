package xmppd

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

func rosterOf(n xmpptest.Node) map[string]string {
	items := map[string]string{}
	for _, it := range n.Find("query/item") {
		group, _ := it.Child("group")
		items[it.Attr("jid")] = it.Attr("name") + "|" + group.Text + "|" + it.Attr("subscription")
	}
	return items
}

func TestRosterIsManagedAndVersioned(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", false)
	fiona.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>")
	res := fiona.Expect("roster", xmpptest.IQ("r1"))
	got := rosterOf(res)
	want := map[string]string{
		jidOf("george.w"):          "George|Colleagues|both",
		"acme|board@" + testDomain: "Message board|Desk|both",
		"acme|desk@" + testDomain:  "Desk|Desk|both",
	}
	if len(got) != len(want) {
		t.Fatalf("roster %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("item %s = %q, want %q", k, got[k], v)
		}
	}
	q, _ := res.Child("query")
	ver := q.Attr("ver")
	if ver == "" {
		t.Fatal("no roster version")
	}
	// A client with the current version gets an empty result.
	fiona.Send("<iq type='get' id='r2'><query xmlns='jabber:iq:roster' ver='" + ver + "'/></iq>")
	if res := fiona.Expect("roster result", xmpptest.IQ("r2")); len(res.Nodes) != 0 || res.Attr("type") != "result" {
		t.Fatalf("roster with current version: %+v", res)
	}
	// Roster sets are refused.
	fiona.Send("<iq type='set' id='r3'><query xmlns='jabber:iq:roster'><item jid='" + jidOf("george.w") + "' name='Georgie'/></query></iq>")
	res = fiona.Expect("roster set error", xmpptest.IQ("r3"))
	if e, _ := res.Child("error"); res.Attr("type") != "error" || len(e.Find("not-allowed")) != 1 {
		t.Fatalf("roster set answered %+v", res)
	}
}

func TestRosterPushWhenAgentsChange(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	fiona := env.login("fiona.b", "phone", true)
	fiona.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
	fiona.Expect("roster", xmpptest.IQ("r1"))
	george := env.login("george.w", "desk", true)

	// Added with the store (as the CLI does), then announced.
	if _, err := env.st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: "irene.k", DisplayName: "Irene",
		Email: "irene@acme.example", Password: testPassword}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.AgentsChanged(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	push := fiona.Expect("roster push for the new agent", func(n xmpptest.Node) bool {
		return n.XMLName.Local == "iq" && n.Attr("type") == "set" && rosterOf(n)[jidOf("irene.k")] == "Irene|Colleagues|both"
	})
	if q, _ := push.Child("query"); q.Attr("ver") == "" {
		t.Error("push without a roster version")
	}

	// Removing an agent pushes a removal and ends their session.
	if err := env.st.RemoveAgent(ctx, "acme", "george.w", "test"); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.AgentsChanged(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	fiona.Expect("roster removal", func(n xmpptest.Node) bool {
		return n.XMLName.Local == "iq" && strings.HasSuffix(rosterOf(n)[jidOf("george.w")], "|remove")
	})
	fiona.Expect("george goes offline", xmpptest.Presence(jidOf("george.w"), "unavailable"))
	err, ok := george.Closed(10 * time.Second)
	if !ok || err == nil || !strings.Contains(err.Error(), "not-authorized") {
		t.Fatalf("removed agent's session: closed=%v err=%v", ok, err)
	}
}

func TestPresenceBetweenColleagues(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	george := env.login("george.w", "desk", true)
	fiona := env.login("fiona.b", "phone", false)
	fiona.Send("<presence><show>dnd</show><status>On a call</status></presence>")
	p := george.Expect("fiona's presence", xmpptest.Presence(jidOf("fiona.b")+"/phone", ""))
	if show, _ := p.Child("show"); show.Text != "dnd" {
		t.Fatalf("presence %+v", p)
	}
	// Initial presence brought fiona george's presence and the desk contacts.
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/desk", ""))
	fiona.Expect("board presence", xmpptest.Presence("acme|board@", ""))
	fiona.Expect("desk presence", xmpptest.Presence("acme|desk@", ""))
	testwait.For(t, "fiona busy", func() bool { return env.srv.Availability("acme", "fiona.b") == Busy })
	if a := env.srv.Availability("acme", "george.w"); a != Online {
		t.Fatalf("george is %v", a)
	}

	// A probe is answered with the current presence.
	george.Send("<presence type='probe' to='" + jidOf("fiona.b") + "'/>")
	george.Expect("probe answer", xmpptest.Presence(jidOf("fiona.b")+"/phone", ""))

	// Hank of another portal sees none of it.
	hank := xmpptest.MustDial(t, env.startTLS, "globex|hank.s@"+testDomain, testPassword, xmpptest.Options{})
	hank.Send("<presence/>")
	hank.Expect("own presence", xmpptest.Presence("globex|hank.s@", ""))
	if n, ok := hank.Wait(200*time.Millisecond, xmpptest.Presence("acme|", "")); ok {
		t.Fatalf("presence crossed portals: %+v", n)
	}

	fiona.Close()
	george.Expect("fiona offline", xmpptest.Presence(jidOf("fiona.b")+"/phone", "unavailable"))
	testwait.For(t, "fiona offline", func() bool { return env.srv.Availability("acme", "fiona.b") == Offline })
}

func TestMessageToBareJIDReachesEveryResource(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	phone := env.login("george.w", "phone", true)
	desktop := env.login("george.w", "desktop", true)
	fiona := env.login("fiona.b", "laptop", true)
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "' id='m1'><body>Lunch?</body></message>")
	for _, c := range []*xmpptest.Client{phone, desktop} {
		m := c.Expect("message", xmpptest.Message(jidOf("fiona.b")+"/laptop", "Lunch?"))
		if m.Attr("to") != jidOf("george.w") {
			t.Errorf("to %q", m.Attr("to"))
		}
	}
	// To a full JID: only that resource.
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "/desktop'><body>Only here</body></message>")
	desktop.Expect("message", xmpptest.Message(jidOf("fiona.b"), "Only here"))
	if _, ok := phone.Wait(200*time.Millisecond, xmpptest.Message(jidOf("fiona.b"), "Only here")); ok {
		t.Fatal("full-JID message reached another resource")
	}
}

func TestMessageErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	for i, to := range []string{
		jidOf("nobody.here"),          // no such agent
		"globex|hank.s@" + testDomain, // another portal
		"acme|v-1@" + testDomain,      // no such visitor chat
	} {
		id := "e" + string(rune('0'+i))
		fiona.Send("<message type='chat' id='" + id + "' to='" + to + "'><body>hello</body></message>")
		res := fiona.Expect("error for "+to, func(n xmpptest.Node) bool { return n.Attr("id") == id })
		e, _ := res.Child("error")
		if res.Attr("type") != "error" || (len(e.Find("service-unavailable")) == 0 && len(e.Find("item-not-found")) == 0) {
			t.Errorf("%s: got %+v", to, res)
		}
	}
}

func TestStanzaClaimingAnotherSenderEndsStream(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	fiona.Send("<message to='" + jidOf("fiona.b") + "' from='" + jidOf("george.w") + "'><body>spoof</body></message>")
	err, ok := fiona.Closed(10 * time.Second)
	if !ok || err == nil || !strings.Contains(err.Error(), "invalid-from") {
		t.Fatalf("closed=%v err=%v", ok, err)
	}
}

func TestOversizeStanzaIsPolicyViolation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) { c.Limits.StanzaSize = 16 << 10 })
	fiona := env.login("fiona.b", "phone", true)
	george := env.login("george.w", "desk", true)
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><body>" + strings.Repeat("x", 64<<10) + "</body></message>")
	err, ok := fiona.Closed(10 * time.Second)
	if !ok || err == nil || !strings.Contains(err.Error(), "policy-violation") {
		t.Fatalf("closed=%v err=%v", ok, err)
	}
	// The server goes on.
	george.Send("<iq type='get' id='p1' to='" + testDomain + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	george.Expect("ping result", xmpptest.IQ("p1"))
}

func TestSameResourceReplacesOldSession(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	first := env.login("fiona.b", "phone", true)
	second := env.login("fiona.b", "phone", true)
	err, ok := first.Closed(10 * time.Second)
	if !ok || err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("old session: closed=%v err=%v", ok, err)
	}
	second.Send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	second.Expect("ping", xmpptest.IQ("p1"))
	if n := env.srv.Stats().Sessions; n != 1 {
		t.Fatalf("%d sessions", n)
	}
}

func TestServerIQs(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", false)
	fiona.Send("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
	if res := fiona.Expect("session result", xmpptest.IQ("s1")); res.Attr("type") != "result" {
		t.Fatalf("session: %+v", res)
	}
	fiona.Send("<iq type='get' id='d1' to='" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	res := fiona.Expect("disco#info", xmpptest.IQ("d1"))
	var features []string
	for _, f := range res.Find("query/feature") {
		features = append(features, f.Attr("var"))
	}
	sort.Strings(features)
	joined := strings.Join(features, " ")
	for _, f := range []string{"urn:xmpp:ping", "http://jabber.org/protocol/disco#items", "jabber:iq:version"} {
		if !strings.Contains(joined, f) {
			t.Errorf("disco#info lacks %s: %s", f, joined)
		}
	}
	fiona.Send("<iq type='get' id='x1' to='" + testDomain + "'><query xmlns='urn:example:unknown'/></iq>")
	if res := fiona.Expect("unknown IQ", xmpptest.IQ("x1")); len(res.Find("error/service-unavailable")) != 1 {
		t.Fatalf("unknown IQ answered %+v", res)
	}
	fiona.Send("<iq type='get' id='v1' to='acme|desk@" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if res := fiona.Expect("desk disco", xmpptest.IQ("v1")); len(res.Find("query/identity")) != 1 {
		t.Fatalf("desk disco answered %+v", res)
	}
}

func TestMessageBoard(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	george := env.login("george.w", "desk", true)
	board := "acme|board@" + testDomain
	fiona.Send("<message type='chat' to='" + board + "'><body>Printer is fixed</body></message>")
	george.Expect("board post", xmpptest.Message(board, "[Fiona] Printer is fixed"))
	if _, ok := fiona.Wait(200*time.Millisecond, xmpptest.Message(board, "Printer")); ok {
		t.Fatal("the sender got their own post")
	}
	george.Send("<message type='chat' to='" + board + "'><body>#h</body></message>")
	george.Expect("board history", xmpptest.Message(board, "Printer is fixed"))
	posts, err := env.st.BoardPosts(context.Background(), "acme", 10)
	if err != nil || len(posts) != 1 || posts[0].Author != "fiona.b" {
		t.Fatalf("stored posts %+v %v", posts, err)
	}
}

func TestShutdownSendsSystemShutdown(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	err, ok := fiona.Closed(5 * time.Second)
	if !ok || err == nil || !strings.Contains(err.Error(), "system-shutdown") {
		t.Fatalf("closed=%v err=%v", ok, err)
	}
}

// Stanzas for other domains (a group chat join, say) are answered at once
// with remote-server-not-found (RFC 6120 §8.3.3.15): the client does not
// wait for a time-out.
func TestOtherDomainsAnswerRemoteServerNotFound(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	fiona.Send("<presence id='j1' to='room@conference.example.org/Fiona'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	fiona.Send("<message id='m1' type='chat' to='someone@example.org'><body>hi</body></message>")
	fiona.Send("<iq id='i1' type='get' to='example.org'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	for _, tc := range []struct{ kind, id string }{{"presence", "j1"}, {"message", "m1"}, {"iq", "i1"}} {
		e := fiona.Expect(tc.kind+" error", func(n xmpptest.Node) bool {
			return n.XMLName.Local == tc.kind && n.Attr("id") == tc.id && n.Attr("type") == "error"
		})
		if len(e.Find("error/remote-server-not-found")) != 1 {
			t.Errorf("%s answered %+v", tc.kind, e)
		}
	}
}

// The server lists ad-hoc commands (XEP-0050) and points to the Desk's.
func TestServerListsTheDeskCommands(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	c := env.login("fiona.b", "phone", true)
	c.Send("<iq type='get' id='d1' to='" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	info := c.Expect("disco#info", xmpptest.IQ("d1"))
	found := false
	for _, f := range info.Find("query/feature") {
		found = found || f.Attr("var") == "http://jabber.org/protocol/commands"
	}
	if !found {
		t.Fatalf("disco#info without commands: %+v", info)
	}
	c.Send("<iq type='get' id='d2' to='" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>")
	items := c.Expect("command list", xmpptest.IQ("d2")).Find("query/item")
	if len(items) == 0 || items[0].Attr("jid") != "acme|desk@"+testDomain {
		t.Fatalf("commands on the server: %+v", items)
	}
}

// Board posts made while an agent was offline arrive at the next
// sign-in, with their times, once.
func TestBoardPostsReachAgentsWhoWereOffline(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	board := "acme|board@" + testDomain
	george := env.login("george.w", "desk", true)
	george.Send("<presence type='unavailable'/>")
	testwait.For(t, "george offline", func() bool { return env.srv.Availability("acme", "george.w") == Offline })
	george.Close()
	fiona := env.login("fiona.b", "phone", true)
	fiona.Send("<message type='chat' to='" + board + "'><body>Printer is fixed</body></message>")
	fiona.Send("<message type='chat' to='" + board + "'><body>Lunch at noon</body></message>")
	testwait.For(t, "two posts", func() bool { p, _ := env.st.BoardPosts(t.Context(), "acme", 10); return len(p) == 2 })

	back := env.login("george.w", "laptop", true)
	for _, want := range []string{"[Fiona] Printer is fixed", "[Fiona] Lunch at noon"} {
		m := back.Expect(want, xmpptest.Message(board, want))
		if d, ok := m.Child("delay"); !ok || d.Attr("stamp") == "" {
			t.Errorf("%q without its time: %+v", want, m)
		}
	}
	// The poster does not get their own; a second resource signing in
	// while the agent is online gets nothing again.
	if _, ok := fiona.Wait(200*time.Millisecond, xmpptest.Message(board, "Lunch")); ok {
		t.Error("the poster got their own post")
	}
	second := env.login("george.w", "phone", true)
	if _, ok := second.Wait(300*time.Millisecond, xmpptest.Message(board, "Printer")); ok {
		t.Error("a second resource got the posts again")
	}
}
