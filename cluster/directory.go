package cluster

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Session is one XMPP session in the directory: the bare JID, the
// resource, and the node the session is connected to.
type Session struct {
	JID      string
	Resource string
	Node     string
}

// sessionKey is a session's key in jd_sessions: base64url (no padding)
// of the bare JID and of the resource, then the node, joined with dots —
// key characters are few, and JIDs hold '|', '@' and any resource. A bare
// JID's sessions share the key prefix, a node's the key suffix.
func sessionKey(bare, resource, node string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(bare)) + "." + enc.EncodeToString([]byte(resource)) + "." + node
}

// parseSessionKey reads a key that sessionKey made.
func parseSessionKey(key string) (Session, bool) {
	parts := strings.Split(key, ".")
	if len(parts) != 3 || !nodeName.MatchString(parts[2]) {
		return Session{}, false
	}
	bare, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	res, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || len(bare) == 0 || len(res) == 0 {
		return Session{}, false
	}
	return Session{JID: string(bare), Resource: string(res), Node: parts[2]}, true
}

// directory is the memory copy of jd_sessions.
type directory struct {
	mu     sync.RWMutex
	byJID  map[string][]Session         // bare JID → its sessions on any node
	byNode map[string]map[string]uint64 // node → key → revision
}

func newDirectory() *directory {
	return &directory{byJID: map[string][]Session{}, byNode: map[string]map[string]uint64{}}
}

// AddSession records that the session bareJID/resource is connected to
// this node. The other nodes see it once their watch delivers it,
// usually within a millisecond; this node's Sessions too.
func (c *Cluster) AddSession(ctx context.Context, bareJID, resource string) error {
	if bareJID == "" || resource == "" {
		return fmt.Errorf("cluster: add session %q/%q: empty JID or resource", bareJID, resource)
	}
	key := sessionKey(bareJID, resource, c.node)
	c.mu.Lock()
	c.own[key] = struct{}{}
	c.mu.Unlock()
	if _, err := c.sessKV.Put(ctx, key, []byte(c.node)); err != nil {
		c.mu.Lock()
		delete(c.own, key)
		c.mu.Unlock()
		return fmt.Errorf("cluster: add session %s/%s: %w", bareJID, resource, err)
	}
	return nil
}

// RemoveSession deletes this node's session bareJID/resource from the
// directory.
func (c *Cluster) RemoveSession(ctx context.Context, bareJID, resource string) error {
	if bareJID == "" || resource == "" {
		return fmt.Errorf("cluster: remove session %q/%q: empty JID or resource", bareJID, resource)
	}
	key := sessionKey(bareJID, resource, c.node)
	c.mu.Lock()
	delete(c.own, key)
	c.mu.Unlock()
	if err := c.sessKV.Purge(ctx, key, jetstream.PurgeTTL(markerTTL)); err != nil {
		return fmt.Errorf("cluster: remove session %s/%s: %w", bareJID, resource, err)
	}
	return nil
}

// Sessions lists bareJID's sessions on the live nodes, this one
// included, by node and resource. It reads memory only.
func (c *Cluster) Sessions(bareJID string) []Session {
	c.dir.mu.RLock()
	all := slices.Clone(c.dir.byJID[bareJID])
	c.dir.mu.RUnlock()
	out := all[:0]
	for _, s := range all {
		if c.alive(s.Node) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Session) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Resource, b.Resource))
	})
	return out
}

// resetSessions replaces the directory with a full load, then has this
// node's sessions put back if the server lost them.
func (c *Cluster) resetSessions(entries []jetstream.KeyValueEntry) {
	d := newDirectory()
	for _, e := range entries {
		if !deleted(e) {
			d.add(e.Key(), e.Revision())
		}
	}
	c.dir.mu.Lock()
	c.dir.byJID, c.dir.byNode = d.byJID, d.byNode
	c.dir.mu.Unlock()
	signal(c.reassert)
}

