package xmppd

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// deptAgents are added to portal acme (beside fiona.b and george.w, who
// have no department) by withDepartments.
var deptAgents = []store.NewAgent{
	{Username: "anna.s", DisplayName: "Anna", Departments: []string{"Sales"}},
	{Username: "bobby.s", DisplayName: "Bob", Departments: []string{"sales"}}, // case does not matter
	{Username: "carl.t", DisplayName: "Carl", Departments: []string{"Support"}},
	{Username: "sue.vv", DisplayName: "Sue", Role: store.RoleSupervisor, Departments: []string{"Sales"}},
	{Username: "tom.vv", DisplayName: "Tom", Role: store.RoleSupervisor, Departments: []string{"Support"}},
	{Username: "ada.mm", DisplayName: "Ada", Role: store.RoleAdmin},
}

// wantColleagues is who is in whose roster with department rosters.
var wantColleagues = map[string][]string{
	"anna.s":   {"ada.mm", "bobby.s", "sue.vv"},
	"bobby.s":  {"ada.mm", "anna.s", "sue.vv"},
	"carl.t":   {"ada.mm", "tom.vv"},
	"sue.vv":   {"ada.mm", "anna.s", "bobby.s", "fiona.b", "george.w", "tom.vv"},
	"tom.vv":   {"ada.mm", "carl.t", "fiona.b", "george.w", "sue.vv"},
	"ada.mm":   {"anna.s", "bobby.s", "carl.t", "fiona.b", "george.w", "sue.vv", "tom.vv"},
	"fiona.b":  {"ada.mm", "sue.vv", "tom.vv"},
	"george.w": {"ada.mm", "sue.vv", "tom.vv"},
}

// withDepartments adds the departments Sales and Support and deptAgents
// to portal acme.
func withDepartments(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, d := range []string{"Sales", "Support"} {
		if _, err := st.AddDepartment(ctx, "acme", d, "", "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range deptAgents {
		a.Portal, a.Password, a.Email = "acme", testPassword, a.Username+"@acme.example"
		if _, err := st.AddAgent(ctx, a, "test"); err != nil {
			t.Fatal(err)
		}
	}
}

func departmentRosters(c *Config) { c.Roster = RosterPolicy{Colleagues: RosterDepartments} }

// colleagueKeys is the Colleagues group of a roster result or push.
func colleagueKeys(n xmpptest.Node) []string {
	var keys []string
	for jid, item := range rosterOf(n) {
		if strings.Contains(item, "|"+groupColleagues+"|") {
			local, _, _ := strings.Cut(jid, "@")
			keys = append(keys, strings.TrimPrefix(local, "acme|"))
		}
	}
	sort.Strings(keys)
	return keys
}

// fetchRoster gets a session's roster.
func fetchRoster(c *xmpptest.Client, id string) xmpptest.Node {
	c.Send("<iq type='get' id='" + id + "'><query xmlns='jabber:iq:roster'/></iq>")
	return c.Expect("roster", xmpptest.IQ(id))
}

// expectNoPresenceFrom checks that c holds no presence from the JID
// prefix: what the server sent before answering a ping has arrived by
// then, as one session's stanzas keep their order.
func expectNoPresenceFrom(t *testing.T, c *xmpptest.Client, from string) {
	t.Helper()
	id := "sync-" + randomID()
	c.Send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.Expect("ping answer", xmpptest.IQ(id))
	if n, ok := c.Wait(0, func(n xmpptest.Node) bool {
		return n.XMLName.Local == "presence" && strings.HasPrefix(n.Attr("from"), from)
	}); ok {
		t.Errorf("%s got presence from %s, who is not in its roster: %+v", c.JID, from, n)
	}
}

// The relation is symmetric, so that presence, which goes both ways,
// stays consistent, and colleaguesOf lists exactly the agents it holds
// for.
func TestColleaguesAreSymmetric(t *testing.T) {
	var agents []store.Agent
	for _, n := range deptAgents {
		if n.Role == "" {
			n.Role = store.RoleAgent
		}
		agents = append(agents, store.Agent{Portal: "acme", Username: n.Username, Role: n.Role, Departments: n.Departments})
	}
	for _, u := range []string{"fiona.b", "george.w"} {
		agents = append(agents, store.Agent{Portal: "acme", Username: u, Role: store.RoleAgent})
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i].Key() < agents[j].Key() })
	d := &directory{agents: func(context.Context, string) ([]store.Agent, error) { return agents, nil },
		policy: RosterPolicy{Colleagues: RosterDepartments}}
	p, err := d.load(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		var got []string
		for _, c := range p.colleaguesOf(a.Key()) {
			got = append(got, c.Key())
		}
		if want := wantColleagues[a.Key()]; !slices.Equal(got, want) {
			t.Errorf("colleagues of %s = %v, want %v", a.Key(), got, want)
		}
		for _, b := range agents {
			if p.areColleagues(a.Key(), b.Key()) != p.areColleagues(b.Key(), a.Key()) {
				t.Errorf("%s and %s: not symmetric", a.Key(), b.Key())
			}
			if p.areColleagues(a.Key(), b.Key()) != slices.Contains(wantColleagues[a.Key()], b.Key()) {
				t.Errorf("areColleagues(%s, %s) = %v", a.Key(), b.Key(), p.areColleagues(a.Key(), b.Key()))
			}
		}
	}
}

