package xmppd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"mellium.im/xmpp/jid"
)

// Peers is what the server needs of the other nodes when several run
// (docs/CLUSTER.md); Config.Peers nil means a single node.
//
// Kinds and topics are made of [A-Za-z0-9_.-]. What a node publishes on a
// topic reaches every node in the order it was published; handlers and
// subscribers may be called on any goroutine, and the server's never
// wait on a session.
type Peers interface {
	// Node is this node's name: unique among the nodes, and the same
	// across its restarts (messages held for its sessions are released
	// by it at start, and by the others once it is declared dead).
	Node() string
	// AddSession puts a session of this node into the cluster-wide
	// session directory; RemoveSession takes it out. Both are idempotent.
	AddSession(ctx context.Context, bare, resource string) error
	RemoveSession(ctx context.Context, bare, resource string) error
	// RemoteSessions are the sessions of bare on OTHER nodes, from a
	// locally cached directory: no I/O.
	RemoteSessions(bare string) []RemoteSession
	// Request asks node and waits for its answer; it fails when the node
	// is unreachable or does not answer in time.
	Request(ctx context.Context, node, kind string, data []byte) ([]byte, error)
	// Handle answers the requests of a kind.
	Handle(kind string, h func(ctx context.Context, from string, data []byte) ([]byte, error))
	// Publish sends data to the subscribers of topic on every node, this
	// one included.
	Publish(topic string, data []byte) error
	// Subscribe calls h with what any node publishes on topic, and the
	// publishing node's name; the function it returns unsubscribes.
	Subscribe(topic string, h func(from string, data []byte)) (func(), error)
}

// RemoteSession is a session in the cluster's directory.
type RemoteSession struct{ Bare, Resource, Node string }

// What nodes ask each other (Peers.Request).
const (
	kindDeliver  = "xmpp.deliver"  // a stanza for sessions of that node (deliverRequest)
	kindContact  = "xmpp.contact"  // a visitor contact's roster push (contactRequest)
	kindConflict = "xmpp.conflict" // a session bound the same full JID elsewhere (conflictRequest)
)

// peerTimeout bounds a request to another node and an update of the
// session directory. A node that does not answer costs a sender this
// long, until the cluster declares it dead (PeerLost) and it leaves the
// directory.
const peerTimeout = 3 * time.Second

// startPeers joins the other nodes: it answers their requests, starts
// the session directory's updates and follows every portal's topic, so
// that the availability of agents signed in elsewhere is known before
// anyone signs in here.
func (srv *Server) startPeers() {
	srv.peers.Handle(kindDeliver, srv.handleDeliver)
	srv.peers.Handle(kindContact, srv.handleContact)
	srv.peers.Handle(kindConflict, srv.handleConflict)
	srv.sessionDir = newSessionDirectory(srv)
	go srv.sessionDir.run()
	portals, err := srv.store.Portals(context.Background())
	if err != nil {
		srv.log.Error("xmppd: list portals to follow the other nodes; each is followed at its first sign-in", "err", err)
	}
	for _, p := range portals {
		srv.followPortal(p.Name)
	}
}

// stopPeers tells the session directory what ended (within peerTimeout)
// and stops following the portals.
func (srv *Server) stopPeers() {
	if srv.peers == nil {
		return
	}
	srv.sessionDir.stop(peerTimeout)
	srv.unfollowPortals()
}

// holder is the name offline storage holds a hibernating session's
// messages under: its stream management id, after the node's name when
// several nodes share the store, so that each releases only its own.
func (srv *Server) holder(smID string) string {
	if srv.peers == nil {
		return smID
	}
	return srv.node + ":" + smID
}

// releaseHeld makes what was held for sessions waiting to be resumed on
// this node, before it started, offline messages: no session outlives a
// restart. A single node releases everything held.
func (srv *Server) releaseHeld(ctx context.Context) error {
	var n int64
	var err error
	if srv.peers == nil {
		n, err = srv.store.ReleaseAllHeld(ctx)
	} else {
		n, err = srv.store.ReleaseHeldPrefix(ctx, srv.holder(""))
	}
	if err != nil {
		return err
	}
	if n > 0 {
		srv.log.Info("messages held for sessions that were waiting to be resumed are now offline messages", "count", n)
	}
	return nil
}

