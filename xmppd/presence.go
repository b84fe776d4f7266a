package xmppd

import (
	"strconv"
	"time"

	"mellium.im/xmpp/jid"

	"jabberdesk/address"
	"jabberdesk/bridge"
	"jabberdesk/store"
)

// Availability is an agent's state for routing chats (docs/AGENTS.md §4.2).
type Availability = bridge.Availability

// Availabilities, from least to most available.
const (
	Offline = bridge.Offline
	Away    = bridge.Away // away or xa on every available resource
	Busy    = bridge.Busy // dnd
	Online  = bridge.Online
)

// availabilityOf maps a <show/> value.
func availabilityOf(show string) Availability {
	switch show {
	case "", "chat":
		return Online
	case "dnd":
		return Busy
	}
	return Away
}

// Availability of an agent: the most available of its resources, on
// this node and (as far as this node knows, see presenceMirror) on the
// others.
func (srv *Server) Availability(portal, usernameKey string) Availability {
	bare := srv.agentBare(portal, usernameKey)
	best := Offline
	if srv.peers != nil {
		best = srv.mirror.best(portal, bare)
	}
	for _, s := range srv.router.sessions(bare) {
		s.mu.Lock()
		if s.available {
			best = max(best, availabilityOf(s.show))
		}
		s.mu.Unlock()
	}
	return best
}

func (s *session) isAvailable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.available
}

// takesBareMessages reports whether messages to the agent's bare JID go
// to this session: it is available with a non-negative priority (RFC 6121
// §8.5.2.1.1).
func (s *session) takesBareMessages() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.available && s.priority >= 0
}

// handlePresence implements RFC 6121 §4 for a roster the server manages:
// every colleague is subscribed both ways.
func (s *session) handlePresence(el *Element, to jid.JID) error {
	typ := el.Get("type")
	if to.String() == "" {
		switch typ {
		case "":
			s.setAvailable(el)
		case "unavailable":
			s.setUnavailable(el)
		}
		// Subscription requests without a target mean nothing here.
		return nil
	}
	t := s.classify(to)
	switch t.kind {
	case targetAgent:
		return s.directedPresence(el, to, t)
	case targetBoard, targetDesk:
		if typ == "probe" {
			s.send(NewElement(nsClient, "presence", "from", t.bare, "to", s.full))
		}
	case targetVisitor:
		if typ == "probe" {
			s.answerVisitorProbe(t)
		}
	case targetForeign:
		if typ != "error" {
			return errNoFederation // a group chat join, say: answered at once
		}
	}
	// Subscription management is the server's: requests are ignored, as
	// are presences to JIDs that do not exist (RFC 6121 §4.6.2 allows it).
	return nil
}

func (s *session) directedPresence(el *Element, to jid.JID, t target) error {
	switch el.Get("type") {
	case "probe":
		s.answerProbe(t.bare, t.name)
	case "", "unavailable":
		b := el.Bytes()
		for _, o := range s.srv.router.sessions(t.bare) {
			if (to.Resourcepart() == "" || o.full == to.String()) && o.isAvailable() && !s.srv.eitherBlocks(s, o) {
				o.sendPresenceBytes(b, s.full)
			}
		}
	}
	return nil
}

// answerProbe sends s the current presence of every resource of bare
// (the agent with the username key), or an unavailable presence if there
// is none or the agent is not in s's roster.
func (s *session) answerProbe(bare, key string) {
	if !s.srv.seesPresence(s.agent.Portal, s.agent.Key(), key) {
		// Not in the roster: no presence subscription, so no presence.
		s.send(NewElement(nsClient, "presence", "from", bare, "to", s.full, "type", "unavailable"))
		return
	}
	remote := s.remotePresenceFor(bare)
	sent := len(remote) > 0
	if sent {
		s.deliverAll(remote)
	}
	for _, o := range s.srv.router.sessions(bare) {
		o.mu.Lock()
		p := o.presence
		avail := o.available
		o.mu.Unlock()
		if avail && !s.srv.eitherBlocks(s, o) {
			s.sendPresenceBytes(p, o.full)
			sent = true
		}
	}
	if !sent {
		s.send(NewElement(nsClient, "presence", "from", bare, "to", s.full, "type", "unavailable"))
	}
}

