package xmppd

// XEP-0280 Message Carbons: an agent with a phone and a desktop sees the
// same conversations on both. A chat message an agent sends (to a
// colleague or a visitor) is copied to the agent's other resources that
// enabled carbons; one delivered to a single resource is copied to the
// others. Clients may not send carbon wrappers themselves.

const (
	nsCarbons = "urn:xmpp:carbons:2"
	nsForward = "urn:xmpp:forward:0"
	nsHints   = "urn:xmpp:hints"
)

// carbonsIQ enables or disables carbons for the session.
func (s *session) carbonsIQ(el, payload *Element) error {
	if el.Get("type") != "set" || (payload.Local != "enable" && payload.Local != "disable") {
		return errBadRequest.withText("send <enable/> or <disable/> in an IQ set")
	}
	s.mu.Lock()
	s.carbons = payload.Local == "enable"
	s.mu.Unlock()
	s.send(iqResult(el))
	return nil
}

// forgedCarbon reports whether a client's message carries a carbon
// wrapper: only the server makes those.
func forgedCarbon(el *Element) bool {
	return el.Child(nsCarbons, "sent") != nil || el.Child(nsCarbons, "received") != nil
}

// eligibleForCarbons says whether a message is copied (XEP-0280 §6).
func eligibleForCarbons(el *Element) bool {
	if el.Get("type") != "chat" {
		return false
	}
	return el.Child(nsCarbons, "private") == nil && el.Child(nsHints, "no-copy") == nil
}

// carbon wraps a message for another resource of the same agent.
func carbon(direction, bare, to string, orig *Element) *Element {
	return NewElement(nsClient, "message", "from", bare, "to", to, "type", "chat").
		Add(NewElement(nsCarbons, direction).Add(NewElement(nsForward, "forwarded").Add(orig)))
}

// copySent sends "sent" carbons of a message this session sent.
func (s *session) copySent(el *Element) {
	if !eligibleForCarbons(el) {
		return
	}
	s.srv.localCarbons(s.bare, "sent", s.full, el)
	s.srv.publishCarbons(s.agent.Portal, s.bare, "sent", s.full, "", el)
}

// copyReceived sends "received" carbons of a message that went to the
// resource got only.
func (srv *Server) copyReceived(got *session, el *Element) {
	if !eligibleForCarbons(el) {
		return
	}
	srv.localCarbons(got.bare, "received", got.full, el)
	srv.publishCarbons(got.agent.Portal, got.bare, "received", got.full, "", el)
}

// localCarbons sends a carbon to every session of the agent (bare) here
// with carbons enabled, but except (a full JID).
func (srv *Server) localCarbons(bare, direction, except string, el *Element) {
	var c *Element
	for _, o := range srv.router.sessions(bare) {
		if o.full == except {
			continue
		}
		o.mu.Lock()
		on := o.carbons && o.available
		o.mu.Unlock()
		if on {
			if c == nil {
				c = carbon(direction, bare, "", el)
			}
			cc := c.Copy()
			cc.Set("to", o.full)
			o.send(cc)
		}
	}
}

// publishCarbons has the other nodes with sessions of the agent (bare,
// of portal) send their carbons of el (localCarbons), but skip, which
// made its own.
func (srv *Server) publishCarbons(portal, bare, direction, except, skip string, el *Element) {
	if srv.peers == nil {
		return
	}
	nodes := srv.nodesOf(portal, bare)
	if len(nodes) == 0 || len(nodes) == 1 && nodes[0] == skip {
		return
	}
	srv.archiveBeforeLeaving(el)
	srv.publish(portal, portalEvent{Op: opCarbon, Bare: bare, Dir: direction, Except: except, Skip: skip, Stanza: el.Bytes()})
}
