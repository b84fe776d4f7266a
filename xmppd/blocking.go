package xmppd

import (
	"context"
	"errors"
	"strings"
	"sync"

	"mellium.im/xmpp/jid"

	"jabberdesk/store"
)

// XEP-0191 Blocking Command: an agent blocks colleagues or visitor
// contacts (or a whole domain) for themselves. A blocked sender's
// messages are refused (service-unavailable) and never stored; the agent
// gets an error with <blocked/> when writing to someone they block;
// presence no longer flows either way. The lists are the store's; each
// portal's are cached together, as presence broadcasts look them up for
// every colleague.

const (
	nsBlocking       = "urn:xmpp:blocking"
	nsBlockingErrors = "urn:xmpp:blocking:errors"
)

// errBlocked answers a stanza to someone the sender blocks (XEP-0191
// §3.6).
var errBlocked = stanzaError{Type: "cancel", Cond: "not-acceptable", Text: "you block this address; unblock it to write to it",
	AppSpace: nsBlockingErrors, AppLocal: "blocked"}

// portalBlocks is an immutable snapshot of a portal's block lists: agent
// username key → blocked JIDs (canonical).
type portalBlocks struct {
	byAgent map[string]map[string]bool
}

// blockCache holds the snapshots of the portals loaded so far.
type blockCache struct {
	mu      sync.Mutex
	portals map[string]*portalBlocks
}

// portalBlocks returns a portal's block lists, loading them if needed.
func (srv *Server) portalBlocks(portal string) *portalBlocks {
	srv.blocks.mu.Lock()
	pb := srv.blocks.portals[portal]
	srv.blocks.mu.Unlock()
	if pb != nil {
		return pb
	}
	lists, err := srv.store.PortalBlocklists(context.Background(), portal)
	if err != nil {
		srv.log.Error("load block lists", "portal", portal, "err", err)
		return &portalBlocks{}
	}
	pb = &portalBlocks{byAgent: make(map[string]map[string]bool, len(lists))}
	for agent, jids := range lists {
		m := make(map[string]bool, len(jids))
		for _, j := range jids {
			m[j] = true
		}
		pb.byAgent[agent] = m
	}
	srv.blocks.mu.Lock()
	if srv.blocks.portals == nil {
		srv.blocks.portals = map[string]*portalBlocks{}
	}
	srv.blocks.portals[portal] = pb
	srv.blocks.mu.Unlock()
	return pb
}

// forgetBlocks drops a portal's snapshot after a change.
func (srv *Server) forgetBlocks(portal string) {
	srv.blocks.mu.Lock()
	defer srv.blocks.mu.Unlock()
	delete(srv.blocks.portals, portal)
}

// blocks reports whether the agent blocks the JID j (full or bare): a
// block of its full JID, its bare JID or its domain.
func (pb *portalBlocks) blocks(agentKey, j string) bool {
	m := pb.byAgent[agentKey]
	if len(m) == 0 {
		return false
	}
	if m[j] {
		return true
	}
	bare, _, _ := strings.Cut(j, "/")
	if m[bare] {
		return true
	}
	if at := strings.IndexByte(bare, '@'); at >= 0 {
		return m[bare[at+1:]]
	}
	return false
}

// eitherBlocks reports whether a blocks b or b blocks a, for presence.
func (srv *Server) eitherBlocks(a, b *session) bool {
	return srv.portalBlocks(a.agent.Portal).either(a, b)
}

// either reports whether a blocks b or b blocks a.
func (pb *portalBlocks) either(a, b *session) bool {
	return pb.eitherKeys(a.agent.Key(), a.full, b.agent.Key(), b.full)
}

// eitherKeys is either for two sessions given by their agents' username
// keys and full JIDs (one may be on another node).
func (pb *portalBlocks) eitherKeys(aKey, aFull, bKey, bFull string) bool {
	if len(pb.byAgent) == 0 {
		return false
	}
	return pb.blocks(aKey, bFull) || pb.blocks(bKey, aFull)
}

// blockedMessage says whether a message from s to a colleague or a
// visitor contact may go: not to someone s blocks (XEP-0191 §3.6), nor
// from someone the recipient blocks (§3.5: service-unavailable, as if
// the recipient were not there).
func (s *session) blockedMessage(to jid.JID, t target) error {
	pb := s.srv.portalBlocks(s.agent.Portal)
	if len(pb.byAgent) == 0 {
		return nil
	}
	if pb.blocks(s.agent.Key(), to.String()) || pb.blocks(s.agent.Key(), t.bare) {
		return errBlocked
	}
	if t.kind == targetAgent && pb.blocks(t.agent.Key(), s.full) {
		return errServiceUnavailable
	}
	return nil
}

