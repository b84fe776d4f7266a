package bridge

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"jabberdesk/address"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// fakeAgents records what the bridge sends; every known agent is online.
type fakeAgents struct {
	mu       sync.Mutex
	online   map[string]bool
	messages map[string][]Message
	contacts map[string][]Contact
}

func newFakeAgents() *fakeAgents {
	return &fakeAgents{online: map[string]bool{}, messages: map[string][]Message{}, contacts: map[string][]Contact{}}
}

func (f *fakeAgents) Availability(portal, agent string) Availability {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.online[agent] {
		return Online
	}
	return Offline
}

func (f *fakeAgents) Contact(portal, agent string, c Contact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts[agent] = append(f.contacts[agent], c)
}

func (f *fakeAgents) Message(portal, agent string, m Message) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages[agent] = append(f.messages[agent], m)
	return true
}

// Busy: the fake agents always keep up (bridge/web tests the busy case).
func (f *fakeAgents) Busy(portal, agent string) bool { return false }

func (f *fakeAgents) count(agent, text string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.messages[agent] {
		if strings.Contains(m.Body, text) {
			n++
		}
	}
	return n
}

// newTestEngine runs an engine on a new SQLite store with portal acme and
// the given agents, all online, on a fake clock (fakeClock).
func newTestEngine(t *testing.T, usernames ...string) (*Engine, *store.Store, *fakeAgents) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	agents := newFakeAgents()
	for _, name := range usernames {
		if _, err := st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: name, Email: name + "@acme.example", Password: "password1"}, "test"); err != nil {
			t.Fatal(err)
		}
		agents.online[name] = true
	}
	e := New(Config{Domain: "example.test"}, st, nil)
	e.clock = newFakeClock() // timers run when a test advances it
	e.Attach(agents)
	t.Cleanup(e.Stop)
	return e, st, agents
}

func TestFirstYesWinsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	const n = 20
	var names []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("agent%03d", i))
	}
	e, st, agents := newTestEngine(t, names...)
	started, err := e.Create(ctx, NewChat{Portal: "acme", Name: "Ann", Question: "Help?"})
	if err != nil || started.Status != "offered" {
		t.Fatalf("create: %+v %v", started, err)
	}
	local := address.VisitorName(started.VisitorNumber)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("agent%03d", i)
			e.AgentSays("acme", AgentInfo{Key: name, Name: name}, local, "y", "")
		}(i)
	}
	wg.Wait()
	testwait.For(t, "the chat to be taken", func() bool {
		sc, _ := st.ChatByNumber(ctx, "acme", started.VisitorNumber)
		return sc.Status == store.ChatActive
	})
	testwait.For(t, "every agent to hear", func() bool {
		won, told, refused := 0, 0, 0
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("agent%03d", i)
			won += agents.count(name, "You are chatting with Ann")
			told += agents.count(name, "took the chat")
			refused += agents.count(name, "You are not in this chat")
		}
		if won > 1 {
			t.Fatalf("%d agents won the chat", won)
		}
		return won == 1 && told == n-1 && refused == n-1
	})
	sc, _ := st.ChatByNumber(ctx, "acme", started.VisitorNumber)
	if len(sc.Agents) != 1 {
		t.Fatalf("%d agents stored in the chat", len(sc.Agents))
	}
	if e.Load("acme", sc.Agents[0].Username) != 1 {
		t.Fatal("load not counted")
	}
}

// With broadcast routing, an agent who answers n is not offered the chat
// again when routing runs later, and a chat nobody has on offer any more
// is waiting, not offered.
func TestBroadcastDeclineIsFinal(t *testing.T) {
	ctx := context.Background()
	e, st, agents := newTestEngine(t, "anna.b", "boris.c")
	started, err := e.Create(ctx, NewChat{Portal: "acme", Name: "Ann", Question: "Help?"})
	if err != nil || started.Status != "offered" {
		t.Fatalf("create: %+v %v", started, err)
	}
	local := address.VisitorName(started.VisitorNumber)
	offers := func(agent string) int { return agents.count(agent, "Reply y to accept") }
	testwait.For(t, "both offers", func() bool { return offers("anna.b") == 1 && offers("boris.c") == 1 })

	e.AgentSays("acme", AgentInfo{Key: "anna.b", Name: "Anna"}, local, "n", "")
	testwait.For(t, "anna's decline", func() bool { return agents.count("anna.b", "You declined the chat") == 1 })
	e.AgentAvailabilityChanged("acme", "anna.b", Online) // routing runs again
	e.AgentSays("acme", AgentInfo{Key: "boris.c", Name: "Boris"}, local, "n", "")
	testwait.For(t, "boris's decline", func() bool { return agents.count("boris.c", "You declined the chat") == 1 })
	if n := offers("anna.b"); n != 1 {
		t.Errorf("anna was offered the chat %d times", n)
	}
	sc, err := st.ChatByNumber(ctx, "acme", started.VisitorNumber)
	if err != nil || sc.Status != store.ChatWaiting {
		t.Errorf("status %q %v, want waiting", sc.Status, err)
	}
}
