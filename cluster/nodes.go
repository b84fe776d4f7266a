package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// heartbeat is the value of a node's key in jd_nodes.
type heartbeat struct {
	Node     string           `json:"node"`
	Started  time.Time        `json:"started"`
	Sessions int              `json:"sessions"`
	Chats    int              `json:"chats"`
	Stats    map[string]int64 `json:"stats,omitempty"`
}

// NodeStatus is what this node knows of one node.
type NodeStatus struct {
	Node    string
	Started time.Time
	// LastSeen is when the node's last heartbeat was written, on the NATS
	// server's clock.
	LastSeen time.Time
	// Age is how much older that heartbeat is than the newest one this
	// node has seen; a node is lost past Takeover.
	Age      time.Duration
	Sessions int
	Chats    int
	Stats    map[string]int64
	Alive    bool
	// Self marks this node.
	Self bool
}

// Status is the cluster as this node sees it, for `jabberdesk cluster
// status`.
type Status struct {
	Node      string
	Server    string // the NATS server this node is connected to
	Connected bool
	RTT       time.Duration // a round trip to the NATS server
	Nodes     []NodeStatus
}

// OnNodeLost registers f, called once on its own goroutine for each node
// found lost — silent for Takeover, or gone with a goodbye — with the
// node's name. A lost node that comes back and is lost again is told
// again. f typically calls TakeOver.
func (c *Cluster) OnNodeLost(f func(node string)) {
	c.mu.Lock()
	c.onLost = append(c.onLost, f)
	c.mu.Unlock()
}

// Nodes lists the nodes in the registry, this one included, by name.
// It reads memory only.
func (c *Cluster) Nodes() []NodeStatus { return c.nodes.list() }

// Status measures the round trip to NATS and lists the nodes.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	s := Status{Node: c.node, Server: c.nc.ConnectedUrlRedacted(), Connected: c.nc.IsConnected(), Nodes: c.Nodes()}
	start := time.Now()
	if err := c.nc.FlushWithContext(ctx); err != nil {
		return s, fmt.Errorf("cluster: status: round trip to NATS: %w", err)
	}
	s.RTT = time.Since(start)
	return s, nil
}

// putHeartbeat writes this node's heartbeat.
func (c *Cluster) putHeartbeat(ctx context.Context) error {
	hb := heartbeat{Node: c.node, Started: c.started, Chats: c.chats.count(c.node)}
	c.mu.Lock()
	hb.Sessions = len(c.own)
	c.mu.Unlock()
	if c.cfg.Stats != nil {
		hb.Stats = c.cfg.Stats()
	}
	data, err := json.Marshal(hb)
	if err != nil {
		return err
	}
	_, err = c.nodesKV.Put(ctx, c.node, data)
	return err
}

// heartbeatLoop puts the heartbeat every Takeover/5, and at once when
// the connection comes back.
func (c *Cluster) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.Takeover / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.beat:
		}
		pctx, cancel := context.WithTimeout(ctx, c.cfg.Takeover/2)
		err := c.putHeartbeat(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.log.Warn("cluster: heartbeat", "err", err)
		}
	}
}

// resetNodes and applyNode keep the registry; both then judge liveness.
func (c *Cluster) resetNodes(entries []jetstream.KeyValueEntry) {
	beats := make(map[string]seenBeat, len(entries))
	for _, e := range entries {
		if b, ok := c.parseBeat(e); ok {
			beats[e.Key()] = b
		}
	}
	c.announce(c.nodes.reset(beats))
}

func (c *Cluster) applyNode(e jetstream.KeyValueEntry) {
	var lost []string
	if deleted(e) {
		lost = c.nodes.remove(e.Key())
	} else if b, ok := c.parseBeat(e); ok {
		lost = c.nodes.put(e.Key(), b)
	}
	c.announce(lost)
}

func (c *Cluster) parseBeat(e jetstream.KeyValueEntry) (seenBeat, bool) {
	b, ok := parseBeat(e)
	if !ok && !deleted(e) {
		c.log.Warn("cluster: unreadable heartbeat", "key", e.Key())
	}
	return b, ok
}

// parseBeat reads a heartbeat entry; false for a deleted or unreadable one.
func parseBeat(e jetstream.KeyValueEntry) (seenBeat, bool) {
	if deleted(e) {
		return seenBeat{}, false
	}
	var hb heartbeat
	if err := json.Unmarshal(e.Value(), &hb); err != nil {
		return seenBeat{}, false
	}
	return seenBeat{hb: hb, at: e.Created()}, true
}

// announce handles each node newly lost on its own goroutine: the
// OnNodeLost callbacks, then its sessions are purged.
func (c *Cluster) announce(lost []string) {
	for _, node := range lost {
		c.log.Warn("cluster: node lost", "lost", node)
		c.mu.Lock()
		fs := slices.Clone(c.onLost)
		c.mu.Unlock()
		c.loop(func() {
			for _, f := range fs {
				f(node)
			}
			if err := c.purgeSessionsOf(c.ctx, node); err != nil && c.ctx.Err() == nil {
				c.log.Warn("cluster: purge a lost node's sessions", "lost", node, "err", err)
			}
		})
	}
}

// alive tells whether node is this one or a node with a heartbeat that
// is not lost.
func (c *Cluster) alive(node string) bool { return c.nodes.alive(node) }
