package cluster

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// claimTries bounds the compare-and-set rounds of one claim: each lost
// round means another node changed the lease meanwhile.
const claimTries = 5

// lease is a chat's entry in jd_chats: the node running it.
type lease struct {
	owner string
	rev   uint64
}

// leases is the memory copy of jd_chats.
type leases struct {
	mu      sync.RWMutex
	byChat  map[int64]lease
	byOwner map[string]map[int64]struct{}
}

func newLeases() *leases {
	return &leases{byChat: map[int64]lease{}, byOwner: map[string]map[int64]struct{}{}}
}

// chatKey is a chat's key in jd_chats: its id in decimal.
func chatKey(id int64) string { return strconv.FormatInt(id, 10) }

// Claim makes this node the chat's owner if no node is, or if its owner
// is lost (a compare-and-set on the lease's revision, so that of nodes
// racing exactly one wins). It returns the owner and whether it is this
// node; claiming a chat this node owns wins again.
func (c *Cluster) Claim(ctx context.Context, chatID int64) (owner string, won bool, err error) {
	key := chatKey(chatID)
	for range claimTries {
		owner, won, again, err := c.claimOnce(ctx, key)
		if err != nil {
			return "", false, fmt.Errorf("cluster: claim chat %d: %w", chatID, err)
		}
		if !again {
			return owner, won, nil
		}
	}
	return "", false, fmt.Errorf("cluster: claim chat %d: the lease kept changing", chatID)
}

// claimOnce is one round of Claim; again says the lease changed under it.
func (c *Cluster) claimOnce(ctx context.Context, key string) (owner string, won, again bool, err error) {
	_, err = c.chatsKV.Create(ctx, key, []byte(c.node))
	if err == nil {
		return c.node, true, false, nil
	}
	if !casConflict(err) {
		return "", false, false, err
	}
	e, err := c.chatsKV.Get(ctx, key)
	if gone(err) {
		return "", false, true, nil
	}
	if err != nil {
		return "", false, false, err
	}
	owner = string(e.Value())
	if owner == c.node {
		return owner, true, false, nil
	}
	lost, err := c.ownerLost(ctx, owner)
	if err != nil || !lost {
		return owner, false, false, err
	}
	_, err = c.chatsKV.Update(ctx, key, []byte(c.node), e.Revision())
	switch {
	case err == nil:
		c.log.Info("cluster: took over a chat of a lost node", "chat", key, "lost", owner)
		return c.node, true, false, nil
	case casConflict(err):
		return "", false, true, nil
	}
	return "", false, false, err
}

// ownerLost tells whether a lease's owner is lost. An owner the registry
// has not heard of (yet) is asked of the server: lost only if it has no
// heartbeat at all.
func (c *Cluster) ownerLost(ctx context.Context, owner string) (bool, error) {
	if c.nodes.known(owner) {
		return !c.alive(owner), nil
	}
	_, err := c.nodesKV.Get(ctx, owner)
	if gone(err) {
		return true, nil
	}
	return false, err
}

// Release gives up the chat's lease if this node owns it (a delete at
// the lease's revision); otherwise it does nothing.
func (c *Cluster) Release(ctx context.Context, chatID int64) error {
	key := chatKey(chatID)
	e, err := c.chatsKV.Get(ctx, key)
	if gone(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: release chat %d: %w", chatID, err)
	}
	if string(e.Value()) != c.node {
		return nil
	}
	err = c.chatsKV.Purge(ctx, key, jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(markerTTL))
	if err != nil && !casConflict(err) {
		return fmt.Errorf("cluster: release chat %d: %w", chatID, err)
	}
	return nil
}