func (s *session) setAvailable(el *Element) {
	prio, _ := strconv.Atoi(el.ChildText(nsClient, "priority"))
	el.Set("to", "")
	b := el.Bytes()
	before := s.srv.Availability(s.agent.Portal, s.agent.Key())
	s.mu.Lock()
	initial := !s.available
	s.available, s.show, s.priority, s.presence = true, el.ChildText(nsClient, "show"), prio, b
	s.mu.Unlock()
	s.broadcastPresence(b)
	if initial {
		s.sendPresenceOfOthers()
		if prio >= 0 {
			s.deliverOffline()
		}
		if before == Offline {
			s.deliverMissedBoard()
		}
	}
	s.availabilityChanged(before)
}

func (s *session) setUnavailable(el *Element) {
	before := s.srv.Availability(s.agent.Portal, s.agent.Key())
	s.mu.Lock()
	was := s.available
	s.available, s.presence = false, nil
	s.mu.Unlock()
	if !was {
		return
	}
	el.Set("to", "")
	b := el.Bytes()
	s.sendPresenceBytes(b, s.full)
	s.broadcastPresence(b)
	s.availabilityChanged(before)
}

// availabilityChanged tells the desk when the agent's availability
// moved away from before, so that chats are routed accordingly.
func (s *session) availabilityChanged(before Availability) {
	now := s.srv.Availability(s.agent.Portal, s.agent.Key())
	if now == before {
		return
	}
	if now == Offline {
		s.srv.boardSeen(s.agent.Portal, s.agent.Key())
	}
	s.srv.presences.Record(s.agent.Portal, s.agent.Key(), presenceState(now), time.Now())
	s.srv.desk.AgentAvailabilityChanged(s.agent.Portal, s.agent.Key(), now)
}

// presenceState names an availability as the store's presence log does.
func presenceState(a Availability) string {
	switch a {
	case Online:
		return store.PresenceOnline
	case Away:
		return store.PresenceAway
	case Busy:
		return store.PresenceBusy
	}
	return store.PresenceOffline
}

func (s *session) unavailablePresence() []byte {
	return NewElement(nsClient, "presence", "from", s.full, "type", "unavailable").Bytes()
}

// broadcastPresence sends b to every available resource of the agent's
// colleagues and to the agent's own resources (RFC 6121 §4.2.2, §4.4.2),
// on this node and, through the portal's topic, on the others.
func (s *session) broadcastPresence(b []byte) {
	s.srv.publishPresence(s, b)
	pb := s.srv.portalBlocks(s.agent.Portal)
	for _, o := range s.srv.presenceAudience(s.agent.Portal, s.agent.Key()) {
		if o.isAvailable() && !pb.either(s, o) {
			o.sendPresenceBytes(b, s.full)
		}
	}
}

// sendPresenceOfOthers answers the implicit probes of initial presence:
// the presence of every available colleague resource, of the agent's
// other resources (those on other nodes included), and of the board and
// the desk, which are always there. They go out as one burst: one outbox
// entry and one write.
func (s *session) sendPresenceOfOthers() {
	burst := s.remotePresenceFor("")
	pb := s.srv.portalBlocks(s.agent.Portal)
	for _, o := range s.srv.presenceAudience(s.agent.Portal, s.agent.Key()) {
		if o == s || pb.either(s, o) {
			continue
		}
		o.mu.Lock()
		p, avail := o.presence, o.available
		o.mu.Unlock()
		if avail {
			burst = append(burst, held{from: o.full, kind: outPresence, b: p})
		}
	}
	add := func(el *Element) {
		burst = append(burst, held{from: el.Get("from"), kind: outPresence, b: el.Bytes()})
	}
	for _, name := range []string{address.BoardName, address.DeskName} {
		add(NewElement(nsClient, "presence", "from", s.srv.specialJID(s.agent.Portal, name), "to", s.full))
	}
	for _, c := range s.srv.desk.Contacts(s.agent.Portal, s.agent.Key()) {
		add(s.srv.contactPresence(s.agent.Portal, c, s.full))
	}
	s.deliverAll(burst)
}