// With department rosters, each agent's roster holds the agents of their
// departments, the admins and, as it concerns them, the supervisors; the
// board and the desk stay.
func TestDepartmentRosters(t *testing.T) {
	t.Parallel()
	st := openTestStore(t, newTestStore(t))
	withDepartments(t, st)
	env := startTestEnv(t, st, departmentRosters)
	for user, want := range wantColleagues {
		c := env.login(user, "r", false)
		res := fetchRoster(c, "r-"+user)
		if got := colleagueKeys(res); !slices.Equal(got, want) {
			t.Errorf("roster of %s: colleagues %v, want %v", user, got, want)
		}
		if items := rosterOf(res); items["acme|board@"+testDomain] == "" || items["acme|desk@"+testDomain] == "" {
			t.Errorf("roster of %s lacks the board or the desk: %v", user, items)
		}
		c.Close()
	}
}

// Presence goes only between agents in each other's rosters; probes of
// others are answered unavailable; messages still go anywhere in the
// portal, by JID.
func TestPresenceWithinDepartmentRosters(t *testing.T) {
	t.Parallel()
	st := openTestStore(t, newTestStore(t))
	withDepartments(t, st)
	env := startTestEnv(t, st, departmentRosters)
	carl := env.login("carl.t", "desk", true)
	bob := env.login("bobby.s", "desk", true)
	anna := env.login("anna.s", "desk", true)
	anna.Expect("bob's presence at sign-in", xmpptest.Presence(jidOf("bobby.s")+"/desk", ""))
	bob.Expect("anna's presence", xmpptest.Presence(jidOf("anna.s")+"/desk", ""))
	expectNoPresenceFrom(t, anna, jidOf("carl.t"))
	expectNoPresenceFrom(t, carl, jidOf("anna.s"))
	expectNoPresenceFrom(t, carl, jidOf("bobby.s"))

	// A supervisor of Sales sees Sales; the admin sees everyone.
	sue := env.login("sue.vv", "desk", true)
	sue.Expect("anna's presence", xmpptest.Presence(jidOf("anna.s")+"/desk", ""))
	anna.Expect("the supervisor's presence", xmpptest.Presence(jidOf("sue.vv")+"/desk", ""))
	expectNoPresenceFrom(t, sue, jidOf("carl.t"))
	ada := env.login("ada.mm", "desk", true)
	for _, u := range []string{"anna.s", "bobby.s", "carl.t", "sue.vv"} {
		ada.Expect(u+"'s presence", xmpptest.Presence(jidOf(u)+"/desk", ""))
	}
	carl.Expect("the admin's presence", xmpptest.Presence(jidOf("ada.mm")+"/desk", ""))

	anna.Send("<presence type='probe' to='" + jidOf("carl.t") + "'/>")
	anna.Expect("carl unavailable to anna", xmpptest.Presence(jidOf("carl.t"), "unavailable"))

	carl.Send("<message to='" + jidOf("anna.s") + "' type='chat' id='m1'><body>hello from support</body></message>")
	anna.Expect("carl's message", xmpptest.Message(jidOf("carl.t"), "hello from support"))

	bob.Send("<presence><show>dnd</show></presence>")
	anna.Expect("bob busy", presenceShow(jidOf("bobby.s")+"/desk", "dnd"))
	expectNoPresenceFrom(t, carl, jidOf("bobby.s"))
	bob.Close()
	anna.Expect("bob gone", xmpptest.Presence(jidOf("bobby.s")+"/desk", "unavailable"))
	expectNoPresenceFrom(t, carl, jidOf("bobby.s"))
}

