package xmppd

import (
	"sync"
	"time"
)

// presenceMirror is what this node knows of the presence of sessions on
// other nodes: for each portal followed, the last available presence of
// each remote session, from the portal's topic (peertopic.go). Colleagues
// signing in here get it as they get local colleagues' presence, and
// Availability counts it. An unavailable presence, a new run of the
// node (incarnation) and the node's loss (PeerLost) take entries out.
// Its lock may be taken under a session's, never the other way round.
type presenceMirror struct {
	mu      sync.RWMutex
	portals map[string]map[string]map[string]remotePresence // portal → bare JID → full JID → presence
	runs    map[string]string                               // node → the incarnation last seen
}

// remotePresence is the last available presence of a session on
// another node.
type remotePresence struct {
	node, run string // the node and its incarnation
	portal    string
	bare      string
	full      string
	agent     string // username key
	sid       uint64 // the session among the node's: tells a replaced one apart
	avail     Availability
	stanza    []byte // the presence as its colleagues get it: from stamped, no to
}

// set records an available presence; it reports false if the mirror
// had it already, as it was.
func (m *presenceMirror) set(p remotePresence) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.portals == nil {
		m.portals = make(map[string]map[string]map[string]remotePresence)
	}
	bares := m.portals[p.portal]
	if bares == nil {
		bares = make(map[string]map[string]remotePresence)
		m.portals[p.portal] = bares
	}
	fulls := bares[p.bare]
	if fulls == nil {
		fulls = make(map[string]remotePresence)
		bares[p.bare] = fulls
	}
	if o, ok := fulls[p.full]; ok && o.node == p.node && o.sid == p.sid && string(o.stanza) == string(p.stanza) {
		return false
	}
	fulls[p.full] = p
	return true
}

// remove takes a session out when it went unavailable; it reports false
// if the mirror has no such session (or a newer one of the same full
// JID, which the unavailable presence of the one it replaced must not
// take out).
func (m *presenceMirror) remove(p remotePresence) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	fulls := m.portals[p.portal][p.bare]
	o, ok := fulls[p.full]
	if !ok || o.node != p.node || o.sid != p.sid {
		return false
	}
	m.deleteLocked(o)
	return true
}

func (m *presenceMirror) deleteLocked(p remotePresence) {
	bares := m.portals[p.portal]
	delete(bares[p.bare], p.full)
	if len(bares[p.bare]) == 0 {
		delete(bares, p.bare)
	}
	if len(bares) == 0 {
		delete(m.portals, p.portal)
	}
}

// seen notes the incarnation a node publishes with; at a new one, what
// the mirror has of its earlier run is taken out and returned.
func (m *presenceMirror) seen(node, run string) []remotePresence {
	m.mu.Lock()
	last, known := m.runs[node]
	if m.runs == nil {
		m.runs = make(map[string]string)
	}
	m.runs[node] = run
	m.mu.Unlock()
	if !known || last == run {
		return nil
	}
	return m.dropNode(node, run)
}

// dropNode takes out every session of node but those of its incarnation
// keep ("" for none) and returns them.
func (m *presenceMirror) dropNode(node, keep string) []remotePresence {
	m.mu.Lock()
	defer m.mu.Unlock()
	if keep == "" {
		delete(m.runs, node)
	}
	var gone []remotePresence
	for _, bares := range m.portals {
		for _, fulls := range bares {
			for _, p := range fulls {
				if p.node == node && p.run != keep {
					gone = append(gone, p)
				}
			}
		}
	}
	for _, p := range gone {
		m.deleteLocked(p)
	}
	return gone
}

// best is the most available of the remote sessions of bare.
func (m *presenceMirror) best(portal, bare string) Availability {
	m.mu.RLock()
	defer m.mu.RUnlock()
	best := Offline
	for _, p := range m.portals[portal][bare] {
		best = max(best, p.avail)
	}
	return best
}

