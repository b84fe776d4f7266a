package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"jabberdesk/store"
)

// With several nodes (docs/CLUSTER.md, "Chats across nodes"), each
// portal's live chats run on one node, the portal's owner: routing needs
// the whole portal in one place (its queue, round robin, agents' loads and
// max_chats). Every public entry point of the engine that reaches a live
// chat sends the call to the owner when that is another node (forward.go),
// visitors' streams on other nodes follow the chat through a topic the
// owner publishes its events on (watch.go), and a node that takes a portal
// over from one that died loads its live chats from the store as start-up
// does (Adopt).

// Nodes is what the engine needs of the other nodes when several run
// (docs/CLUSTER.md); Config.Nodes nil means a single node (today's behaviour, unchanged).
type Nodes interface {
	Node() string
	// Owner returns the node that runs the portal's chats, claiming the portal for this node when no live node does.
	Owner(ctx context.Context, portalID int64) (string, error)
	Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) // request/reply to one node; error if unreachable
	Handle(kind string, h func(ctx context.Context, from string, data []byte) ([]byte, error))
	Publish(topic string, data []byte) error // to every node, this one included
	Subscribe(topic string, h func(from string, data []byte)) (func(), error)
}

// Kinds and topics are made of [A-Za-z0-9_.-]: the engine's all start
// with "bridge.".
const (
	// liveTopic carries nothing but "what Live shows changed" (live.go):
	// the consoles of every node wake up.
	liveTopic = "bridge.live"
	// chatTopicPrefix and a chat's id name the topic its events go to
	// (watch.go).
	chatTopicPrefix = "bridge.chat."
)

// nodes is what the engine keeps of the other nodes; nil with one node.
type nodes struct {
	Nodes
	self string
	quit chan struct{} // closed by Stop
	live chan struct{} // poked when what Live shows changed (publishLive)

	mu       sync.Mutex
	ids      map[string]int64 // portal name → id
	names    map[int64]string // portal id → name
	owners   map[int64]string // portal id → its owner, as last learned
	gen      map[int64]int    // portal id → changes of its owner here: a late answer of Owner is not taken over a newer one
	here     map[int64]*claim // portals whose chats run here: loading or loaded
	channels map[int64]string // channel id → portal name
	watches  map[int64]*watch // chats of other nodes that visitor streams here follow, by chat id
	unsubs   []func()
}

// claim is a portal taken by this node: its live chats are loaded once,
// and calls for it wait until they are.
type claim struct {
	done chan struct{}
	err  error
}

func newNodes(n Nodes) *nodes {
	return &nodes{Nodes: n, self: n.Node(), quit: make(chan struct{}), live: make(chan struct{}, 1),
		ids: map[string]int64{}, names: map[int64]string{}, owners: map[int64]string{}, gen: map[int64]int{},
		here: map[int64]*claim{}, channels: map[int64]string{}, watches: map[int64]*watch{}}
}

// poke wakes whoever reads c, once however often it is called before.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// portalID is a portal's id, by its name.
func (e *Engine) portalID(ctx context.Context, portal string) (int64, error) {
	n := e.nodes
	n.mu.Lock()
	id, ok := n.ids[portal]
	n.mu.Unlock()
	if ok {
		return id, nil
	}
	p, err := e.store.Portal(ctx, portal)
	if err != nil {
		return 0, err
	}
	n.mu.Lock()
	n.ids[portal], n.names[p.ID] = p.ID, portal
	n.mu.Unlock()
	return p.ID, nil
}

// channelPortal is the portal of an IM channel, by its id.
func (e *Engine) channelPortal(ctx context.Context, channelID int64) (string, error) {
	n := e.nodes
	n.mu.Lock()
	portal, ok := n.channels[channelID]
	n.mu.Unlock()
	if ok {
		return portal, nil
	}
	ch, err := e.store.ChannelByID(ctx, channelID)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.channels[channelID] = ch.Portal
	n.mu.Unlock()
	return ch.Portal, nil
}

