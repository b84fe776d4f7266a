package xmppd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

func withResume(d time.Duration) func(*Config) {
	return func(c *Config) { c.Limits.ResumeTimeout = d }
}

// enableSM turns on stream management with resumption and returns the
// stream id.
func enableSM(t *testing.T, c *xmpptest.Client) string {
	t.Helper()
	c.Send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	en := c.Expect("<enabled/>", func(n xmpptest.Node) bool { return n.XMLName.Local == "enabled" })
	if en.Attr("resume") != "true" || en.Attr("id") == "" {
		t.Fatalf("enabled %+v", en)
	}
	return en.Attr("id")
}

func bodies(c *xmpptest.Client, from string, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		m := c.Expect(fmt.Sprintf("message %d", i+1), func(n xmpptest.Node) bool {
			return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), from) && n.Body() != ""
		})
		out = append(out, m.Body())
	}
	return out
}

func TestStreamResumptionDeliversEverythingOnce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withResume(30*time.Second))
	fiona := env.login("fiona.b", "laptop", true)
	george := env.login("george.w", "phone", true)
	id := enableSM(t, george)
	for i := 1; i <= 3; i++ {
		fiona.Send(fmt.Sprintf("<message type='chat' to='%s'><body>m%d</body></message>", jidOf("george.w"), i))
	}
	if got := strings.Join(bodies(george, jidOf("fiona.b"), 3), ","); got != "m1,m2,m3" {
		t.Fatalf("before the drop: %s", got)
	}
	// The phone loses its network: no stream close, no <a/>.
	george.Raw.Close()
	testwait.For(t, "the session to hibernate", func() bool {
		s := env.srv.router.session(jidOf("george.w"), jidOf("george.w")+"/phone")
		return s != nil && s.current() == nil
	})
	for i := 4; i <= 5; i++ {
		fiona.Send(fmt.Sprintf("<message type='chat' to='%s'><body>m%d</body></message>", jidOf("george.w"), i))
	}
	// The agent stays online for colleagues meanwhile.
	if _, ok := fiona.Wait(200*time.Millisecond, xmpptest.Presence(jidOf("george.w"), "unavailable")); ok {
		t.Fatal("a hibernating session went offline")
	}
	if a := env.srv.Availability("acme", "george.w"); a != Online {
		t.Fatalf("hibernating agent is %v", a)
	}
	// The client had handled only m1 and m2 (and the presences before):
	// count what the session sent up to m2.
	george2 := xmpptest.MustDial(t, env.startTLS, jidOf("george.w"), testPassword, xmpptest.Options{ResumeID: id, ResumeH: sentUpTo(t, env, "george.w", "m2")})
	got := bodies(george2, jidOf("fiona.b"), 3)
	if strings.Join(got, ",") != "m3,m4,m5" {
		t.Fatalf("after resuming: %v, want m3,m4,m5", got)
	}
	if _, ok := george2.Wait(300*time.Millisecond, xmpptest.Message(jidOf("fiona.b"), "m")); ok {
		t.Fatal("a message came twice")
	}
	// The resumed session answers as the same resource.
	george2.Send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	if res := george2.Expect("ping", xmpptest.IQ("p1")); res.Attr("to") != jidOf("george.w")+"/phone" {
		t.Fatalf("resumed session is %q", res.Attr("to"))
	}
	// Resuming again with a stale id is refused.
	if _, err := xmpptest.Dial(t.Context(), env.startTLS, jidOf("george.w"), testPassword, xmpptest.Options{ResumeID: "nope", ResumeH: 0}); err == nil {
		t.Fatal("an unknown stream id was resumed")
	}
}

// sentUpTo is the sequence number of the stanza carrying body (the h a
// client that handled everything up to it would send).
func sentUpTo(t *testing.T, env *testEnv, user, body string) uint32 {
	t.Helper()
	var seq uint32
	for _, s := range env.srv.router.sessions(jidOf(user)) {
		s.mu.Lock()
		for _, h := range s.sm.unacked {
			if h.el != nil && h.el.ChildText(nsClient, "body") == body {
				seq = h.seq
			}
		}
		s.mu.Unlock()
	}
	if seq == 0 {
		t.Fatalf("no unacknowledged stanza with body %q", body)
	}
	return seq
}

