package xmppd

import (
	"errors"

	"mellium.im/xmpp/jid"

	"jabberdesk/address"
	"jabberdesk/store"
)

// targetKind says what a JID in a session's own portal names.
type targetKind int

const (
	targetNone    targetKind = iota // nothing this session may address
	targetForeign                   // another domain: no federation
	targetServer                    // the domain itself
	targetAgent
	targetBoard
	targetDesk
	targetVisitor
	targetUpload // the HTTP upload service, upload.DOMAIN
)

// target is a classified destination JID.
type target struct {
	kind  targetKind
	name  string      // agent username key, or visitor localpart name ("v-1042")
	agent store.Agent // for targetAgent
	bare  string      // canonical bare JID
}

// classify works out what to names, from the point of view of s. Other
// portals' JIDs classify as targetNone.
func (s *session) classify(to jid.JID) target {
	if to.Localpart() == "" && to.Domainpart() == s.srv.uploadJID() && s.srv.uploads.URL != nil {
		return target{kind: targetUpload, bare: s.srv.uploadJID()}
	}
	if to.Domainpart() != s.srv.domain {
		return target{kind: targetForeign}
	}
	local := to.Localpart()
	if local == "" {
		return target{kind: targetServer}
	}
	portal, name, ok := address.SplitLocal(local)
	if !ok || portal != s.agent.Portal {
		return target{kind: targetNone}
	}
	t := target{name: name, bare: s.srv.specialJID(portal, name)}
	switch address.Classify(name) {
	case address.KindBoard:
		t.kind = targetBoard
	case address.KindDesk:
		t.kind = targetDesk
	case address.KindVisitor:
		t.kind = targetVisitor
	default:
		dir, err := s.srv.dir.get(s.ctx(), s.agent.Portal)
		if err != nil {
			s.log.Error("directory lookup failed", "err", err)
			return target{kind: targetNone}
		}
		a, ok := dir.agent(name)
		if !ok {
			return target{kind: targetNone}
		}
		t.kind, t.agent = targetAgent, a
	}
	return t
}

// specialJID is the bare JID of a portal's board, desk or visitor.
func (srv *Server) specialJID(portal, name string) string {
	return address.JID(portal, name, srv.domain)
}

// agentBare is the canonical bare JID of an agent.
func (srv *Server) agentBare(portal, key string) string {
	return address.Agent{Portal: portal, Key: key}.JID(srv.domain)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
