package xmppd

import (
	"context"
	"sync"

	"jabberdesk/store"
)

// directory caches each portal's agents, for rosters and addressing. It is
// loaded lazily and replaced whole when the admin CLI reports a change.
type directory struct {
	store *store.Store

	mu      sync.Mutex
	portals map[string]*portalDir
}

// portalDir is an immutable snapshot of one portal's agents.
type portalDir struct {
	agents []store.Agent // by username key
	byKey  map[string]int
}

func newDirectory(st *store.Store) *directory {
	return &directory{store: st, portals: make(map[string]*portalDir)}
}

func (d *directory) get(ctx context.Context, portal string) (*portalDir, error) {
	d.mu.Lock()
	p := d.portals[portal]
	d.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := d.load(ctx, portal)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.portals[portal]; cur != nil {
		return cur, nil
	}
	d.portals[portal] = p
	return p, nil
}

// reload replaces a portal's snapshot and returns the old one (nil if it
// was not loaded); a removed portal gives an empty snapshot.
func (d *directory) reload(ctx context.Context, portal string) (old, cur *portalDir, err error) {
	cur, err = d.load(ctx, portal)
	if err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old = d.portals[portal]
	d.portals[portal] = cur
	return old, cur, nil
}

func (d *directory) load(ctx context.Context, portal string) (*portalDir, error) {
	agents, err := d.store.Agents(ctx, portal)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	p := &portalDir{agents: agents, byKey: make(map[string]int, len(agents))}
	for i, a := range agents {
		p.byKey[a.Key()] = i
	}
	return p, nil
}

// agent returns the agent with the username key, if any.
func (p *portalDir) agent(key string) (store.Agent, bool) {
	if i, ok := p.byKey[key]; ok {
		return p.agents[i], true
	}
	return store.Agent{}, false
}