func TestNotResumedGoesToOfflineStorage(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withResume(300*time.Millisecond))
	fiona := env.login("fiona.b", "laptop", true)
	george := env.login("george.w", "phone", true)
	enableSM(t, george)
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><body>in flight</body></message>")
	george.Expect("message", xmpptest.Message(jidOf("fiona.b"), "in flight"))
	george.Raw.Close() // never acknowledged
	fiona.Expect("george goes offline after the resume timeout", xmpptest.Presence(jidOf("george.w")+"/phone", "unavailable"))
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><body>while away</body></message>")
	testwait.For(t, "two offline messages", func() bool {
		n, _ := env.st.OfflineCount(t.Context(), "acme", "george.w")
		return n == 2
	})
	back := env.login("george.w", "desk", true)
	for _, want := range []string{"in flight", "while away"} {
		m := back.Expect(want, xmpptest.Message(jidOf("fiona.b"), want))
		if d, ok := m.Child("delay"); !ok || d.Attr("stamp") == "" {
			t.Errorf("%q has no delay stamp: %+v", want, m)
		}
	}
	testwait.For(t, "the delivered offline messages to be deleted", func() bool {
		n, _ := env.st.OfflineCount(t.Context(), "acme", "george.w")
		return n == 0
	})
}

func TestAcknowledgements(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withResume(time.Minute))
	fiona := env.login("fiona.b", "laptop", true)
	george := env.login("george.w", "phone", true)
	enableSM(t, george)
	george.Send("<r xmlns='urn:xmpp:sm:3'/>")
	if a := george.Expect("<a/>", func(n xmpptest.Node) bool { return n.XMLName.Local == "a" }); a.Attr("h") != "0" {
		t.Fatalf("h=%s after no stanzas", a.Attr("h"))
	}
	george.Send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	george.Expect("ping", xmpptest.IQ("p1"))
	george.Send("<r xmlns='urn:xmpp:sm:3'/>")
	if a := george.Expect("<a/>", func(n xmpptest.Node) bool { return n.XMLName.Local == "a" }); a.Attr("h") != "1" {
		t.Fatalf("h=%s after one stanza", a.Attr("h"))
	}
	// The server asks for acknowledgements as it sends.
	for i := 0; i < ackEvery; i++ {
		fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><body>x</body></message>")
	}
	bodies(george, jidOf("fiona.b"), ackEvery)
	george.Expect("<r/>", func(n xmpptest.Node) bool { return n.XMLName.Local == "r" })
	george.Send(fmt.Sprintf("<a xmlns='urn:xmpp:sm:3' h='%d'/>", 1000))
	testwait.For(t, "the acknowledged stanzas to be dropped", func() bool {
		s := env.srv.router.sessions(jidOf("george.w"))[0]
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.sm.unacked) == 0
	})
}

