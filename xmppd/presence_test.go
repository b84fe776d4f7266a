package xmppd

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
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

// Every change of an agent's availability for routing is recorded for
// reports, once: the most available of their resources counts, and a
// presence that leaves it as it was records nothing.
func TestAvailabilityChangesAreRecorded(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	since := time.Now().Add(-time.Minute)
	laptop := env.login("fiona.b", "laptop", true) // online
	phone := env.login("fiona.b", "phone", false)
	phone.Send("<presence><show>away</show></presence>") // online still: the laptop is
	phone.Expect("own presence", xmpptest.Presence(phone.JID.String(), ""))
	laptop.Send("<presence><show>dnd</show></presence>") // busy
	laptop.Expect("own presence", xmpptest.Presence(laptop.JID.String(), ""))
	laptop.Send("<presence><show>xa</show></presence>") // away
	laptop.Expect("own presence", xmpptest.Presence(laptop.JID.String(), ""))
	laptop.Close() // away still: the phone is
	phone.Close()  // offline
	var states []string
	testwait.For(t, "four presence changes", func() bool {
		got, err := env.st.PresenceChanges(context.Background(), "acme", since, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		states = states[:0]
		for _, c := range got {
			states = append(states, c.Username+" "+c.State)
		}
		return len(states) >= 4
	})
	want := []string{"fiona.b online", "fiona.b busy", "fiona.b away", "fiona.b offline"}
	if !slices.Equal(states, want) {
		t.Fatalf("recorded %q, want %q", states, want)
	}
}
