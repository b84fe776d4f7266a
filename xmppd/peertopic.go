package xmppd

import (
	"encoding/hex"
	"encoding/json"
	"sync"
)

// Each portal has a topic between the nodes (portalTopic). A node
// publishes there what every node's sessions of the portal must see of
// its own: presence changes, board posts, personal events (PEP), carbons
// for an agent's sessions elsewhere, and changes of block lists. Every
// node follows every portal from its start (and a new portal from its
// first agent or sign-in), so that Availability knows agents signed in
// anywhere. A node that starts following a portal asks the others to
// publish their sessions' presence again (sync).

// The events of a portal's topic (portalEvent.Op).
const (
	opPresence = "presence" // a session's presence changed
	opSync     = "sync"     // a node started following: publish your presence again
	opCarbon   = "carbon"   // XEP-0280 copies for an agent's sessions
	opBoard    = "board"    // a post to the message board
	opPEP      = "pep"      // a personal eventing notification
	opBlocks   = "blocks"   // an agent's block list changed: reload
)

// portalEvent is one event of a portal's topic.
type portalEvent struct {
	Op  string `json:"op"`
	Run string `json:"run"` // the publishing node's incarnation
	// The session or agent the event is about.
	Full  string `json:"full,omitempty"`
	Bare  string `json:"bare,omitempty"`
	Agent string `json:"agent,omitempty"` // username key
	Sid   uint64 `json:"sid,omitempty"`
	// Presence: the availability it gives (Offline for unavailable).
	Avail Availability `json:"avail,omitempty"`
	// The stanza to deliver, from stamped, without to.
	Stanza []byte `json:"stanza,omitempty"`
	// Carbons: direction ("sent", "received"), the session that needs
	// no copy, and a node that made its own copies.
	Dir    string `json:"dir,omitempty"`
	Except string `json:"except,omitempty"`
	Skip   string `json:"skip,omitempty"`
	// PEP: the node's access model.
	Access string `json:"access,omitempty"`
}

// portalTopic is a portal's topic: its name in hex, as topics take only
// a few characters.
func portalTopic(portal string) string {
	return "xmpp.portal." + hex.EncodeToString([]byte(portal))
}

// portalSubs are the portals' topics this node follows.
type portalSubs struct {
	mu     sync.Mutex
	subs   map[string]func() // portal → unsubscribe; nil while subscribing
	closed bool
}

// followPortal subscribes to a portal's topic, once, and asks the other
// nodes for their sessions' presence. A failed subscription is logged
// and tried again at the portal's next sign-in or agent change.
// Concurrent callers do not wait for one another.
func (srv *Server) followPortal(portal string) {
	if srv.peers == nil {
		return
	}
	subs := &srv.portalSubs
	subs.mu.Lock()
	if _, ok := subs.subs[portal]; ok || subs.closed {
		subs.mu.Unlock()
		return
	}
	if subs.subs == nil {
		subs.subs = make(map[string]func())
	}
	subs.subs[portal] = nil
	subs.mu.Unlock()
	unsub, err := srv.peers.Subscribe(portalTopic(portal), func(from string, data []byte) {
		srv.portalEvent(portal, from, data)
	})
	subs.mu.Lock()
	if err != nil {
		delete(subs.subs, portal)
		subs.mu.Unlock()
		srv.log.Error("xmppd: follow a portal's topic", "portal", portal, "err", err)
		return
	}
	closed := subs.closed
	if !closed {
		subs.subs[portal] = unsub
	}
	subs.mu.Unlock()
	if closed {
		unsub()
		return
	}
	srv.publish(portal, portalEvent{Op: opSync})
}

// unfollowPortals unsubscribes from every portal's topic, for good.
func (srv *Server) unfollowPortals() {
	subs := &srv.portalSubs
	subs.mu.Lock()
	subs.closed = true
	var unsubs []func()
	for _, u := range subs.subs {
		if u != nil {
			unsubs = append(unsubs, u)
		}
	}
	subs.subs = nil
	subs.mu.Unlock()
	for _, u := range unsubs {
		u()
	}
}

