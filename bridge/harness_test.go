package bridge

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/address"
	"jabberdesk/store"
)

// fakeClock is a clock that moves only when a test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clock *fakeClock
	at    time.Time
	f     func()
	done  bool // fired or stopped
}

// storeSkew bounds how far the store's stamps (a chat's creation, from
// which the queue timeout counts) run ahead of a fake clock started just
// before: the store stamps rows with the system's clock.
const storeSkew = time.Second

// newFakeClock starts at the system's time, as the store stamps rows
// with it.
func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	pending := !t.done
	t.done = true
	return pending
}

// Advance moves the clock on by d and calls the functions of the timers
// now due, earliest first, on the caller's goroutine (the engine's only
// post to a chat's goroutine).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	pending := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(c.now):
			t.done = true
			due = append(due, t)
		default:
			pending = append(pending, t)
		}
	}
	c.timers = pending
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// deskTest drives an engine of portal acme on a fake clock: agents, chats,
// what agents say and hear, and time.
type deskTest struct {
	t      *testing.T
	ctx    context.Context
	e      *Engine
	st     *store.Store
	agents *fakeAgents
	clock  *fakeClock
}

func newDeskTest(t *testing.T) *deskTest {
	t.Helper()
	e, st, agents := newTestEngine(t)
	return &deskTest{t: t, ctx: context.Background(), e: e, st: st, agents: agents, clock: e.clock.(*fakeClock)}
}

// department adds a department with its routing.
func (d *deskTest) department(name string, mode store.DeskMode, routing store.Routing) {
	d.t.Helper()
	if _, err := d.st.AddDepartment(d.ctx, "acme", name, mode, routing, "test"); err != nil {
		d.t.Fatal(err)
	}
}

// agent adds an agent, online or not.
func (d *deskTest) agent(n store.NewAgent, online bool) AgentInfo {
	d.t.Helper()
	n.Portal = "acme"
	n.Email = n.Username + "@acme.example"
	n.Password = "password1"
	if _, err := d.st.AddAgent(d.ctx, n, "test"); err != nil {
		d.t.Fatal(err)
	}
	d.setOnline(n.Username, online)
	return AgentInfo{Key: n.Username, Name: n.Username}
}

func (d *deskTest) setOnline(name string, online bool) {
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	d.agents.online[name] = online
}

// chat starts a chat; the visitor's page is open (their grace period does
// not run) unless away is set.
func (d *deskTest) chat(n NewChat, away bool) testChat {
	d.t.Helper()
	n.Portal = "acme"
	if n.Name == "" {
		n.Name = "Ann"
	}
	if n.Question == "" {
		n.Question = "Where is my parcel?"
	}
	started, err := d.e.Create(d.ctx, n)
	if err != nil {
		d.t.Fatal(err)
	}
	tc := testChat{d: d, Started: started, local: address.VisitorName(started.VisitorNumber)}
	if c := d.e.chatByNumber("acme", tc.Started.VisitorNumber); c != nil && !away {
		c.visitorConnected(1)
	}
	d.settle()
	return tc
}

// settle returns once every live chat has run what was posted to it, and
// what that posted to other chats in turn.
func (d *deskTest) settle() {
	for range 3 {
		for _, c := range d.e.portalChats("acme") {
			_ = c.call(d.ctx, func() error { return nil }) // a chat over has nothing left to run
		}
	}
}

// advance moves the clock on and lets the chats run what became due.
func (d *deskTest) advance(by time.Duration) {
	d.clock.Advance(by)
	d.settle()
}

// heard reports how many of the messages an agent was sent contain text.
func (d *deskTest) heard(agent, text string) int { return d.agents.count(agent, text) }

// mustHear fails unless the agent was sent a message containing text.
func (d *deskTest) mustHear(agent, text string) {
	d.t.Helper()
	if d.heard(agent, text) == 0 {
		d.t.Errorf("%s was not told %q; got:\n%s", agent, text, d.messages(agent))
	}
}