// TakeOver claims the chats the lost node owns that no other node has
// taken yet, and returns those this node won, in order; the caller loads
// them from the store. Of several nodes taking over at once each chat
// goes to exactly one. Each node first claims the share a hash of the
// chat's id gives it among the live nodes, then the rest, so that the
// chats spread over the nodes when all take over, and all are taken when
// only some do. On an error the chats won so far are returned with it.
func (c *Cluster) TakeOver(ctx context.Context, lostNode string) ([]int64, error) {
	if lostNode == c.node {
		return nil, fmt.Errorf("cluster: take over the chats of %s: this node", lostNode)
	}
	if c.alive(lostNode) {
		return nil, fmt.Errorf("cluster: take over the chats of %s: %w", lostNode, ErrNodeAlive)
	}
	peers := c.nodes.aliveNodes()
	var first, rest []int64
	for _, id := range c.chats.of(lostNode) {
		if peers[share(id, len(peers))] == c.node {
			first = append(first, id)
		} else {
			rest = append(rest, id)
		}
	}
	var mu sync.Mutex
	var won []int64
	take := func(id int64) error {
		ok, err := c.takeFrom(ctx, id, lostNode)
		if ok {
			mu.Lock()
			won = append(won, id)
			mu.Unlock()
		}
		if err != nil {
			return fmt.Errorf("chat %d: %w", id, err)
		}
		return nil
	}
	err := cmp.Or(parallel(first, take), parallel(rest, take))
	slices.Sort(won)
	if len(won) > 0 {
		c.log.Info("cluster: took over chats of a lost node", "lost", lostNode, "chats", len(won))
	}
	if err != nil {
		return won, fmt.Errorf("cluster: take over the chats of %s: %w", lostNode, err)
	}
	return won, nil
}

// share picks one of n nodes for a chat, evenly over consecutive ids.
func share(id int64, n int) int {
	return int((uint64(id) * 0x9E3779B97F4A7C15 >> 32) % uint64(n))
}

// takeFrom moves one chat from the lost node to this one, unless it has
// moved already.
func (c *Cluster) takeFrom(ctx context.Context, id int64, lost string) (bool, error) {
	l, ok := c.chats.get(id)
	if !ok || l.owner != lost {
		return false, nil
	}
	key, rev := chatKey(id), l.rev
	for range claimTries {
		_, err := c.chatsKV.Update(ctx, key, []byte(c.node), rev)
		if err == nil {
			return true, nil
		}
		if !casConflict(err) {
			return false, err
		}
		e, err := c.chatsKV.Get(ctx, key)
		if gone(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(e.Value()) != lost {
			return false, nil
		}
		rev = e.Revision()
	}
	return false, nil
}

// Owner is the live node running the chat, from memory; false when no
// lease exists or its owner is lost (Claim then takes it).
func (c *Cluster) Owner(chatID int64) (string, bool) {
	l, ok := c.chats.get(chatID)
	if !ok || !c.alive(l.owner) {
		return "", false
	}
	return l.owner, true
}

// Owned lists the chats this node owns, in order, from memory. After
// Join it includes the leases a previous run of this node kept (unless
// another node took them over meanwhile).
func (c *Cluster) Owned() []int64 { return c.chats.of(c.node) }

func (l *leases) reset(entries []jetstream.KeyValueEntry) {
	fresh := newLeases()
	for _, e := range entries {
		if !deleted(e) {
			fresh.set(e.Key(), string(e.Value()), e.Revision())
		}
	}
	l.mu.Lock()
	l.byChat, l.byOwner = fresh.byChat, fresh.byOwner
	l.mu.Unlock()
}

func (l *leases) apply(e jetstream.KeyValueEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if deleted(e) {
		l.set(e.Key(), "", 0)
	} else {
		l.set(e.Key(), string(e.Value()), e.Revision())
	}
}

// set records a chat's owner, or forgets the chat when owner is empty;
// l.mu is held.
func (l *leases) set(key, owner string, rev uint64) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return
	}
	if old, ok := l.byChat[id]; ok {
		delete(l.byOwner[old.owner], id)
		if len(l.byOwner[old.owner]) == 0 {
			delete(l.byOwner, old.owner)
		}
		delete(l.byChat, id)
	}
	if owner == "" {
		return
	}
	l.byChat[id] = lease{owner: owner, rev: rev}
	if l.byOwner[owner] == nil {
		l.byOwner[owner] = map[int64]struct{}{}
	}
	l.byOwner[owner][id] = struct{}{}
}

func (l *leases) get(id int64) (lease, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	le, ok := l.byChat[id]
	return le, ok
}

func (l *leases) of(owner string) []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Sorted(maps.Keys(l.byOwner[owner]))
}

func (l *leases) count(owner string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.byOwner[owner])
}
