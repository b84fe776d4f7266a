package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"jabberdesk/internal/xmpptest"
)

// addAgentCLI adds an agent to the demo portal with `agent add`, which
// tells the running server (every node), and keeps its password.
func (r *running) addAgentCLI(t *testing.T, user string, flags ...string) {
	t.Helper()
	const pw = "roster-test-password"
	var out, errOut bytes.Buffer
	args := append([]string{"--config", filepath.Join(r.dir, "jabberdesk.toml"), "agent", "add", "demo", user,
		"--email", user + "@example.com", "--password-stdin"}, flags...)
	if code := run(args, strings.NewReader(pw+"\n"), &out, &errOut); code != 0 {
		t.Fatalf("agent add %s: exit %d: %s", user, code, errOut.String())
	}
	r.passwords[user] = pw
}

// rosterColleagues is the Colleagues group of a roster result, by
// username.
func rosterColleagues(n xmpptest.Node) []string {
	var out []string
	for _, it := range n.Find("query/item") {
		if g, _ := it.Child("group"); g.Text == "Colleagues" {
			local, _, _ := strings.Cut(it.Attr("jid"), "@")
			out = append(out, strings.TrimPrefix(local, "demo|"))
		}
	}
	sort.Strings(out)
	return out
}

// boardBarrier posts to the board from one agent and waits until the
// others got the post: what the poster's node sent them before (its
// presence, say) has arrived by then, on this node or through the
// portal's topic, which keeps one node's events in order.
func boardBarrier(t *testing.T, from *xmpptest.Client, text string, to ...*xmpptest.Client) {
	t.Helper()
	from.Send(chatMsg("demo|board@localhost", text))
	for _, c := range to {
		c.Expect("board post "+text, xmpptest.Message("demo|board@localhost", text))
	}
}

// noPresenceFrom fails if c holds presence from the JID prefix.
func noPresenceFrom(t *testing.T, c *xmpptest.Client, from string) {
	t.Helper()
	if n, ok := c.Wait(0, func(n xmpptest.Node) bool {
		return n.XMLName.Local == "presence" && strings.HasPrefix(n.Attr("from"), from)
	}); ok {
		t.Errorf("%s got presence from %s, who is not in its roster: %+v", c.JID, from, n)
	}
}

// Department rosters through the whole server (on every node with
// JABBERDESK_TEST_NODES): each agent sees their departments and the
// supervisors of them, presence goes only between colleagues, messages
// go anywhere, and moving an agent between departments with the CLI
// pushes the rosters that changed and exchanges presence.
func TestDepartmentRostersEndToEnd(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[roster]", `colleagues = "departments"`)
	// fiona.demo: supervisor of Sales and Support; george.demo: Support.
	r.addAgentCLI(t, "hana.sales", "--name", "Hana", "--dept", "Sales")
	hana := r.loginWithRoster(t, "hana.sales")
	george := r.loginWithRoster(t, "george.demo")
	fiona := r.loginWithRoster(t, "fiona.demo")
	for _, c := range []struct {
		who  *xmpptest.Client
		user string
		want []string
	}{
		{hana, "hana.sales", []string{"fiona.demo"}},
		{george, "george.demo", []string{"fiona.demo"}},
		{fiona, "fiona.demo", []string{"george.demo", "hana.sales"}},
	} {
		c.who.Send("<iq type='get' id='r-" + c.user + "'><query xmlns='jabber:iq:roster'/></iq>")
		if got := rosterColleagues(c.who.Expect("roster", xmpptest.IQ("r-"+c.user))); !slices.Equal(got, c.want) {
			t.Errorf("colleagues of %s: %v, want %v", c.user, got, c.want)
		}
	}
	fiona.Expect("hana's presence", xmpptest.Presence("demo|hana.sales@localhost", ""))
	fiona.Expect("george's presence", xmpptest.Presence("demo|george.demo@localhost", ""))
	hana.Expect("fiona's presence", xmpptest.Presence("demo|fiona.demo@localhost", ""))

	george.Send("<presence><show>dnd</show></presence>")
	fiona.Expect("george busy", func(n xmpptest.Node) bool {
		s, _ := n.Child("show")
		return xmpptest.Presence("demo|george.demo@localhost", "")(n) && s.Text == "dnd"
	})
	boardBarrier(t, george, "first", hana, fiona)
	noPresenceFrom(t, hana, "demo|george.demo@")
	noPresenceFrom(t, george, "demo|hana.sales@")

	// Messages do not need the roster.
	george.Send(chatMsg("demo|hana.sales@localhost", "a word from support"))
	hana.Expect("george's message", xmpptest.Message("demo|george.demo@localhost", "a word from support"))

	// Into Support too: george and hana become colleagues.
	runCLI(t, r, "agent", "set", "demo", "hana.sales", "--dept", "Sales", "--dept", "Support")
	pushOf := func(jid, sub string) func(xmpptest.Node) bool {
		return func(n xmpptest.Node) bool {
			if n.XMLName.Local != "iq" || n.Attr("type") != "set" {
				return false
			}
			for _, it := range n.Find("query/item") {
				if it.Attr("jid") == jid && it.Attr("subscription") == sub {
					return true
				}
			}
			return false
		}
	}
	george.Expect("push adding hana", pushOf("demo|hana.sales@localhost", "both"))
	george.Expect("hana's presence", xmpptest.Presence("demo|hana.sales@localhost", ""))
	hana.Expect("push adding george", pushOf("demo|george.demo@localhost", "both"))
	hana.Expect("george's presence", xmpptest.Presence("demo|george.demo@localhost", ""))

	// Out of Support again: removal pushes and unavailable presence.
	runCLI(t, r, "agent", "set", "demo", "hana.sales", "--dept", "Sales")
	george.Expect("push removing hana", pushOf("demo|hana.sales@localhost", "remove"))
	george.Expect("hana unavailable", xmpptest.Presence("demo|hana.sales@localhost", "unavailable"))
	hana.Expect("push removing george", pushOf("demo|george.demo@localhost", "remove"))
	hana.Expect("george unavailable", xmpptest.Presence("demo|george.demo@localhost", "unavailable"))
	george.Send("<presence><show>away</show></presence>")
	boardBarrier(t, george, "second", hana, fiona)
	noPresenceFrom(t, hana, "demo|george.demo@")
}
