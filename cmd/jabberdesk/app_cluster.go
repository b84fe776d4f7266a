package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"jabberdesk/bridge/im"
	"jabberdesk/cluster"
	"jabberdesk/internal/config"
	"jabberdesk/internal/control"
	"jabberdesk/xmppd"
)

// clusterJoinTimeout bounds how long serve waits for NATS at start.
const clusterJoinTimeout = 30 * time.Second

// topicControl carries the admin CLI's changes to every node: the CLI
// tells the node whose control socket it reaches, which passes them on.
const topicControl = "control"

// nodeName is this server's name in a cluster: cluster.node, or the host
// name made fit for one ("" without a cluster).
func nodeName(cfg *config.Config) string {
	if cfg.Cluster.NATS == "" {
		return ""
	}
	if cfg.Cluster.Node != "" {
		return cfg.Cluster.Node
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host, _, _ = strings.Cut(host, ".")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, host)
}

// joinCluster connects to the other nodes when cluster.nats is set
// (docs/CLUSTER.md); a.cluster stays nil otherwise.
func (a *app) joinCluster(cfg *config.Config) error {
	if cfg.Cluster.NATS == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterJoinTimeout)
	defer cancel()
	c, err := cluster.Join(ctx, cluster.Config{
		URL:      cfg.Cluster.NATS,
		Node:     nodeName(cfg),
		Takeover: cfg.Cluster.Takeover,
		Logger:   a.log.With("sub", "cluster"),
		Stats:    a.clusterStats,
	})
	if err != nil {
		return fmt.Errorf("join the cluster at %s: %w", cfg.Cluster.NATS, err)
	}
	a.cluster = c
	a.clusterTakeover = cfg.Cluster.Takeover
	return nil
}

// clusterStats is what this node's heartbeat tells the others, for
// `jabberdesk cluster status`.
func (a *app) clusterStats() map[string]int64 {
	m := map[string]int64{}
	if a.xmpp != nil {
		m["sessions"] = a.xmpp.Stats().Sessions
	}
	if a.bridge != nil {
		n := a.bridge.Counts()
		m["chats"] = int64(n.Waiting + n.Offered + n.Active)
	}
	return m
}

// followCluster wires what crosses nodes once every subsystem runs: the
// CLI's changes reach every node, and a node found dead has its sessions
// forgotten and its held messages released.
func (a *app) followCluster() error {
	if a.cluster == nil {
		return nil
	}
	a.cluster.OnNodeLost(a.nodeLost)
	if _, err := a.cluster.Subscribe(topicChannelsQueued, a.channelsQueuedElsewhere); err != nil {
		return err
	}
	_, err := a.cluster.Subscribe(topicControl, func(from string, data []byte) {
		if from == a.cluster.Node() {
			return // applied before it was published
		}
		var ev control.Event
		if err := json.Unmarshal(data, &ev); err != nil || ev.Validate() != nil {
			a.log.Error("cluster: a change from another node does not parse", "node", from, "err", err)
			return
		}
		if err := a.applyControl(context.Background(), ev); err != nil {
			a.log.Error("cluster: a change from another node failed here", "node", from, "op", ev.Op, "err", err)
		}
	})
	return err
}

// publishControl passes a change made with the CLI on to the other nodes.
func (a *app) publishControl(ev control.Event) {
	if a.cluster == nil {
		return
	}
	b, err := json.Marshal(ev)
	if err == nil {
		err = a.cluster.Publish(topicControl, b)
	}
	if err != nil {
		a.log.Error("cluster: a change from the CLI did not reach the other nodes; they apply it at their next start", "op", ev.Op, "err", err)
	}
}

// xmppPeers is the cluster as the XMPP server sees it (xmppd.Peers).
type xmppPeers struct {
	c   *cluster.Cluster
	app *app
}

func (p xmppPeers) Node() string { return p.c.Node() }

func (p xmppPeers) AddSession(ctx context.Context, bare, resource string) error {
	return p.c.AddSession(ctx, bare, resource)
}

func (p xmppPeers) RemoveSession(ctx context.Context, bare, resource string) error {
	return p.c.RemoveSession(ctx, bare, resource)
}

func (p xmppPeers) RemoteSessions(bare string) []xmppd.RemoteSession {
	var out []xmppd.RemoteSession
	for _, s := range p.c.Sessions(bare) {
		if s.Node != p.c.Node() {
			out = append(out, xmppd.RemoteSession{Bare: s.JID, Resource: s.Resource, Node: s.Node})
		}
	}
	return out
}

func (p xmppPeers) Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	return p.c.Request(ctx, node, kind, data)
}

