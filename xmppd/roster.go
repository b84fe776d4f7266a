package xmppd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"

	"jabberdesk/address"
	"jabberdesk/store"
)

// Roster groups (docs/AGENTS.md §3.1).
const (
	groupColleagues = "Colleagues"
	groupDesk       = "Desk"
)

// rosterItem is one contact of a server-managed roster.
type rosterItem struct {
	JID, Name, Group string
}

func (it rosterItem) element(subscription string) *Element {
	e := NewElement(nsRoster, "item", "jid", it.JID, "name", it.Name, "subscription", subscription)
	if it.Group != "" && subscription != "remove" {
		e.Add(NewElement(nsRoster, "group").AddText(it.Group))
	}
	return e
}

// rosterItems is the whole roster of an agent: every colleague, the
// board, the desk and the visitor chats offered to or held by the agent.
func (srv *Server) rosterItems(portal, self string, dir *portalDir) []rosterItem {
	items := make([]rosterItem, 0, len(dir.agents)+2)
	for _, c := range srv.desk.Contacts(portal, self) {
		items = append(items, rosterItem{JID: srv.specialJID(portal, c.Local), Name: c.Name, Group: groupVisitors})
	}
	for _, a := range dir.agents {
		if a.Key() != self {
			items = append(items, colleagueItem(srv, a))
		}
	}
	items = append(items,
		rosterItem{JID: srv.specialJID(portal, address.BoardName), Name: "Message board", Group: groupDesk},
		rosterItem{JID: srv.specialJID(portal, address.DeskName), Name: "Desk", Group: groupDesk},
	)
	sort.Slice(items, func(i, j int) bool { return items[i].JID < items[j].JID })
	return items
}

func colleagueItem(srv *Server, a store.Agent) rosterItem {
	return rosterItem{JID: srv.agentBare(a.Portal, a.Key()), Name: a.DisplayName, Group: groupColleagues}
}

// rosterVersion is a digest of the items (RFC 6121 §2.6): equal rosters
// have equal versions, so a client that already has it gets an empty
// result.
func rosterVersion(items []rosterItem) string {
	h := sha256.New()
	for _, it := range items {
		h.Write([]byte(it.JID + "\x00" + it.Name + "\x00" + it.Group + "\x01"))
	}
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// rosterVersionFor is the current roster version of a session's agent.
func (srv *Server) rosterVersionFor(s *session) string {
	dir, err := srv.dir.get(s.ctx(), s.agent.Portal)
	if err != nil {
		return ""
	}
	return rosterVersion(srv.rosterItems(s.agent.Portal, s.agent.Key(), dir))
}

// rosterIQ answers roster gets; the roster is the server's, so sets are
// refused (docs/AGENTS.md §3.1).
func (s *session) rosterIQ(el, q *Element) error {
	if el.Get("type") != "get" {
		return errNotAllowed.withText("the roster is managed by the server")
	}
	dir, err := s.srv.dir.get(s.ctx(), s.agent.Portal)
	if err != nil {
		return err
	}
	items := s.srv.rosterItems(s.agent.Portal, s.agent.Key(), dir)
	ver := rosterVersion(items)
	s.mu.Lock()
	s.rosterLoaded = true
	s.mu.Unlock()
	res := iqResult(el)
	if q.Get("ver") == ver {
		s.send(res) // the client's copy is current; changes come as pushes
		return nil
	}
	query := NewElement(nsRoster, "query", "ver", ver)
	for _, it := range items {
		query.Add(it.element("both"))
	}
	s.send(res.Add(query))
	return nil
}

// AgentsChanged reloads a portal's agents (after the admin CLI changed
// them) and brings online agents up to date: roster pushes for added,
// changed and removed colleagues, and removed agents are disconnected.
// It concerns this node's sessions only: with several nodes, each is
// told (and a new portal is followed from then on).
func (srv *Server) AgentsChanged(ctx context.Context, portal string) error {
	srv.followPortal(portal)
	old, cur, err := srv.dir.reload(ctx, portal)
	if err != nil {
		return err
	}
	if old == nil {
		old = &portalDir{byKey: map[string]int{}}
	}
	var changed []store.Agent
	var removed []store.Agent
	for _, a := range cur.agents {
		if o, ok := old.agent(a.Key()); !ok || o.DisplayName != a.DisplayName {
			changed = append(changed, a)
		}
	}
	for _, a := range old.agents {
		if _, ok := cur.agent(a.Key()); !ok {
			removed = append(removed, a)
		}
	}
	for _, s := range srv.router.portalSessions(portal) {
		if _, ok := cur.agent(s.agent.Key()); !ok {
			s.end(streamError{"not-authorized", "this account was removed"})
			continue
		}
		s.pushRoster(srv, cur, changed, removed)
	}
	return nil
}

// EndAgentSessions ends every session of one agent (by username) with
// not-authorized and text, after their password was changed: whoever
// signed in with the old one is signed out. It returns how many ended
// on this node; with several nodes, each is told.
func (srv *Server) EndAgentSessions(portal, username, text string) int {
	n := 0
	for _, s := range srv.router.portalSessions(portal) {
		if s.agent.Key() == store.UsernameKey(username) {
			s.end(streamError{"not-authorized", text})
			n++
		}
	}
	return n
}

// pushRoster sends roster pushes (RFC 6121 §2.1.6) to an interested
// session, one item per push as the RFC requires.
func (s *session) pushRoster(srv *Server, dir *portalDir, changed, removed []store.Agent) {
	s.mu.Lock()
	interested := s.rosterLoaded
	s.mu.Unlock()
	if !interested {
		return
	}
	ver := rosterVersion(srv.rosterItems(s.agent.Portal, s.agent.Key(), dir))
	push := func(it rosterItem, sub string) {
		s.send(NewElement(nsClient, "iq", "type", "set", "id", "push-"+randomID(), "to", s.full).
			Add(NewElement(nsRoster, "query", "ver", ver).Add(it.element(sub))))
	}
	for _, a := range changed {
		if a.Key() != s.agent.Key() {
			push(colleagueItem(srv, a), "both")
		}
	}
	for _, a := range removed {
		push(colleagueItem(srv, a), "remove")
		// The removed colleague is gone: say so in presence too.
		s.send(NewElement(nsClient, "presence", "from", srv.agentBare(a.Portal, a.Key()), "to", s.full, "type", "unavailable"))
	}
}
