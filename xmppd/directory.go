package xmppd

import (
	"context"
	"sync"
	"time"

	"jabberdesk/store"
)

// directory caches each portal's agents, for rosters and addressing. It is
// loaded lazily, once however many sessions ask at the same time, and
// replaced whole when the admin CLI reports a change.
type directory struct {
	agents func(ctx context.Context, portal string) ([]store.Agent, error) // a portal's agents, from the store
	policy RosterPolicy                                                    // who sees whom

	mu      sync.Mutex
	portals map[string]*portalDir
	loading map[string]*dirLoad // portal → the load under way
}

// cached returns a portal's snapshot if it is loaded, else loads it
// without a session's context: presence from another node or a change
// reported by the CLI has none.
func (d *directory) cached(portal string) *portalDir {
	d.mu.Lock()
	p := d.portals[portal]
	d.mu.Unlock()
	if p != nil {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), dirLoadTimeout)
	defer cancel()
	p, err := d.get(ctx, portal)
	if err != nil {
		return &portalDir{byKey: map[string]int{}, colleagues: newColleagueIndex(nil)}
	}
	return p
}

// dirLoadTimeout bounds a load of a portal's agents without a session.
const dirLoadTimeout = 10 * time.Second

// dirLoad is a load that sessions of the same portal wait for.
type dirLoad struct {
	done chan struct{}
	p    *portalDir
	err  error
}

// portalDir is an immutable snapshot of one portal's agents.
type portalDir struct {
	agents     []store.Agent // by username key
	byKey      map[string]int
	colleagues *colleagueIndex // department rosters; nil: portal-wide (colleagues.go)
}

func newDirectory(st *store.Store, policy RosterPolicy) *directory {
	return &directory{agents: st.Agents, policy: policy, portals: make(map[string]*portalDir), loading: make(map[string]*dirLoad)}
}

func (d *directory) get(ctx context.Context, portal string) (*portalDir, error) {
	d.mu.Lock()
	if p := d.portals[portal]; p != nil {
		d.mu.Unlock()
		return p, nil
	}
	if l := d.loading[portal]; l != nil {
		d.mu.Unlock()
		select {
		case <-l.done:
			return l.p, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &dirLoad{done: make(chan struct{})}
	d.loading[portal] = l
	d.mu.Unlock()

	l.p, l.err = d.load(ctx, portal)
	d.mu.Lock()
	delete(d.loading, portal)
	if l.err == nil {
		if cur := d.portals[portal]; cur != nil {
			l.p = cur // a reload got there first
		} else {
			d.portals[portal] = l.p
		}
	}
	d.mu.Unlock()
	close(l.done)
	return l.p, l.err
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
	agents, err := d.agents(ctx, portal)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	p := &portalDir{agents: agents, byKey: make(map[string]int, len(agents))}
	for i, a := range agents {
		p.byKey[a.Key()] = i
	}
	if !d.policy.portalWide(len(agents)) {
		p.colleagues = newColleagueIndex(agents)
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