func (p xmppPeers) Handle(kind string, h func(ctx context.Context, from string, data []byte) ([]byte, error)) {
	if err := p.c.Handle(kind, h); err != nil {
		// Kinds are the server's own constants: only a bug gets here.
		p.app.log.Error("cluster: cannot answer requests", "kind", kind, "err", err)
	}
}

func (p xmppPeers) Publish(topic string, data []byte) error { return p.c.Publish(topic, data) }

func (p xmppPeers) Subscribe(topic string, h func(from string, data []byte)) (func(), error) {
	return p.c.Subscribe(topic, h)
}

// clusterHealth fails when this node has lost its NATS server.
func (a *app) clusterHealth(ctx context.Context) error {
	st, err := a.cluster.Status(ctx)
	if err != nil {
		return err
	}
	if !st.Connected {
		return fmt.Errorf("not connected to NATS (reconnecting)")
	}
	return nil
}

// Leases: each portal's live chats run on the node that holds the lease
// of the portal's id (bridge.Nodes.Owner); the channels' stored queues
// run on the node that holds lease channelsLease (portal ids start at 1).
const channelsLease int64 = 0

// topicChannelsQueued tells the node that runs the channels' queues that
// another node queued something (im.Config.Notify).
const topicChannelsQueued = "im.queued"

// nodeLost takes over what a lost node held: its sessions are forgotten
// and its held messages released (xmppd), its portals' chats and the
// channels' queues, if it ran them, continue here if this node wins
// their leases.
func (a *app) nodeLost(node string) {
	a.log.Warn("a node of the cluster is lost: taking over what it held", "node", node)
	a.xmpp.PeerLost(node)
	ctx, cancel := context.WithTimeout(context.Background(), clusterJoinTimeout)
	defer cancel()
	won, err := a.cluster.TakeOver(ctx, node)
	if err != nil {
		a.log.Error("cluster: take over a lost node's leases; what is left is claimed at its next use", "node", node, "err", err)
	}
	var portals []int64
	for _, id := range won {
		if id == channelsLease {
			a.startChannelQueues()
			continue
		}
		portals = append(portals, id)
	}
	if len(portals) > 0 {
		if err := a.bridge.Adopt(ctx, portals); err != nil {
			a.log.Error("cluster: load the chats of the portals taken over", "node", node, "portals", portals, "err", err)
		}
	}
}

// claimChannelQueues runs the channels' stored queues here if no live
// node runs them.
func (a *app) claimChannelQueues(ctx context.Context) {
	owner, won, err := a.cluster.Claim(ctx, channelsLease)
	switch {
	case err != nil:
		a.log.Error("cluster: claim the channels' queues; another node runs them or this one takes them when their node is lost", "err", err)
	case won:
		a.startChannelQueues()
	default:
		a.log.Info("cluster: the channels' queues run on another node", "node", owner)
	}
}

// startChannelQueues runs the channels' stored queues on this node.
func (a *app) startChannelQueues() {
	a.imMu.Lock()
	defer a.imMu.Unlock()
	if a.imQueues || a.imClosed || a.imCtx == nil {
		return
	}
	a.imQueues = true
	a.log.Info("cluster: the channels' queues run on this node")
	a.imWork.Add(1)
	go func() {
		defer a.imWork.Done()
		a.im.RunQueues(a.imCtx)
	}()
}

// channelsQueued is im's Notify: in a cluster, what a webhook or an agent
// queued here is told to the node that runs the queues.
func (a *app) channelsQueued() func(im.Queue) {
	return func(q im.Queue) {
		if a.cluster == nil {
			return
		}
		if err := a.cluster.Publish(topicChannelsQueued, []byte(q)); err != nil {
			a.log.Warn("cluster: tell the channels' node that something was queued; it finds it at its next pass", "err", err)
		}
	}
}

// channelsQueuedElsewhere wakes this node's queue worker for what
// another node queued, when the queues run here.
func (a *app) channelsQueuedElsewhere(from string, data []byte) {
	a.imMu.Lock()
	running := a.imQueues
	a.imMu.Unlock()
	if from != a.cluster.Node() && running {
		a.im.Poke(im.Queue(data))
	}
}

// bridgeNodes is the cluster as the chat engine sees it (bridge.Nodes):
// xmppd's adapter, with the portals' leases.
type bridgeNodes struct{ xmppPeers }

func (n bridgeNodes) Owner(ctx context.Context, portalID int64) (string, error) {
	owner, _, err := n.c.Claim(ctx, portalID)
	return owner, err
}

// othersRunning reports whether other nodes of the cluster run: a
// heartbeat other than this node's, no older than the takeover time.
func (a *app) othersRunning() bool {
	if a.cluster == nil {
		return false
	}
	for _, n := range a.cluster.Nodes() {
		if !n.Self && n.Alive && n.Age <= a.clusterTakeover {
			return true
		}
	}
	return false
}