func (d *deskTest) messages(agent string) string {
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	var b strings.Builder
	for _, m := range d.agents.messages[agent] {
		b.WriteString("  " + m.Body + "\n")
	}
	return b.String()
}

// inRoster reports whether the agent's roster has the chat's contact now.
func (d *deskTest) inRoster(agent, local string) bool {
	for _, c := range d.e.Contacts("acme", agent) {
		if c.Local == local {
			return true
		}
	}
	return false
}

// testChat is one visitor's chat in a deskTest.
type testChat struct {
	d *deskTest
	Started
	local string
}

// says is what an agent sends to the chat's contact.
func (tc testChat) says(a AgentInfo, body string) {
	tc.d.t.Helper()
	if err := tc.d.e.AgentSays("acme", a, tc.local, body, ""); err != nil {
		tc.d.t.Fatal(err)
	}
	tc.d.settle()
}

// visitorSays is a visitor's message.
func (tc testChat) visitorSays(text string) {
	tc.d.t.Helper()
	v, err := tc.d.e.Visitor(tc.d.ctx, tc.ChatID, tc.Token)
	if err != nil {
		tc.d.t.Fatal(err)
	}
	if err := v.Say(tc.d.ctx, text, ""); err != nil {
		tc.d.t.Fatal(err)
	}
	tc.d.settle()
}

// stored is the chat as stored now.
func (tc testChat) stored() store.Chat {
	tc.d.t.Helper()
	sc, err := tc.d.st.ChatByNumber(tc.d.ctx, "acme", tc.VisitorNumber)
	if err != nil {
		tc.d.t.Fatal(err)
	}
	return sc
}

// wantStatus fails unless the chat's stored status (and end reason) is
// as given.
func (tc testChat) wantStatus(st store.ChatStatus, reason endReason) {
	tc.d.t.Helper()
	if sc := tc.stored(); sc.Status != st || sc.EndReason != string(reason) {
		tc.d.t.Errorf("chat #%d is %s (%q), want %s (%q)", tc.VisitorNumber, sc.Status, sc.EndReason, st, reason)
	}
}

// agentsIn lists the agents in the chat as stored, with their roles.
func (tc testChat) agentsIn() map[string]string {
	in := map[string]string{}
	for _, a := range tc.stored().Agents {
		if a.LeftAt == nil {
			in[a.Username] = a.Role
		}
	}
	return in
}

// visitorSaw lists the visitor's events, as "type" or "type:detail".
func (tc testChat) visitorSaw() []string {
	tc.d.t.Helper()
	recs, err := tc.d.st.ChatEvents(tc.d.ctx, tc.stored().ID, 0, true, 0)
	if err != nil {
		tc.d.t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		ev := eventFromRecord(r)
		s := ev.Type
		switch {
		case ev.Reason != "":
			s += ":" + ev.Reason
		case ev.Name != "":
			s += ":" + ev.Name
		case ev.Seconds != 0:
			s += ":" + time.Duration(ev.Seconds*int(time.Second)).String()
		case ev.Text != "":
			s += ":" + ev.Text
		}
		out = append(out, s)
	}
	return out
}

// mustSee fails unless the visitor saw each event (as visitorSaw writes
// them).
func (tc testChat) mustSee(events ...string) {
	tc.d.t.Helper()
	saw := tc.visitorSaw()
	for _, want := range events {
		if !slices.Contains(saw, want) {
			tc.d.t.Errorf("the visitor did not see %s; saw %q", want, saw)
		}
	}
}

// wantAgents fails unless the agents in the chat, with their roles, are
// those given.
func (tc testChat) wantAgents(want map[string]string) {
	tc.d.t.Helper()
	if got := tc.agentsIn(); !maps.Equal(got, want) {
		tc.d.t.Errorf("agents in the chat: %v, want %v", got, want)
	}
}