// blockingIQ answers blocklist gets and block and unblock sets, to the
// own account.
func (s *session) blockingIQ(el, q *Element) error {
	switch {
	case el.Get("type") == "get" && q.Local == "blocklist":
		jids, err := s.srv.store.Blocklist(s.ctx(), s.agent.Portal, s.agent.Key())
		if err != nil {
			return err
		}
		list := NewElement(nsBlocking, "blocklist")
		for _, j := range jids {
			list.Add(NewElement(nsBlocking, "item", "jid", j))
		}
		s.mu.Lock()
		s.blocklistWanted = true // it gets pushes from now on (§3.4)
		s.mu.Unlock()
		s.send(iqResult(el).Add(list))
		return nil
	case el.Get("type") == "set" && (q.Local == "block" || q.Local == "unblock"):
	default:
		return errBadRequest.withText("send <blocklist/> in a get, or <block/> or <unblock/> in a set")
	}
	var jids []string
	for _, it := range q.Children() {
		if it.Local != "item" {
			continue
		}
		j, err := jid.Parse(it.Get("jid"))
		if err != nil {
			return stanzaError{Type: "modify", Cond: "jid-malformed", Text: "not an address: " + it.Get("jid")}
		}
		jids = append(jids, j.String())
	}
	var err error
	if q.Local == "block" {
		if len(jids) == 0 {
			return errBadRequest.withText("a block names at least one item")
		}
		err = s.srv.store.Block(s.ctx(), s.agent.Portal, s.agent.Key(), jids)
	} else {
		err = s.srv.store.Unblock(s.ctx(), s.agent.Portal, s.agent.Key(), jids)
	}
	var ue *store.UserError
	if errors.As(err, &ue) && errors.Is(err, store.ErrInvalid) {
		return errNotAcceptable.withText(ue.Msg)
	}
	if err != nil {
		return err
	}
	before := s.srv.portalBlocks(s.agent.Portal)
	s.srv.forgetBlocks(s.agent.Portal)
	// The other nodes' copies are stale too.
	s.srv.publish(s.agent.Portal, portalEvent{Op: opBlocks, Agent: s.agent.Key()})
	s.send(iqResult(el))
	// Every resource that asked for the list hears of the change (§3.3,
	// §3.4).
	push := NewElement(nsBlocking, q.Local)
	for _, j := range jids {
		push.Add(NewElement(nsBlocking, "item", "jid", j))
	}
	for _, o := range s.srv.router.sessions(s.bare) {
		o.mu.Lock()
		wanted := o.blocklistWanted
		o.mu.Unlock()
		if wanted {
			o.send(NewElement(nsClient, "iq", "type", "set", "id", "push-"+randomID(), "to", o.full).Add(push.Copy()))
		}
	}
	s.blockPresence(before)
	if s.srv.peers != nil {
		s.srv.blocksChangedHere(s.agent.Portal, s.agent.Key(), before, s.srv.portalBlocks(s.agent.Portal), false)
	}
	return nil
}

// blockPresence makes presence follow a change of the agent's block list:
// a colleague now blocked sees the agent go offline and the other way
// round; one no longer blocked gets current presence both ways.
func (s *session) blockPresence(before *portalBlocks) {
	after := s.srv.portalBlocks(s.agent.Portal)
	mine := s.srv.router.sessions(s.bare)
	for _, o := range s.srv.presenceAudience(s.agent.Portal, s.agent.Key()) {
		if o.bare == s.bare || !o.isAvailable() {
			continue
		}
		was, is := before.blocks(s.agent.Key(), o.full), after.blocks(s.agent.Key(), o.full)
		if was == is || after.blocks(o.agent.Key(), s.full) {
			continue
		}
		for _, m := range mine {
			m.mu.Lock()
			mp, mAvail := m.presence, m.available
			m.mu.Unlock()
			o.mu.Lock()
			op := o.presence
			o.mu.Unlock()
			switch {
			case is: // blocked now: both see the other go
				if mAvail {
					o.sendPresenceBytes(NewElement(nsClient, "presence", "from", m.full, "type", "unavailable").Bytes(), m.full)
				}
				m.sendPresenceBytes(NewElement(nsClient, "presence", "from", o.full, "type", "unavailable").Bytes(), o.full)
			case mAvail: // unblocked: both get the other's presence
				o.sendPresenceBytes(mp, m.full)
				m.sendPresenceBytes(op, o.full)
			default:
				m.sendPresenceBytes(op, o.full)
			}
		}
	}
}
