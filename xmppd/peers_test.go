package xmppd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
)

// bus connects the servers of one test as the cluster package connects
// nodes: a session directory, requests answered by the named node, and
// topics every node's subscribers get, in the order each node published.
// A node can be cut off (unreachable both ways) and lost.
type bus struct {
	mu       sync.Mutex
	nodes    map[string]*busPeer
	sessions map[RemoteSession]bool
}

func newBus() *bus {
	return &bus{nodes: map[string]*busPeer{}, sessions: map[RemoteSession]bool{}}
}

// busPeer is one node's Peers on a bus.
type busPeer struct {
	bus  *bus
	name string

	mu       sync.Mutex
	handlers map[string]func(ctx context.Context, from string, data []byte) ([]byte, error)
	subs     map[string]map[int]func(from string, data []byte)
	nextSub  int
	down     bool
	inbox    chan func() // what the node's subscribers get, in order
}

var errUnreachable = errors.New("bus: node unreachable")

// peer makes the Peers of a node; its subscribers run on a goroutine of
// their own until the end of the test.
func (b *bus) peer(t testing.TB, name string) *busPeer {
	p := &busPeer{bus: b, name: name, handlers: map[string]func(context.Context, string, []byte) ([]byte, error){},
		subs: map[string]map[int]func(string, []byte){}, inbox: make(chan func(), 4096)}
	b.mu.Lock()
	b.nodes[name] = p
	b.mu.Unlock()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case f := <-p.inbox:
				f()
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return p
}

// cut makes a node unreachable (or reachable again): requests to and
// from it fail, what it publishes and what is published to it is lost,
// and it cannot update the directory.
func (b *bus) cut(name string, down bool) {
	b.mu.Lock()
	p := b.nodes[name]
	b.mu.Unlock()
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// lose drops a node from the directory, as the cluster does with a node
// it declares dead (the test then calls PeerLost on the others).
func (b *bus) lose(name string) {
	b.cut(name, true)
	b.mu.Lock()
	defer b.mu.Unlock()
	for r := range b.sessions {
		if r.Node == name {
			delete(b.sessions, r)
		}
	}
}

func (p *busPeer) isDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

func (p *busPeer) Node() string { return p.name }

func (p *busPeer) AddSession(_ context.Context, bare, resource string) error {
	if p.isDown() {
		return errUnreachable
	}
	p.bus.mu.Lock()
	defer p.bus.mu.Unlock()
	p.bus.sessions[RemoteSession{bare, resource, p.name}] = true
	return nil
}

func (p *busPeer) RemoveSession(_ context.Context, bare, resource string) error {
	if p.isDown() {
		return errUnreachable
	}
	p.bus.mu.Lock()
	defer p.bus.mu.Unlock()
	delete(p.bus.sessions, RemoteSession{bare, resource, p.name})
	return nil
}

func (p *busPeer) RemoteSessions(bare string) []RemoteSession {
	p.bus.mu.Lock()
	defer p.bus.mu.Unlock()
	var out []RemoteSession
	for r := range p.bus.sessions {
		if r.Bare == bare && r.Node != p.name {
			out = append(out, r)
		}
	}
	return out
}

func (p *busPeer) Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	p.bus.mu.Lock()
	to := p.bus.nodes[node]
	p.bus.mu.Unlock()
	if to == nil || to.isDown() || p.isDown() {
		return nil, fmt.Errorf("%w: %s", errUnreachable, node)
	}
	to.mu.Lock()
	h := to.handlers[kind]
	to.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("bus: node %s does not answer %s", node, kind)
	}
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		b, err := h(ctx, p.name, data)
		ch <- answer{b, err}
	}()
	select {
	case a := <-ch:
		return a.b, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *busPeer) Handle(kind string, h func(ctx context.Context, from string, data []byte) ([]byte, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handlers[kind] = h
}

func (p *busPeer) Publish(topic string, data []byte) error {
	if p.isDown() {
		return nil // lost on the way, as a publication is
	}
	p.bus.mu.Lock()
	nodes := make([]*busPeer, 0, len(p.bus.nodes))
	for _, n := range p.bus.nodes {
		nodes = append(nodes, n)
	}
	p.bus.mu.Unlock()
	for _, n := range nodes {
		n.mu.Lock()
		var hs []func(string, []byte)
		if !n.down {
			for _, h := range n.subs[topic] {
				hs = append(hs, h)
			}
		}
		n.mu.Unlock()
		for _, h := range hs {
			n.inbox <- func() { h(p.name, data) }
		}
	}
	return nil
}

func (p *busPeer) Subscribe(topic string, h func(from string, data []byte)) (func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs[topic] == nil {
		p.subs[topic] = map[int]func(string, []byte){}
	}
	p.nextSub++
	id := p.nextSub
	p.subs[topic][id] = h
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.subs[topic], id)
	}, nil
}

// cluster is several servers on one store, connected by a bus.
type cluster struct {
	bus   *bus
	nodes map[string]*testEnv
	desks map[string]*recordingDesk
}

// newCluster starts a server for each name, sharing one SQLite file.
func newCluster(t *testing.T, names []string, tweak ...func(*Config)) *cluster {
	t.Helper()
	path := newTestStore(t)
	c := &cluster{bus: newBus(), nodes: map[string]*testEnv{}, desks: map[string]*recordingDesk{}}
	for _, name := range names {
		p := c.bus.peer(t, name)
		d := &recordingDesk{}
		c.desks[name] = d
		c.nodes[name] = startTestEnv(t, openTestStore(t, path), append([]func(*Config){func(cfg *Config) {
			cfg.Peers = p
			cfg.Desk = d
		}}, tweak...)...)
	}
	return c
}

// login signs user/resource in on a node, as newTestEnv's login does.
func (c *cluster) login(node, user, resource string, available bool) *xmpptest.Client {
	return c.nodes[node].login(user, resource, available)
}

// recordingDesk is a desk without chats that records what it is told of
// agents' availability.
type recordingDesk struct {
	noDesk
	mu      sync.Mutex
	changes []string // "portal/agent=availability"
}

func (d *recordingDesk) AgentAvailabilityChanged(portal, agent string, av bridge.Availability) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.changes = append(d.changes, fmt.Sprintf("%s/%s=%d", portal, agent, av))
}

// told reports whether the desk was told that the agent is now av.
func (d *recordingDesk) told(portal, agent string, av bridge.Availability) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := fmt.Sprintf("%s/%s=%d", portal, agent, av)
	for _, c := range d.changes {
		if c == want {
			return true
		}
	}
	return false
}