// bare returns the remote sessions of bare.
func (m *presenceMirror) bare(portal, bare string) []remotePresence {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fulls := m.portals[portal][bare]
	out := make([]remotePresence, 0, len(fulls))
	for _, p := range fulls {
		out = append(out, p)
	}
	return out
}

// count is the number of available remote sessions of a portal.
func (m *presenceMirror) count(portal string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, fulls := range m.portals[portal] {
		n += len(fulls)
	}
	return n
}

// portal returns the remote sessions of a portal.
func (m *presenceMirror) portal(portal string) []remotePresence {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []remotePresence
	for _, fulls := range m.portals[portal] {
		for _, p := range fulls {
			out = append(out, p)
		}
	}
	return out
}

// portalCount is the number of sessions of a portal whose presence a
// session signing in gets: those here, and the available ones elsewhere.
func (srv *Server) portalCount(portal string) int {
	n := srv.router.portalCount(portal)
	if srv.peers != nil {
		n += srv.mirror.count(portal)
	}
	return n
}

// remotePresenceChanged shows this node's sessions of the portal a
// change of a remote session's presence (as broadcastPresence does for
// a local one), records it, and tells the desk when the agent's
// availability moved.
func (srv *Server) remotePresenceChanged(p remotePresence) {
	before := srv.Availability(p.portal, p.agent)
	var changed bool
	if p.avail == Offline {
		changed = srv.mirror.remove(p)
	} else {
		changed = srv.mirror.set(p)
	}
	if !changed {
		return
	}
	srv.showRemotePresence(p, p.stanza)
	if now := srv.Availability(p.portal, p.agent); now != before {
		srv.desk.AgentAvailabilityChanged(p.portal, p.agent, now)
	}
}

// remoteGone ends the presence of remote sessions that left the mirror
// at once (a node lost or restarted): colleagues here get unavailable
// presence, and the desk hears of the agents whose availability fell.
func (srv *Server) remoteGone(gone []remotePresence) {
	type agentKey struct{ portal, agent string }
	was := map[agentKey]Availability{}
	for _, p := range gone {
		k := agentKey{p.portal, p.agent}
		was[k] = max(was[k], p.avail)
		srv.showRemotePresence(p, NewElement(nsClient, "presence", "from", p.full, "type", "unavailable").Bytes())
	}
	for k, best := range was {
		if now := srv.Availability(k.portal, k.agent); now < best {
			// Each node that sees it records it: the reports take the
			// same state twice as one.
			srv.presences.Record(k.portal, k.agent, presenceState(now), time.Now())
			srv.desk.AgentAvailabilityChanged(k.portal, k.agent, now)
		}
	}
}

// showRemotePresence sends a remote session's presence b to the
// available sessions here that may see it: the agent's own and their
// colleagues' (the same filter as for a local session's presence), not
// blocked either way.
func (srv *Server) showRemotePresence(p remotePresence, b []byte) {
	pb := srv.portalBlocks(p.portal)
	for _, o := range srv.presenceAudience(p.portal, p.agent) {
		if o.isAvailable() && !pb.eitherKeys(o.agent.Key(), o.full, p.agent, p.full) {
			o.sendPresenceBytes(b, p.full)
		}
	}
}

// remotePresenceFor returns the remote sessions' presence a session of
// the portal is shown (those of bare only, unless bare is ""; then its
// own agent's and its colleagues'), blocked ones left out, as held
// stanzas for its outbox.
func (s *session) remotePresenceFor(bare string) []held {
	srv := s.srv
	if srv.peers == nil {
		return nil
	}
	var ps []remotePresence
	if bare == "" {
		ps = srv.remoteAudiencePresence(s.agent.Portal, s.agent.Key())
	} else {
		ps = srv.mirror.bare(s.agent.Portal, bare)
	}
	if len(ps) == 0 {
		return nil
	}
	pb := srv.portalBlocks(s.agent.Portal)
	var out []held
	for _, p := range ps {
		if !pb.eitherKeys(s.agent.Key(), s.full, p.agent, p.full) {
			out = append(out, held{from: p.full, kind: outPresence, b: p.stanza})
		}
	}
	return out
}
