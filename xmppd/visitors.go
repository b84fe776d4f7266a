package xmppd

import (
	"jabberdesk/bridge"
)

// groupVisitors is the roster group of visitor contacts (docs/AGENTS.md §3.1).
const groupVisitors = "Visitors"

// nsOOB is XEP-0066 out-of-band data: the address of a file, which
// clients (Conversations, Gajim, Dino…) show inline when the body is the
// same address.
const nsOOB = "jabber:x:oob"

// contactPresence is a visitor contact's presence for one recipient.
func (srv *Server) contactPresence(portal string, c bridge.Contact, to string) *Element {
	p := NewElement(nsClient, "presence", "from", srv.specialJID(portal, c.Local), "to", to)
	if !c.Available || c.Remove {
		p.Set("type", "unavailable")
		return p
	}
	if c.Status != "" {
		p.Add(NewElement(nsClient, "status").AddText(c.Status))
	}
	return p
}

// Contact implements bridge.Agents: a roster push (RFC 6121 §2.1.6) and
// the contact's presence to every session of the agent, here and on the
// other nodes (asked in turn, so that what the engine sends next comes
// after it).
func (srv *Server) Contact(portal, agent string, c bridge.Contact) {
	srv.contactHere(portal, agent, c)
	for _, node := range srv.nodesOf(portal, srv.agentBare(portal, agent)) {
		if err := srv.ask(node, kindContact, contactRequest{Portal: portal, Agent: agent, Contact: c}, nil); err != nil {
			srv.log.Warn("visitor contact not pushed to sessions on another node", "agent", agent, "contact", c.Local, "err", err)
		}
	}
}

// contactHere is Contact for the agent's sessions on this node.
func (srv *Server) contactHere(portal, agent string, c bridge.Contact) {
	item := rosterItem{JID: srv.specialJID(portal, c.Local), Name: c.Name, Group: groupVisitors}
	sub := "both"
	if c.Remove {
		sub = "remove"
	}
	for _, s := range srv.router.sessions(srv.agentBare(portal, agent)) {
		s.mu.Lock()
		interested, available := s.rosterLoaded, s.available
		s.mu.Unlock()
		if c.Remove && available {
			// Unavailable first, while the contact is still in the roster.
			s.send(srv.contactPresence(portal, c, s.full))
		}
		if interested {
			ver := srv.rosterVersionFor(s)
			s.send(NewElement(nsClient, "iq", "type", "set", "id", "push-"+randomID(), "to", s.full).
				Add(NewElement(nsRoster, "query", "ver", ver).Add(item.element(sub))))
		}
		if !c.Remove && available {
			s.send(srv.contactPresence(portal, c, s.full))
		}
	}
}

// Message implements bridge.Agents: a chat message (or a bare chat state)
// from a visitor contact to the agent's available resources, here and on
// the other nodes; true if one took it. A message nobody took is kept
// offline.
func (srv *Server) Message(portal, agent string, m bridge.Message) bool {
	from := srv.specialJID(portal, m.From)
	if !m.System && srv.portalBlocks(portal).blocks(agent, from) {
		return false // the agent blocks this visitor (XEP-0191); the transcript has it
	}
	el := NewElement(nsClient, "message", "from", from, "to", srv.agentBare(portal, agent), "type", "chat", "id", randomID())
	if m.Body != "" {
		el.Add(NewElement(nsClient, "body").AddText(m.Body))
	}
	if m.ChatState != "" {
		el.Add(NewElement(nsChatSt, m.ChatState))
	}
	if f := m.Attachment; f != nil && f.URL != "" {
		x := NewElement(nsOOB, "x").Add(NewElement(nsOOB, "url").AddText(f.URL))
		if f.Name != "" {
			x.Add(NewElement(nsOOB, "desc").AddText(f.Name))
		}
		el.Add(x)
	}
	bare := srv.agentBare(portal, agent)
	took, failed := srv.deliverAvailableJID(portal, bare, el)
	if !took && m.Body != "" {
		// Kept for the agent's next sign-in (a chat the agent holds).
		if err := srv.keepOffline(portal, agent, bare, el, failed); err != nil {
			srv.log.Warn("visitor message not kept offline", "agent", agent, "err", err)
		}
	}
	return took
}

// Busy implements bridge.Agents: whether a session of the agent that
// takes visitor messages is congested. Only the sessions on this node
// are looked at: asking the others would make every visitor message wait
// for them, and a congested session elsewhere protects itself (its
// outbox cuts it off; chat states for it are dropped there).
func (srv *Server) Busy(portal, agent string) bool {
	for _, s := range srv.router.sessions(srv.agentBare(portal, agent)) {
		if s.isAvailable() && s.congested() {
			return true
		}
	}
	return false
}

// congested reports whether half of what may wait for the session's
// client is waiting: its outbox, or what it has not acknowledged
// (XEP-0198). Past the whole the session is cut off as too slow, so
// senders that can wait (visitors) are held back before that.
func (s *session) congested() bool {
	s.mu.Lock()
	l := s.link
	unacked := 0
	if s.sm != nil {
		unacked = len(s.sm.unacked)
	}
	s.mu.Unlock()
	half := s.srv.limits.OutboxSize / 2
	if unacked >= half && unacked >= half+s.srv.portalCount(s.agent.Portal) {
		return true // as tooManyUnackedLocked, with room for a sign-in's presences
	}
	return l != nil && l.out.backlog() >= half
}

// answerVisitorProbe answers a presence probe to a visitor contact.
func (s *session) answerVisitorProbe(t target) {
	for _, c := range s.srv.desk.Contacts(s.agent.Portal, s.agent.Key()) {
		if c.Local == t.name {
			s.send(s.srv.contactPresence(s.agent.Portal, c, s.full))
			return
		}
	}
	s.send(NewElement(nsClient, "presence", "from", t.bare, "to", s.full, "type", "unavailable"))
}