// PeerLost is called when the cluster declares node dead: its sessions'
// presence ends for the colleagues here (unavailable, and the desk hears
// of availabilities that changed), and what was held for its sessions
// waiting to be resumed becomes offline messages, delivered at once to
// those agents' sessions here. Every surviving node calls it; releasing
// twice is harmless. A node declared dead is expected to be gone: one
// that comes back must restart (its sessions are forgotten here).
func (srv *Server) PeerLost(node string) {
	if srv.peers == nil || node == "" || node == srv.node {
		return
	}
	gone := srv.mirror.dropNode(node, "")
	srv.remoteGone(gone)
	srv.log.Warn("node lost: its sessions are gone", "node", node, "sessions", len(gone))
	n, err := srv.store.ReleaseHeldPrefix(context.Background(), node+":")
	if err != nil {
		srv.log.Error("xmppd: release the messages held on a lost node", "node", node, "err", err)
		return
	}
	if n == 0 {
		return
	}
	srv.log.Info("messages held for sessions of a lost node are now offline messages", "node", node, "count", n)
	// Whose they are is not known here: every agent signed in here
	// looks (once).
	seen := map[string]bool{}
	for _, s := range srv.router.all() {
		if !seen[s.bare] {
			seen[s.bare] = true
			srv.redeliverOffline(s.bare)
		}
	}
}

// nodesOf are the other nodes with sessions of bare (a JID of portal):
// those of the session directory, and those whose presence for it this
// node follows, as a session announces its presence before the
// directory may have it.
func (srv *Server) nodesOf(portal, bare string) []string {
	if srv.peers == nil {
		return nil
	}
	var nodes []string
	for _, r := range srv.peers.RemoteSessions(bare) {
		if r.Node != srv.node && !slices.Contains(nodes, r.Node) {
			nodes = append(nodes, r.Node)
		}
	}
	for _, p := range srv.mirror.bare(portal, bare) {
		if !slices.Contains(nodes, p.node) {
			nodes = append(nodes, p.node)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// nodeOf is the other node with the session bound to full (a JID of
// portal), or "".
func (srv *Server) nodeOf(portal string, full jid.JID) string {
	if srv.peers == nil {
		return ""
	}
	bare := full.Bare().String()
	for _, r := range srv.peers.RemoteSessions(bare) {
		if r.Resource == full.Resourcepart() && r.Node != srv.node {
			return r.Node
		}
	}
	for _, p := range srv.mirror.bare(portal, bare) {
		if p.full == full.String() {
			return p.node
		}
	}
	return ""
}

// ask sends node a request of kind and decodes its answer into reply
// (unless nil).
func (srv *Server) ask(node, kind string, req, reply any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("xmppd: ask %s of node %s: %w", kind, node, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	out, err := srv.peers.Request(ctx, node, kind, data)
	if err != nil {
		return fmt.Errorf("xmppd: ask %s of node %s: %w", kind, node, err)
	}
	if reply == nil {
		return nil
	}
	if err := json.Unmarshal(out, reply); err != nil {
		return fmt.Errorf("xmppd: answer to %s from node %s: %w", kind, node, err)
	}
	return nil
}

// newIncarnation names one run of this node: what other nodes remember
// of an earlier run (after a restart under the same name) is forgotten
// when they see a new one.
func newIncarnation() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sessionChanged tells the other nodes that a session was bound here or
// ended (see sessionDirectory), without waiting for them.
func (srv *Server) sessionChanged(s *session, bound bool) {
	if srv.peers == nil {
		return
	}
	srv.sessionDir.mark(s.bare, s.jid.Resourcepart(), bound)
	if bound {
		srv.followPortal(s.agent.Portal) // a portal new since the start
	}
}

// archiveBeforeLeaving writes what this node has queued for the archive
// before a message leaves for another node, so that an archive query on
// any node finds every message a client there has been shown (XEP-0313
// read-your-writes across nodes). With nothing queued it costs a round
// trip to the archive's writer.
func (srv *Server) archiveBeforeLeaving(el *Element) {
	if el.Local != "message" || el.Child(nsClient, "body") == nil {
		return
	}
	if err := srv.archive.Flush(); err != nil {
		srv.log.Error("archive written late: a query on another node may miss a message for a moment", "err", err)
	}
}
