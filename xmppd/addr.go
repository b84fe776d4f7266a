package xmppd

import (
	"errors"
	"strings"

	"mellium.im/xmpp/jid"

	"jabberdesk/store"
)

// Reserved localparts: usernames can never take them (too short, or a "-").
const (
	boardName     = "board"
	deskName      = "desk"
	visitorPrefix = "v-"
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
	i := strings.IndexAny(local, `|\`)
	if i <= 0 || local[:i] != s.agent.Portal {
		return target{kind: targetNone}
	}
	name := local[i+1:]
	t := target{name: name, bare: s.agent.Portal + "|" + name + "@" + s.srv.domain}
	switch {
	case name == boardName:
		t.kind = targetBoard
	case name == deskName:
		t.kind = targetDesk
	case strings.HasPrefix(name, visitorPrefix):
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
	return portal + "|" + name + "@" + srv.domain
}

// agentBare is the canonical bare JID of an agent.
func (srv *Server) agentBare(portal, key string) string {
	return portal + "|" + key + "@" + srv.domain
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