// owner returns the node that runs the portal's chats. When that is this
// node, its live chats run here by the time owner returns (the first call
// loads them: claim). The answer is kept; forgetOwner drops it.
func (e *Engine) owner(ctx context.Context, portal string) (string, error) {
	n := e.nodes
	id, err := e.portalID(ctx, portal)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	node, known := n.owners[id]
	gen := n.gen[id]
	n.mu.Unlock()
	if !known {
		if node, err = n.Owner(ctx, id); err != nil {
			return "", fmt.Errorf("bridge: find the node of portal %s: %w", portal, err)
		}
		n.mu.Lock()
		if n.gen[id] != gen { // adopted or released meanwhile: that is newer
			node = n.owners[id]
		} else {
			n.owners[id] = node
		}
		lost := node != n.self && n.here[id] != nil
		n.mu.Unlock()
		if lost {
			// Another node holds the portal now: this one must not run
			// its chats too.
			e.log.Warn("portal taken over by another node", "portal", portal, "node", node)
			e.release(id)
		}
	}
	if node != n.self {
		return node, nil
	}
	return node, e.claim(ctx, id)
}

// runsHere reports whether the portal's chats run on this node now,
// without asking anyone.
func (e *Engine) runsHere(portal string) bool {
	n := e.nodes
	n.mu.Lock()
	defer n.mu.Unlock()
	id, ok := n.ids[portal]
	if !ok {
		return false
	}
	cl := n.here[id]
	if cl == nil {
		return false
	}
	select {
	case <-cl.done:
		return cl.err == nil
	default:
		return false // loading: the chats are offered as they are restored
	}
}

// forgetOwner drops what this node knows of the portal's owner when a call to
// that node failed, so that the next call asks Owner again.
func (e *Engine) forgetOwner(portal, node string) {
	n := e.nodes
	n.mu.Lock()
	defer n.mu.Unlock()
	if id, ok := n.ids[portal]; ok && n.owners[id] == node {
		delete(n.owners, id)
	}
}

