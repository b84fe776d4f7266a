package bridge

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"jabberdesk/store"
)

// bus connects the engines of a test as the cluster connects nodes:
// requests to one node, topics to every node that follows them, and the
// owner of each portal. A node can be made dead: it neither reaches nor
// is reached, and the portals it owned go to the next node that asks.
type bus struct {
	mu     sync.Mutex
	nodes  map[string]*busNode
	owners map[int64]string
	subs   map[string][]*busSub // by topic
	lose   map[string]bool      // topics whose messages are lost
	calls  map[string]int       // requests answered, by kind
}

var errBusUnreachable = errors.New("bus: node unreachable")

func newBus(t *testing.T) *bus {
	b := &bus{nodes: map[string]*busNode{}, owners: map[int64]string{}, subs: map[string][]*busSub{},
		lose: map[string]bool{}, calls: map[string]int{}}
	t.Cleanup(func() {
		b.mu.Lock()
		var all []*busSub
		for _, l := range b.subs {
			all = append(all, l...)
		}
		b.mu.Unlock()
		for _, s := range all {
			s.close()
		}
	})
	return b
}

// node is the Nodes of one node of the bus.
func (b *bus) node(name string) *busNode {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := &busNode{b: b, name: name, handlers: map[string]func(context.Context, string, []byte) ([]byte, error){}}
	b.nodes[name] = n
	return n
}

// setOwner makes node the owner of a portal.
func (b *bus) setOwner(portalID int64, node string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.owners[portalID] = node
}

func (b *bus) ownerOf(portalID int64) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.owners[portalID]
}

// kill makes a node dead.
func (b *bus) kill(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nodes[name].dead = true
}

// loseTopic makes the messages of a topic lost (or delivered again).
func (b *bus) loseTopic(topic string, lost bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lose[topic] = lost
}

// answered is how many requests of a kind were answered.
func (b *bus) answered(kind string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[kind]
}

type busNode struct {
	b        *bus
	name     string
	dead     bool // guarded by b.mu
	handlers map[string]func(context.Context, string, []byte) ([]byte, error)
}

func (n *busNode) Node() string { return n.name }

func (n *busNode) Owner(_ context.Context, portalID int64) (string, error) {
	b := n.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if n.dead {
		return "", errBusUnreachable
	}
	if o, ok := b.owners[portalID]; ok && !b.nodes[o].dead {
		return o, nil
	}
	b.owners[portalID] = n.name
	return n.name, nil
}

func (n *busNode) Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	b := n.b
	b.mu.Lock()
	to := b.nodes[node]
	if to == nil || to.dead || n.dead {
		b.mu.Unlock()
		return nil, errBusUnreachable
	}
	h := to.handlers[kind]
	b.mu.Unlock()
	if h == nil {
		return nil, errors.New("bus: no handler for " + kind)
	}
	out, err := h(ctx, n.name, data)
	if err == nil {
		b.mu.Lock()
		b.calls[kind]++
		b.mu.Unlock()
	}
	return out, err
}

func (n *busNode) Handle(kind string, h func(ctx context.Context, from string, data []byte) ([]byte, error)) {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	n.handlers[kind] = h
}

func (n *busNode) Publish(topic string, data []byte) error {
	b := n.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if n.dead || b.lose[topic] {
		return nil
	}
	for _, s := range b.subs[topic] {
		if !s.node.dead {
			s.push(busMsg{from: n.name, data: append([]byte(nil), data...)})
		}
	}
	return nil
}

func (n *busNode) Subscribe(topic string, h func(from string, data []byte)) (func(), error) {
	b := n.b
	s := &busSub{node: n, h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.run()
	b.mu.Lock()
	b.subs[topic] = append(b.subs[topic], s)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		l := b.subs[topic]
		for i, o := range l {
			if o == s {
				b.subs[topic] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		b.mu.Unlock()
		s.close()
	}, nil
}

type busMsg struct {
	from string
	data []byte
}

// busSub delivers a subscription's messages in order, on a goroutine of
// its own, as a NATS subscription does.
type busSub struct {
	node *busNode
	h    func(string, []byte)
	mu   sync.Mutex
	q    []busMsg
	wake chan struct{}
	done chan struct{}
	once sync.Once
}

func (s *busSub) push(m busMsg) {
	s.mu.Lock()
	s.q = append(s.q, m)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *busSub) close() { s.once.Do(func() { close(s.done) }) }

func (s *busSub) run() {
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.q) == 0 {
				s.mu.Unlock()
				break
			}
			m := s.q[0]
			s.q = s.q[1:]
			s.mu.Unlock()
			s.h(m.from, m.data)
		}
	}
}

// clusterTest runs engines of portal acme on one store, connected by a
// bus, each with its own fake clock and fake agents (a deskTest each).
type clusterTest struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	bus    *bus
	nodes  map[string]*deskTest
	portal int64 // acme's id
}

func newClusterTest(t *testing.T, names ...string) *clusterTest {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := st.AddPortal(ctx, "acme", "test")
	if err != nil {
		t.Fatal(err)
	}
	ct := &clusterTest{t: t, ctx: ctx, st: st, bus: newBus(t), nodes: map[string]*deskTest{}, portal: p.ID}
	for _, name := range names {
		ct.start(name)
	}
	return ct
}

// start runs the engine of a node.
func (ct *clusterTest) start(name string) *deskTest {
	ct.t.Helper()
	agents := newFakeAgents()
	e := New(Config{Domain: "example.test", Nodes: ct.bus.node(name)}, ct.st, nil)
	e.clock = newFakeClock()
	e.Attach(agents)
	if err := e.Start(ct.ctx); err != nil {
		ct.t.Fatal(err)
	}
	ct.t.Cleanup(e.Stop)
	d := &deskTest{t: ct.t, ctx: ct.ctx, e: e, st: ct.st, agents: agents, clock: e.clock.(*fakeClock)}
	ct.nodes[name] = d
	return d
}

// agent adds an agent of acme, online on every node.
func (ct *clusterTest) agent(n store.NewAgent) AgentInfo {
	ct.t.Helper()
	var a AgentInfo
	first := true
	for _, d := range ct.nodes {
		if first {
			a = d.agent(n, true)
			first = false
			continue
		}
		d.setOnline(n.Username, true)
	}
	return a
}

// kill makes a node die: it is cut off, and its engine stops without
// ending its chats.
func (ct *clusterTest) kill(name string) {
	ct.bus.kill(name)
	ct.nodes[name].e.Stop()
}
