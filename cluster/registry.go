package cluster

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// seenBeat is a heartbeat with the time the server wrote it.
type seenBeat struct {
	hb heartbeat
	at time.Time
}

// nodeState is the registry's entry for one node.
type nodeState struct {
	seenBeat
	lost bool
	// keyless: the node's key was missing from the last full load. It
	// left while this node was away — or the server lost its store — and
	// ages like any other until it beats again.
	keyless bool
}

// registry judges which nodes are alive, from the heartbeats the watch
// of jd_nodes delivers. Its clock is the server's: now is the newest
// heartbeat seen, so a node that cannot see the others' heartbeats (its
// own connection is down) cannot see its own either, and loses nobody.
type registry struct {
	self     string
	takeover time.Duration

	mu    sync.Mutex
	nodes map[string]*nodeState
	now   time.Time // the newest heartbeat seen (server time)
	// since is when this node's connection last came up (local time):
	// nobody is judged lost before it is Takeover old, so that the others
	// have had the time to reconnect and beat.
	since time.Time
}

func newRegistry(self string, takeover time.Duration) *registry {
	return &registry{self: self, takeover: takeover, nodes: map[string]*nodeState{}}
}

// connected starts the grace after a (re)connection.
func (r *registry) connected(at time.Time) {
	r.mu.Lock()
	r.since = at
	r.mu.Unlock()
}

// reset replaces the registry with a full load and returns the nodes
// newly lost. A node lost before keeps its mark unless it has beaten
// since. A live node missing from the load is kept, keyless: it may have
// left while the watch was away, or the server may have come back
// without its store and the node not yet beaten again; it is lost if it
// stays silent.
func (r *registry) reset(beats map[string]seenBeat) (lost []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.nodes
	r.nodes = make(map[string]*nodeState, len(beats))
	for name, b := range beats {
		st := &nodeState{seenBeat: b}
		if o, ok := old[name]; ok && o.lost && !b.at.After(o.at) {
			st.lost = true
		}
		r.nodes[name] = st
		if b.at.After(r.now) {
			r.now = b.at
		}
	}
	for name, o := range old {
		if _, ok := r.nodes[name]; !ok && !o.lost {
			r.nodes[name] = &nodeState{seenBeat: o.seenBeat, keyless: true}
		}
	}
	return r.judge()
}

// put records a heartbeat; a lost node that beats is alive again.
func (r *registry) put(name string, b seenBeat) (lost []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.nodes[name]
	if !ok {
		st = &nodeState{}
		r.nodes[name] = st
	}
	if b.at.After(st.at) || !ok {
		st.seenBeat = b
		st.lost, st.keyless = false, false
	}
	if b.at.After(r.now) {
		r.now = b.at
	}
	return r.judge()
}

// remove forgets a node whose key was deleted: one that said goodbye is
// lost at once.
func (r *registry) remove(name string) (lost []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.nodes[name]; ok {
		delete(r.nodes, name)
		if !st.lost && name != r.self {
			lost = append(lost, name)
		}
	}
	return lost
}

// judge marks the nodes silent for longer than takeover, and returns
// them. r.mu is held.
func (r *registry) judge() (lost []string) {
	if r.since.IsZero() || time.Since(r.since) < r.takeover {
		return nil
	}
	for name, st := range r.nodes {
		if name != r.self && !st.lost && r.now.Sub(st.at) > r.takeover {
			st.lost = true
			lost = append(lost, name)
			if st.keyless {
				delete(r.nodes, name) // as after a goodbye
			}
		}
	}
	slices.Sort(lost)
	return lost
}

// alive tells whether node is this one, or has a heartbeat and is not
// lost.
func (r *registry) alive(node string) bool {
	if node == r.self {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.nodes[node]
	return ok && !st.lost
}

// known tells whether the registry has a heartbeat of node.
func (r *registry) known(node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.nodes[node]
	return ok
}

// aliveNodes lists the live nodes by name, this one included.
func (r *registry) aliveNodes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := []string{r.self}
	for name, st := range r.nodes {
		if name != r.self && !st.lost {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// list is the registry as NodeStatus values, by name.
func (r *registry) list() []NodeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]NodeStatus, 0, len(r.nodes))
	for name, st := range r.nodes {
		out = append(out, NodeStatus{
			Node: name, Started: st.hb.Started, LastSeen: st.at, Age: r.now.Sub(st.at),
			Sessions: st.hb.Sessions, Chats: st.hb.Chats, Stats: st.hb.Stats,
			Alive: name == r.self || !st.lost, Self: name == r.self,
		})
	}
	slices.SortFunc(out, func(a, b NodeStatus) int { return strings.Compare(a.Node, b.Node) })
	return out
}