// publish sends an event to every node following the portal.
func (srv *Server) publish(portal string, ev portalEvent) {
	if srv.peers == nil {
		return
	}
	ev.Run = srv.incarnation
	data, err := json.Marshal(ev)
	if err == nil {
		err = srv.peers.Publish(portalTopic(portal), data)
	}
	if err != nil {
		srv.log.Error("xmppd: publish to the other nodes", "portal", portal, "event", ev.Op, "err", err)
	}
}

// portalEvent handles an event another node published on a portal's
// topic; this node's own were handled when it made them.
func (srv *Server) portalEvent(portal, from string, data []byte) {
	if from == srv.node {
		return
	}
	var ev portalEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		srv.log.Error("xmppd: an event from another node is not readable", "node", from, "err", err)
		return
	}
	// A node that restarted under the same name: what it had before is
	// gone.
	srv.remoteGone(srv.mirror.seen(from, ev.Run))
	switch ev.Op {
	case opPresence:
		bare, _, _ := cutResource(ev.Full)
		srv.remotePresenceChanged(remotePresence{node: from, run: ev.Run, portal: portal, bare: bare, full: ev.Full,
			agent: ev.Agent, sid: ev.Sid, avail: ev.Avail, stanza: ev.Stanza})
	case opSync:
		srv.publishPresences(portal)
	case opCarbon:
		if ev.Skip != srv.node {
			if el := parseStored(ev.Stanza); el != nil {
				srv.localCarbons(ev.Bare, ev.Dir, ev.Except, el)
			}
		}
	case opBoard:
		srv.remoteBoardPost(portal, ev)
	case opPEP:
		srv.remotePEPEvent(portal, ev)
	case opBlocks:
		srv.remoteBlocksChanged(portal, ev.Agent)
	}
}

// publishPresence tells the other nodes of a change of a local session's
// presence: b is what its colleagues here were sent.
func (srv *Server) publishPresence(s *session, b []byte) {
	if srv.peers == nil {
		return
	}
	s.mu.Lock()
	avail := Offline
	if s.available {
		avail = availabilityOf(s.show)
	}
	s.mu.Unlock()
	srv.publish(s.agent.Portal, portalEvent{Op: opPresence, Full: s.full, Agent: s.agent.Key(), Sid: s.id, Avail: avail, Stanza: b})
}

// publishPresences publishes the presence of every available local
// session of the portal again, for a node that just started following
// it. The other nodes have it already and ignore it.
func (srv *Server) publishPresences(portal string) {
	for _, s := range srv.router.portalSessions(portal) {
		s.mu.Lock()
		p, avail := s.presence, s.available
		s.mu.Unlock()
		if avail {
			srv.publishPresence(s, p)
		}
	}
}

// remoteBoardPost shows a post made on another node to the online
// colleagues here (boardMessage).
func (srv *Server) remoteBoardPost(portal string, ev portalEvent) {
	srv.boardPosted.Store(portal, true)
	el := parseStored(ev.Stanza)
	if el == nil {
		return
	}
	for _, o := range srv.router.portalSessions(portal) {
		if o.bare != ev.Bare && o.isAvailable() {
			o.sendMessageBytes(ev.Stanza, el)
		}
	}
}

// remotePEPEvent delivers a personal eventing notification of an agent
// signed in on another node to the sessions here that get it (pepEvent).
func (srv *Server) remotePEPEvent(portal string, ev portalEvent) {
	el := parseStored(ev.Stanza)
	if el == nil {
		return
	}
	pb := srv.portalBlocks(portal)
	for _, o := range srv.presenceAudience(portal, ev.Agent) {
		if !o.isAvailable() || o.bare != ev.Bare && (ev.Access != "presence" || pb.eitherKeys(o.agent.Key(), o.full, ev.Agent, ev.Full)) {
			continue
		}
		c := el.Copy()
		c.Set("to", o.full)
		c.Set("id", randomID())
		o.send(c)
	}
}
