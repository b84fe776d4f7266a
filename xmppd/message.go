package xmppd

import (
	"errors"
	"strings"

	"mellium.im/xmpp/jid"

	"jabberdesk/bridge"
	"jabberdesk/store"
)

// handleMessage routes a message (RFC 6121 §8.5).
func (s *session) handleMessage(el *Element, to jid.JID) error {
	if forgedCarbon(el) {
		return errForbiddenCarbon
	}
	if to.String() == "" {
		to = s.jid.Bare()
		el.Set("to", s.bare)
	}
	t := s.classify(to)
	switch t.kind {
	case targetAgent, targetVisitor:
		if err := s.blockedMessage(to, t); err != nil {
			return err
		}
		s.copySent(el)
	}
	switch t.kind {
	case targetAgent:
		if confirmsDelivery(el) {
			// A receipt tells the sender that its message arrived: it
			// must be in the archive by then.
			if err := s.srv.archive.Flush(); err != nil {
				s.log.Error("delivery receipt held back: the archive could not be written", "err", err)
				return nil
			}
		}
		return s.deliverMessage(el, to, t)
	case targetBoard:
		return s.boardMessage(el)
	case targetDesk, targetVisitor:
		return s.contactMessage(el, t)
	case targetForeign:
		return errNoFederation
	case targetServer:
		return nil // messages to the server itself are ignored
	}
	return errServiceUnavailable
}

// deliverMessage delivers to an agent's full JID, or to the available
// resources of its bare JID with non-negative priority, on this node or
// another; what nobody takes is kept offline.
func (s *session) deliverMessage(el *Element, to jid.JID, t target) error {
	bare, portal := t.bare, s.agent.Portal
	el = s.archive(el, t)
	typ := el.Get("type")
	if to.Resourcepart() != "" {
		took, failed := s.srv.deliverFullJID(portal, to, el)
		if took {
			return nil
		}
		chat := typ == "" || typ == "normal" || typ == "chat"
		if failed != "" && chat {
			// The node with the session did not answer: kept rather
			// than lost (see peerdeliver.go).
			if el.Child(nsClient, "body") == nil {
				return nil
			}
			return s.srv.keepOffline(portal, t.agent.Key(), bare, el, []string{failed})
		}
		// RFC 6121 §8.5.3.2: no such resource.
		switch {
		case chat:
		case typ == "groupchat":
			return errServiceUnavailable
		default:
			return nil
		}
	}
	switch typ {
	case "error":
		return nil
	case "groupchat":
		return errServiceUnavailable
	}
	took, failed := s.srv.deliverBareJID(portal, bare, el)
	if took || typ == "headline" {
		return nil
	}
	if el.Child(nsClient, "body") == nil {
		return nil // a chat state for nobody
	}
	return s.srv.keepOffline(portal, t.agent.Key(), bare, el, failed)
}

// contactMessage hands messages to visitor contacts and to the desk
// contact to the desk.
func (s *session) contactMessage(el *Element, t target) error {
	if el.Get("type") == "error" {
		return nil
	}
	body := el.ChildText(nsClient, "body")
	if t.kind == targetVisitor {
		body = withOOB(el, body)
		err := s.srv.desk.AgentSays(s.agent.Portal, s.agentInfo(), t.name, body, chatState(el))
		if errors.Is(err, bridge.ErrNoChat) {
			return errItemNotFound.withText("there is no visitor chat " + t.name)
		}
		return err
	}
	if body == "" {
		return nil
	}
	if !s.srv.withDesk {
		s.systemMessage(t.bare, "The desk is not available on this server.")
		return nil
	}
	if reply := s.srv.desk.DeskSays(s.ctx(), s.agent.Portal, s.agentInfo(), body); reply != "" {
		s.systemMessage(t.bare, bridge.SystemPrefix+reply)
	}
	return nil
}

// withOOB is the body of an agent's message to a visitor with the
// address of its XEP-0066 out-of-band data, when the body does not give
// it already: a client that shares a file sends its address either way.
func withOOB(el *Element, body string) string {
	x := el.Child(nsOOB, "x")
	if x == nil {
		return body
	}
	u := strings.TrimSpace(x.ChildText(nsOOB, "url"))
	switch {
	case u == "" || strings.Contains(body, u):
		return body
	case strings.TrimSpace(body) == "":
		return u
	}
	return body + "\n" + u
}

// confirmsDelivery reports whether a message confirms the delivery of
// another one: an XEP-0184 receipt or an XEP-0333 chat marker.
func confirmsDelivery(el *Element) bool {
	for _, c := range el.Children() {
		switch {
		case c.Space == nsReceipts && c.Local == "received",
			c.Space == nsMarkers && (c.Local == "received" || c.Local == "displayed" || c.Local == "acknowledged"):
			return true
		}
	}
	return false
}

// chatState returns the XEP-0085 chat state a message carries, if any.
func chatState(el *Element) string {
	for _, c := range el.Children() {
		if c.Space == nsChatSt {
			return c.Local
		}
	}
	return ""
}

// agentInfo is the session's agent as the bridge knows agents, with the
// current name and role.
func (s *session) agentInfo() bridge.AgentInfo {
	a := s.currentAgent()
	return bridge.AgentInfo{Key: a.Key(), Name: a.DisplayName, Role: a.Role}
}

// currentAgent is the session's agent as the directory has it now: name, role
// and email changed with the CLI apply at once, not at the next sign-in.
// s.agent, from the sign-in, is used if the directory cannot be read.
func (s *session) currentAgent() store.Agent {
	if dir, err := s.srv.dir.get(s.ctx(), s.agent.Portal); err == nil {
		if a, ok := dir.agent(s.agent.Key()); ok {
			return a
		}
	}
	return s.agent
}

// systemMessage sends s a chat message from a server-side contact.
func (s *session) systemMessage(from, text string) {
	s.send(NewElement(nsClient, "message", "from", from, "to", s.full, "type", "chat").
		Add(NewElement(nsClient, "body").AddText(text)))
}