// claim runs the portal's live chats on this node, loading them from the
// store the first time.
func (e *Engine) claim(ctx context.Context, id int64) error {
	if e.isClosed() {
		return errStopped
	}
	n := e.nodes
	n.mu.Lock()
	cl := n.here[id]
	if cl != nil {
		n.mu.Unlock()
		select {
		case <-cl.done:
			return cl.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cl = &claim{done: make(chan struct{})}
	n.here[id] = cl
	n.mu.Unlock()
	// Loading goes on whatever becomes of the request that asked for it:
	// others wait for it.
	cl.err = e.loadPortal(context.WithoutCancel(ctx), id)
	if cl.err != nil {
		n.mu.Lock()
		if n.here[id] == cl {
			delete(n.here, id) // the next call tries again
		}
		n.mu.Unlock()
	}
	close(cl.done)
	return cl.err
}

// loadPortal makes the portal's live chats live here and resumes them as
// start-up does (Chat.restore).
func (e *Engine) loadPortal(ctx context.Context, id int64) error {
	chats, err := e.store.PortalLiveChats(ctx, id)
	if err != nil {
		return fmt.Errorf("bridge: load the chats of portal %d: %w", id, err)
	}
	e.restoreChats(chats)
	if len(chats) > 0 {
		n := e.nodes
		n.mu.Lock()
		n.names[id], n.ids[chats[0].Portal] = chats[0].Portal, id
		n.mu.Unlock()
		e.log.Info("took over the live chats of a portal", "portal", chats[0].Portal, "count", len(chats))
	}
	return nil
}

// restoreChats makes stored live chats live (those not live here already)
// and resumes each on its goroutine.
func (e *Engine) restoreChats(chats []store.Chat) {
	for _, sc := range chats {
		e.mu.Lock()
		running := e.live[sc.ID] != nil
		e.mu.Unlock()
		if running {
			continue
		}
		c := e.adopt(sc)
		c.post(func() { c.restore() })
	}
}

// Adopt runs the live chats of portals this node won after their owner
// died (or left): they are loaded from the store as Start loads them at
// start-up, and their timers resume (docs/CLUSTER.md). A portal whose
// chats run here already is left as it is. Without Config.Nodes every
// portal's chats run here from Start: there is nothing to do.
func (e *Engine) Adopt(ctx context.Context, portalIDs []int64) error {
	n := e.nodes
	if n == nil {
		return nil
	}
	var errs []error
	for _, id := range portalIDs {
		n.mu.Lock()
		n.owners[id] = n.self
		n.gen[id]++
		n.mu.Unlock()
		if err := e.claim(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("bridge: adopt portal %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Release stops running the chats of portals this node no longer owns
// (its lease was lost): their goroutines end without ending the chats,
// which the new owner loads from the store, and visitors' streams here
// close so that they come back through the new owner. Without
// Config.Nodes there is nothing to do.
func (e *Engine) Release(portalIDs []int64) {
	if e.nodes == nil {
		return
	}
	for _, id := range portalIDs {
		e.release(id)
	}
}

func (e *Engine) release(id int64) {
	n := e.nodes
	n.mu.Lock()
	cl := n.here[id]
	delete(n.here, id)
	if n.owners[id] == n.self {
		delete(n.owners, id)
	}
	n.gen[id]++
	name := n.names[id]
	n.mu.Unlock()
	if cl == nil {
		return
	}
	<-cl.done
	e.unloadPortal(name)
}

// unloadPortal stops the portal's chats here and forgets what the engine
// counted for them: contacts, loads and round-robin cursors.
func (e *Engine) unloadPortal(portal string) {
	chats := e.portalChats(portal)
	for _, c := range chats {
		c.stop()
		<-c.exited
		c.closeStreams()
	}
	e.mu.Lock()
	for _, c := range chats {
		delete(e.live, c.id)
		delete(e.byNumber, c.address())
	}
	for ref := range e.contacts {
		if ref.Portal == portal {
			delete(e.contacts, ref)
		}
	}
	for ref := range e.load {
		if ref.Portal == portal {
			delete(e.load, ref)
		}
	}
	for ref := range e.rr {
		if ref.Portal == portal {
			delete(e.rr, ref)
		}
	}
	e.mu.Unlock()
	e.changed()
	if len(chats) > 0 {
		e.log.Info("released the live chats of a portal", "portal", portal, "count", len(chats))
	}
}

// startNodes is Start with several nodes: the calls of the other nodes
// are answered, the consoles follow every node's changes, and the
// portals with live chats that no live node runs are taken here (Owner
// claims them); the others wait for their owners.
func (e *Engine) startNodes(ctx context.Context) error {
	n := e.nodes
	for _, r := range e.routes() {
		n.Handle(r.kind, e.serveRoute(r))
	}
	unsub, err := n.Subscribe(liveTopic, func(from string, _ []byte) {
		if from != n.self {
			e.changes.fire()
		}
	})
	if err != nil {
		return fmt.Errorf("bridge: start: follow %s: %w", liveTopic, err)
	}
	n.mu.Lock()
	n.unsubs = append(n.unsubs, unsub)
	n.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.publishLive()
	}()
	chats, err := e.store.LiveChats(ctx)
	if err != nil {
		return fmt.Errorf("bridge: restore chats: %w", err)
	}
	seen := map[string]bool{}
	var errs []error
	for _, sc := range chats {
		if seen[sc.Portal] {
			continue
		}
		seen[sc.Portal] = true
		if _, err := e.owner(ctx, sc.Portal); err != nil {
			errs = append(errs, fmt.Errorf("bridge: restore the chats of portal %s: %w", sc.Portal, err))
		}
	}
	return errors.Join(errs...)
}

// publishLive tells the other nodes' consoles that what Live shows
// changed here, once for however many changes came while it was telling.
func (e *Engine) publishLive() {
	n := e.nodes
	for {
		select {
		case <-n.quit:
			return
		case <-n.live:
		}
		if err := n.Publish(liveTopic, nil); err != nil {
			e.log.Debug("tell the other nodes of a change", "err", err)
		}
	}
}

// changed wakes the consoles that wait for a change of what Live shows,
// on this node and, with several, on the others.
func (e *Engine) changed() {
	e.changes.fire()
	if e.nodes != nil {
		poke(e.nodes.live)
	}
}

// stopNodes ends what Start began for the other nodes: the topics are
// left and the streams' watches stop.
func (e *Engine) stopNodes() {
	n := e.nodes
	n.mu.Lock()
	unsubs := n.unsubs
	n.unsubs = nil
	watches := make([]*watch, 0, len(n.watches))
	for _, w := range n.watches {
		watches = append(watches, w)
	}
	n.mu.Unlock()
	select {
	case <-n.quit:
	default:
		close(n.quit)
	}
	for _, u := range unsubs {
		u()
	}
	for _, w := range watches {
		w.stop()
	}
}