func TestCarbonsCopyToTheOtherResource(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "laptop", true)
	phone := env.login("george.w", "phone", true)
	desk := env.login("george.w", "desktop", true)
	desk.Send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	desk.Expect("carbons on", xmpptest.IQ("c1"))

	phone.Send("<message type='chat' to='" + jidOf("fiona.b") + "'><body>from my phone</body></message>")
	fiona.Expect("message", xmpptest.Message(jidOf("george.w"), "from my phone"))
	sent := desk.Expect("sent carbon", func(n xmpptest.Node) bool {
		return len(n.Find("sent/forwarded/message")) == 1 && n.Find("sent/forwarded/message")[0].Body() == "from my phone"
	})
	// mellium's client shows its own bare JID as an empty from.
	if f := sent.Attr("from"); f != jidOf("george.w") && f != "" {
		t.Errorf("carbon from %q", f)
	}
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "/phone'><body>to the phone only</body></message>")
	phone.Expect("direct message", xmpptest.Message(jidOf("fiona.b"), "to the phone only"))
	desk.Expect("received carbon", func(n xmpptest.Node) bool {
		m := n.Find("received/forwarded/message")
		return len(m) == 1 && m[0].Body() == "to the phone only"
	})
	// The phone did not enable carbons: it gets no copies of the desktop's.
	desk.Send("<message type='chat' to='" + jidOf("fiona.b") + "'><body>from the desk</body></message>")
	fiona.Expect("message", xmpptest.Message(jidOf("george.w"), "from the desk"))
	if _, ok := phone.Wait(200*time.Millisecond, func(n xmpptest.Node) bool { _, ok := n.Child("sent"); return ok }); ok {
		t.Fatal("carbon to a resource that did not enable them")
	}
	// A client cannot forge a carbon.
	phone.Send("<message id='f1' type='chat' to='" + jidOf("fiona.b") + "'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='" + jidOf("fiona.b") + "' type='chat'><body>forged</body></message></forwarded></sent></message>")
	if res := phone.Expect("refusal", func(n xmpptest.Node) bool { return n.Attr("id") == "f1" }); len(res.Find("error/forbidden")) != 1 {
		t.Fatalf("forged carbon answered %+v", res)
	}
}

func TestClientStateIndicationHoldsAndFlushes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "laptop", true)
	george := env.login("george.w", "phone", true)
	george.Expect("fiona's presence", xmpptest.Presence(jidOf("fiona.b"), ""))
	george.Send("<inactive xmlns='urn:xmpp:csi:0'/>")
	george.Send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
	george.Expect("in order", xmpptest.IQ("sync"))
	fiona.Send("<presence><show>away</show></presence>")
	fiona.Send("<presence><show>dnd</show></presence>")
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	if n, ok := george.Wait(300*time.Millisecond, func(n xmpptest.Node) bool { return strings.HasPrefix(n.Attr("from"), jidOf("fiona.b")) }); ok {
		t.Fatalf("an inactive client got %+v", n)
	}
	// A message with a body goes through at once, after what was held.
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><body>urgent</body></message>")
	p := george.Expect("the newest presence only", xmpptest.Presence(jidOf("fiona.b"), ""))
	if show, _ := p.Child("show"); show.Text != "dnd" {
		t.Fatalf("held presence %q, want only the newest (dnd)", show.Text)
	}
	george.Expect("the message", xmpptest.Message(jidOf("fiona.b"), "urgent"))
	george.Send("<active xmlns='urn:xmpp:csi:0'/>")
	fiona.Send("<presence/>")
	george.Expect("presence while active", xmpptest.Presence(jidOf("fiona.b"), ""))
}

func TestOfflineMessagesWithDelay(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "laptop", true)
	fiona.Send("<message type='chat' id='o1' to='" + jidOf("george.w") + "'><body>see this later</body></message>")
	if _, ok := fiona.Wait(300*time.Millisecond, func(n xmpptest.Node) bool { return n.Attr("id") == "o1" }); ok {
		t.Fatal("a message to an offline agent was refused")
	}
	george := env.login("george.w", "phone", true)
	m := george.Expect("offline message", xmpptest.Message(jidOf("fiona.b"), "see this later"))
	d, ok := m.Child("delay")
	if !ok || d.Attr("from") != testDomain {
		t.Fatalf("no delay stamp: %+v", m)
	}
	if _, err := time.Parse(time.RFC3339, d.Attr("stamp")); err != nil {
		t.Fatalf("stamp %q: %v", d.Attr("stamp"), err)
	}
}

func TestServerPingsIdleClientsAndDropsDeadOnes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) { c.Limits.PingInterval = 300 * time.Millisecond })
	alive := env.login("fiona.b", "laptop", true)
	alive.Expect("a ping", func(n xmpptest.Node) bool { return len(n.Find("ping")) == 1 && n.Attr("type") == "get" })
	xmpptest.MustDial(t, env.startTLS, jidOf("george.w")+"/phone", testPassword, xmpptest.Options{Silent: true})
	testwait.For(t, "the silent client to be dropped", func() bool {
		return env.srv.router.session(jidOf("george.w"), jidOf("george.w")+"/phone") == nil
	})
	alive.Send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	alive.Expect("still connected", xmpptest.IQ("p1"))
}