// applySession takes one change; when another node deleted one of this
// node's sessions (it took this node for lost), the session is put back.
func (c *Cluster) applySession(e jetstream.KeyValueEntry) {
	c.dir.mu.Lock()
	if deleted(e) {
		c.dir.remove(e.Key())
	} else {
		c.dir.add(e.Key(), e.Revision())
	}
	c.dir.mu.Unlock()
	if deleted(e) && strings.HasSuffix(e.Key(), "."+c.node) {
		c.mu.Lock()
		_, mine := c.own[e.Key()]
		c.mu.Unlock()
		if mine {
			signal(c.reassert)
		}
	}
}

// add records a key; d.mu is held.
func (d *directory) add(key string, rev uint64) {
	s, ok := parseSessionKey(key)
	if !ok {
		return
	}
	keys := d.byNode[s.Node]
	if keys == nil {
		keys = map[string]uint64{}
		d.byNode[s.Node] = keys
	}
	if _, seen := keys[key]; !seen {
		d.byJID[s.JID] = append(d.byJID[s.JID], s)
	}
	keys[key] = rev
}

// remove forgets a key; d.mu is held.
func (d *directory) remove(key string) {
	s, ok := parseSessionKey(key)
	if !ok {
		return
	}
	keys := d.byNode[s.Node]
	if _, seen := keys[key]; !seen {
		return
	}
	delete(keys, key)
	if len(keys) == 0 {
		delete(d.byNode, s.Node)
	}
	ss := slices.DeleteFunc(d.byJID[s.JID], func(x Session) bool { return x == s })
	if len(ss) == 0 {
		delete(d.byJID, s.JID)
	} else {
		d.byJID[s.JID] = ss
	}
}

// keysOf is a copy of node's keys with their revisions.
func (d *directory) keysOf(node string) map[string]uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return maps.Clone(d.byNode[node])
}

// has tells whether the directory holds key at revision rev.
func (d *directory) has(key string, rev uint64) bool {
	s, ok := parseSessionKey(key)
	if !ok {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	got, ok := d.byNode[s.Node][key]
	return ok && got == rev
}

// purgeSessionsOf deletes node's sessions, each at the revision the
// directory knows: another node purging them too, or the node putting
// one again, makes the delete a no-op.
func (c *Cluster) purgeSessionsOf(ctx context.Context, node string) error {
	keys := c.dir.keysOf(node)
	if len(keys) == 0 {
		return nil
	}
	err := parallel(slices.Collect(maps.Keys(keys)), func(key string) error {
		if !c.dir.has(key, keys[key]) {
			return nil // purged by another node meanwhile
		}
		err := c.sessKV.Purge(ctx, key, jetstream.LastRevision(keys[key]), jetstream.PurgeTTL(markerTTL))
		if err != nil && !casConflict(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: purge the sessions of %s: %w", node, err)
	}
	return nil
}

// reassertLoop puts back this node's sessions missing from the
// directory: after the server lost them, or after another node took
// this one for lost and purged them.
func (c *Cluster) reassertLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.reassert:
		}
		if err := c.putBackSessions(); err != nil && c.ctx.Err() == nil {
			c.log.Warn("cluster: put back this node's sessions", "err", err)
			if sleep(c.ctx, backoff(3)) {
				signal(c.reassert)
			}
		}
	}
}

func (c *Cluster) putBackSessions() error {
	c.mu.Lock()
	own := slices.Collect(maps.Keys(c.own))
	c.mu.Unlock()
	present := c.dir.keysOf(c.node)
	var missing []string
	for _, key := range own {
		if _, ok := present[key]; !ok {
			missing = append(missing, key)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	c.log.Info("cluster: putting back sessions missing from the directory", "sessions", len(missing))
	return parallel(missing, func(key string) error {
		ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
		defer cancel()
		if _, err := c.sessKV.Put(ctx, key, []byte(c.node)); err != nil {
			return err
		}
		// RemoveSession may have run meanwhile: then delete it again.
		c.mu.Lock()
		_, still := c.own[key]
		c.mu.Unlock()
		if !still {
			if err := c.sessKV.Purge(ctx, key, jetstream.PurgeTTL(markerTTL)); err != nil {
				return err
			}
		}
		return nil
	})
}