// Moving an agent between departments changes rosters: pushes, and
// presence both ways with the new colleagues, unavailable presence
// from the former ones.
func TestRosterPushesOnDepartmentChange(t *testing.T) {
	t.Parallel()
	st := openTestStore(t, newTestStore(t))
	withDepartments(t, st)
	env := startTestEnv(t, st, departmentRosters)
	ctx := context.Background()
	anna := env.login("anna.s", "desk", true)
	carl := env.login("carl.t", "desk", true)
	ver := func(n xmpptest.Node) string { q, _ := n.Child("query"); return q.Attr("ver") }
	annaVer := ver(fetchRoster(anna, "a1"))
	fetchRoster(carl, "c1")

	move := func(depts ...string) {
		t.Helper()
		if _, err := st.UpdateAgent(ctx, "acme", "carl.t", store.AgentUpdate{Departments: &depts}, "test"); err != nil {
			t.Fatal(err)
		}
		if err := env.srv.AgentsChanged(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	pushOf := func(jid, sub string) func(xmpptest.Node) bool {
		return func(n xmpptest.Node) bool {
			return n.XMLName.Local == "iq" && n.Attr("type") == "set" && strings.HasSuffix(rosterOf(n)[jid], "|"+sub)
		}
	}
	move("Support", "Sales")
	push := anna.Expect("push adding carl", pushOf(jidOf("carl.t"), "both"))
	anna.Expect("carl's presence", xmpptest.Presence(jidOf("carl.t")+"/desk", ""))
	carl.Expect("push adding anna", pushOf(jidOf("anna.s"), "both"))
	carl.Expect("push adding sue", pushOf(jidOf("sue.vv"), "both"))
	carl.Expect("anna's presence", xmpptest.Presence(jidOf("anna.s")+"/desk", ""))
	if ver(push) == annaVer {
		t.Error("the push kept the old roster version")
	}
	// The pushed version is the roster's: asking with it gets no items.
	anna.Send("<iq type='get' id='a2'><query xmlns='jabber:iq:roster' ver='" + ver(push) + "'/></iq>")
	if res := anna.Expect("roster", xmpptest.IQ("a2")); len(res.Nodes) != 0 {
		t.Errorf("roster at the pushed version sent again: %+v", res)
	}

	move("Support")
	anna.Expect("push removing carl", pushOf(jidOf("carl.t"), "remove"))
	anna.Expect("carl unavailable", xmpptest.Presence(jidOf("carl.t"), "unavailable"))
	carl.Expect("push removing anna", pushOf(jidOf("anna.s"), "remove"))
	carl.Expect("anna unavailable", xmpptest.Presence(jidOf("anna.s"), "unavailable"))
	anna.Send("<presence><show>away</show></presence>")
	anna.Expect("own presence", presenceShow(jidOf("anna.s")+"/desk", "away"))
	expectNoPresenceFrom(t, carl, jidOf("anna.s"))
}

// With the automatic policy a portal's rosters are portal-wide up to the
// threshold and department rosters above it; crossing it changes the
// rosters of the agents online.
func TestRosterThresholdSwitching(t *testing.T) {
	t.Parallel()
	st := openTestStore(t, newTestStore(t))
	env := startTestEnv(t, st, func(c *Config) { c.Roster = RosterPolicy{Colleagues: RosterAuto, PortalWideUpTo: 3} })
	ctx := context.Background()
	if _, err := st.AddDepartment(ctx, "acme", "Sales", "", "", "test"); err != nil {
		t.Fatal(err)
	}
	fiona := env.login("fiona.b", "desk", true)
	george := env.login("george.w", "desk", true)
	fiona.Expect("george's presence", xmpptest.Presence(jidOf("george.w")+"/desk", ""))
	if got := colleagueKeys(fetchRoster(fiona, "f1")); !slices.Equal(got, []string{"george.w"}) {
		t.Fatalf("portal-wide roster of 2 agents: %v", got)
	}
	add := func(user string) {
		t.Helper()
		if _, err := st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: user, Email: user + "@acme.example",
			Departments: []string{"Sales"}, Password: testPassword}, "test"); err != nil {
			t.Fatal(err)
		}
		if err := env.srv.AgentsChanged(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	add("anna.s") // 3 agents: portal-wide still
	fiona.Expect("push adding anna", func(n xmpptest.Node) bool {
		return n.XMLName.Local == "iq" && strings.HasSuffix(rosterOf(n)[jidOf("anna.s")], "|both")
	})
	add("bobby.s") // 4: department rosters; fiona and george have no department and no supervisor
	fiona.Expect("push removing george", func(n xmpptest.Node) bool {
		return n.XMLName.Local == "iq" && strings.HasSuffix(rosterOf(n)[jidOf("george.w")], "|remove")
	})
	fiona.Expect("george unavailable", xmpptest.Presence(jidOf("george.w"), "unavailable"))
	if got := colleagueKeys(fetchRoster(fiona, "f2")); len(got) != 0 {
		t.Errorf("department roster of an agent without department: %v", got)
	}
	george.Send("<presence><show>dnd</show></presence>")
	george.Expect("own presence", presenceShow(jidOf("george.w")+"/desk", "dnd"))
	expectNoPresenceFrom(t, fiona, jidOf("george.w"))

	if err := st.RemoveAgent(ctx, "acme", "bobby.s", "test"); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.AgentsChanged(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	fiona.Expect("george back", presenceShow(jidOf("george.w")+"/desk", "dnd"))
	if got := colleagueKeys(fetchRoster(fiona, "f3")); !slices.Equal(got, []string{"anna.s", "george.w"}) {
		t.Errorf("portal-wide again: %v", got)
	}
}

// Presence from another node is filtered by the same rosters on the
// receiving side.
func TestPeersPresenceWithinDepartmentRosters(t *testing.T) {
	t.Parallel()
	c := newCluster(t, []string{"a", "b"}, departmentRosters)
	withDepartments(t, c.nodes["a"].st) // the nodes load agents at the first sign-in
	carl := c.login("b", "carl.t", "desk", true)
	bob := c.login("b", "bobby.s", "desk", true)
	anna := c.login("a", "anna.s", "desk", true)
	anna.Expect("bob's presence from node b", xmpptest.Presence(jidOf("bobby.s")+"/desk", ""))
	bob.Expect("anna's presence from node a", xmpptest.Presence(jidOf("anna.s")+"/desk", ""))
	expectNoPresenceFrom(t, anna, jidOf("carl.t"))
	carl.Send("<presence><show>away</show></presence>")
	carl.Expect("own presence", presenceShow(jidOf("carl.t")+"/desk", "away"))
	bob.Send("<presence><show>dnd</show></presence>")
	anna.Expect("bob busy", presenceShow(jidOf("bobby.s")+"/desk", "dnd"))
	expectNoPresenceFrom(t, anna, jidOf("carl.t"))
	ada := c.login("a", "ada.mm", "desk", true)
	ada.Expect("carl's presence from node b", presenceShow(jidOf("carl.t")+"/desk", "away"))
	carl.Expect("the admin's presence from node a", xmpptest.Presence(jidOf("ada.mm")+"/desk", ""))
}