// A message stored offline after its recipient's session went available,
// and so after that session looked for offline messages, is delivered at
// once, not at the agent's next sign-in.
func TestOfflineMessageStoredAsAgentGoesAvailable(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	george := env.login("george.w", "phone", true)
	el := parseStored([]byte("<message xmlns='jabber:client' type='chat' from='" + jidOf("fiona.b") + "/laptop' to='" +
		jidOf("george.w") + "'><body>stored late</body></message>"))
	if err := env.srv.storeOffline("acme", "george.w", el); err != nil {
		t.Fatal(err)
	}
	env.srv.redeliverOffline(env.srv.agentBare("acme", "george.w"))
	george.Expect("the late offline message", xmpptest.Message(jidOf("fiona.b"), "stored late"))
	testwait.For(t, "the delivered offline message to be deleted", func() bool {
		n, _ := env.st.OfflineCount(t.Context(), "acme", "george.w")
		return n == 0
	})
}

// Messages that race an agent's initial presence all arrive in that
// session, whether they were routed live or kept offline.
func TestMessagesRacingInitialPresenceAllArrive(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "laptop", true)
	const rounds, burst = 10, 40
	for r := range rounds {
		george := env.login("george.w", fmt.Sprintf("r%d", r), false)
		go func() {
			for i := range burst {
				fiona.Send(fmt.Sprintf("<message type='chat' to='%s'><body>r%d m%d</body></message>", jidOf("george.w"), r, i))
			}
		}()
		george.Send("<presence/>")
		got := map[string]bool{}
		for len(got) < burst {
			m := george.Expect(fmt.Sprintf("round %d: message %d of %d", r, len(got)+1, burst), func(n xmpptest.Node) bool {
				return n.XMLName.Local == "message" && strings.HasPrefix(n.Body(), fmt.Sprintf("r%d ", r))
			})
			got[m.Body()] = true
		}
		testwait.For(t, "no message left offline", func() bool {
			n, _ := env.st.OfflineCount(t.Context(), "acme", "george.w")
			return n == 0
		})
		george.Raw.Close()
		fiona.Expect("george's resource goes", xmpptest.Presence(jidOf("george.w")+fmt.Sprintf("/r%d", r), "unavailable"))
	}
}

// A limit broken on a resumable stream ends the session for good, with
// its stream error: the session does not wait to be resumed.
func TestLimitViolationEndsResumableSession(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withResume(5*time.Minute), func(c *Config) { c.Limits.StanzaSize = 16 << 10 })
	for _, tc := range []struct{ name, send, cond string }{
		{"too big", "<message type='chat' to='" + jidOf("fiona.b") + "'><body>" + strings.Repeat("x", 64<<10) + "</body></message>", "policy-violation"},
		{"too deep", "<message type='chat'>" + strings.Repeat("<x xmlns='urn:example'>", 100) + strings.Repeat("</x>", 100) + "</message>", "policy-violation"},
		{"DOCTYPE", "<!DOCTYPE message>", "restricted-xml"},
		{"not well-formed", "<message><body>a</bodyy></message>", "not-well-formed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			george := env.login("george.w", "phone", true)
			id := enableSM(t, george)
			george.SendRaw(tc.send)
			err, ok := george.Closed(10 * time.Second)
			if !ok || err == nil || !strings.Contains(err.Error(), tc.cond) {
				t.Fatalf("closed=%v err=%v, want %s", ok, err, tc.cond)
			}
			testwait.For(t, "the session to end", func() bool { return len(env.srv.router.sessions(jidOf("george.w"))) == 0 })
			if _, err := xmpptest.Dial(t.Context(), env.startTLS, jidOf("george.w"), testPassword, xmpptest.Options{ResumeID: id}); err == nil {
				t.Fatal("a session ended for a violation was resumed")
			}
		})
	}
}

