package xmppd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// A portal with more colleagues online than an outbox holds: the presences
// answering a sign-in come as one burst and never count as a slow reader,
// with or without stream management (whose client acknowledges later).
func TestSignInToAPortalLargerThanTheOutbox(t *testing.T) {
	t.Parallel()
	const outbox, colleagues = 16, 40
	env := newTestEnv(t, withResume(time.Minute), func(c *Config) { c.Limits.OutboxSize = outbox })
	var agents []store.NewAgent
	for i := range colleagues {
		agents = append(agents, store.NewAgent{Username: fmt.Sprintf("agent%d", i), DisplayName: fmt.Sprintf("Agent %d", i),
			Email: fmt.Sprintf("agent%d@acme.example", i), Password: testPassword})
	}
	if _, err := env.st.AddAgentsBulk(context.Background(), "acme", agents, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range colleagues {
		env.login(fmt.Sprintf("agent%d", i), "desk", true)
	}
	for _, withSM := range []bool{false, true} {
		t.Run(fmt.Sprintf("sm=%v", withSM), func(t *testing.T) {
			c := xmpptest.MustDial(t, env.startTLS, jidOf("fiona.b")+"/phone", testPassword, xmpptest.Options{})
			if withSM {
				enableSM(t, c)
			}
			c.Send("<presence/>")
			for i := range colleagues {
				c.Expect(fmt.Sprintf("presence of agent%d", i), xmpptest.Presence(jidOf(fmt.Sprintf("agent%d", i))+"/desk", ""))
			}
			c.Send("<iq type='get' id='still-here'><ping xmlns='urn:xmpp:ping'/></iq>")
			c.Expect("an answer on the same stream", xmpptest.IQ("still-here"))
			if err, closed := c.Closed(0); closed {
				t.Fatalf("disconnected: %v", err)
			}
			c.Send("<presence type='unavailable'/>")
			c.Close()
		})
	}
}