// What a session waiting to be resumed takes is on disk before its
// sender's acknowledgement: the unacknowledged messages of the dropped
// connection and every one that arrives meanwhile. A resume delivers each
// once and deletes it when acknowledged; a restart makes the rest
// ordinary offline messages.
func TestHibernatingSessionKeepsMessagesOnDisk(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withResume(time.Minute))
	fiona := env.login("fiona.b", "laptop", true)
	enableSM(t, fiona)
	george := env.login("george.w", "phone", true)
	id := enableSM(t, george)
	fiona.Send("<message type='chat' to='" + jidOf("george.w") + "'><body>m0</body></message>")
	george.Expect("m0", xmpptest.Message(jidOf("fiona.b"), "m0"))
	h := george.Handled() - 1 // m0 arrived but was not acknowledged
	george.Raw.Close()
	testwait.For(t, "the session to hibernate", func() bool {
		_, hib := env.srv.SessionState("acme", "george.w")
		return hib
	})
	held := func() int {
		n, err := env.st.OfflineCount(t.Context(), "acme", "george.w")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	testwait.For(t, "m0 on disk", func() bool { return held() == 1 })
	const n = 20
	for i := 1; i <= n; i++ {
		fiona.Send(fmt.Sprintf("<message type='chat' to='%s'><body>m%d</body></message>", jidOf("george.w"), i))
	}
	fiona.Send("<r xmlns='urn:xmpp:sm:3'/>")
	a := fiona.Expect("<a/>", func(n xmpptest.Node) bool { return n.XMLName.Local == "a" })
	if got := held(); got != n+1 {
		t.Fatalf("acknowledged (h=%s) with %d of %d messages on disk", a.Attr("h"), got, n+1)
	}
	// Nothing held is handed to an ordinary sign-in meanwhile.
	desk := env.login("george.w", "desk", true)
	if m, ok := desk.Wait(300*time.Millisecond, func(n xmpptest.Node) bool { return n.XMLName.Local == "message" && n.Body() == "m0" }); ok {
		t.Fatalf("another resource got a held message as an offline one: %+v", m)
	}
	desk.Close()

	back := xmpptest.MustDial(t, env.startTLS, jidOf("george.w"), testPassword, xmpptest.Options{ResumeID: id, ResumeH: h})
	got := bodies(back, jidOf("fiona.b"), n+1)
	for i, b := range got {
		if b != fmt.Sprintf("m%d", i) {
			t.Fatalf("after resuming: %v", got)
		}
	}
	if _, ok := back.Wait(300*time.Millisecond, xmpptest.Message(jidOf("fiona.b"), "m")); ok {
		t.Fatal("a message came twice")
	}
	back.Send(fmt.Sprintf("<a xmlns='urn:xmpp:sm:3' h='%d'/>", h+n+1+10))
	testwait.For(t, "acknowledged messages deleted from disk", func() bool { return held() == 0 })
}

// A restart (a crash included) releases what was held for sessions that
// waited to be resumed: the agent's next sign-in gets it.
func TestRestartReleasesHeldMessages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := t.Context()
	if _, err := env.st.HoldOffline(ctx, "acme", "george.w", jidOf("fiona.b"), []byte("<message xmlns='jabber:client' type='chat' from='"+jidOf("fiona.b")+"/x'><body>held across a crash</body></message>"), "gone"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := env.st.TakeOffline(ctx, "acme", "george.w", 0); len(ms) != 0 {
		t.Fatalf("held message taken before the restart: %+v", ms)
	}
	restarted, err := New(Config{Domain: testDomain, TLS: env.srv.tls, Store: env.st})
	if err != nil {
		t.Fatal(err)
	}
	restarted.Shutdown(ctx)
	if ms, _ := env.st.TakeOffline(ctx, "acme", "george.w", 0); len(ms) != 1 {
		t.Fatalf("after a restart the agent's sign-in takes %d messages, want 1", len(ms))
	}
}
