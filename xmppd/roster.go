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

// rosterItems is the whole roster of an agent: their colleagues
// (colleagues.go), the board, the desk and the visitor chats offered to
// or held by the agent.
func (srv *Server) rosterItems(portal, self string, dir *portalDir) []rosterItem {
	colleagues := dir.colleaguesOf(self)
	items := make([]rosterItem, 0, len(colleagues)+2)
	for _, c := range srv.desk.Contacts(portal, self) {
		items = append(items, rosterItem{JID: srv.specialJID(portal, c.Local), Name: c.Name, Group: groupVisitors})
	}
	for _, a := range colleagues {
		items = append(items, colleagueItem(srv, a))
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
// them) and brings online agents up to date: roster pushes for
// colleagues added, renamed and removed (an agent added or removed, a
// department membership or role changed, the portal crossing the size
// at which its rosters become department rosters), presence both ways
// for new colleagues and unavailable presence for former ones, and
// removed agents are disconnected. It concerns this node's sessions
// only: with several nodes, each is told (and a new portal is followed
// from then on).
func (srv *Server) AgentsChanged(ctx context.Context, portal string) error {
	srv.followPortal(portal)
	old, cur, err := srv.dir.reload(ctx, portal)
	if err != nil {
		return err
	}
	if old == nil {
		old = &portalDir{byKey: map[string]int{}}
	}
	for _, s := range srv.router.portalSessions(portal) {
		if _, ok := cur.agent(s.agent.Key()); !ok {
			s.end(streamError{"not-authorized", "this account was removed"})
			continue
		}
		added, renamed, removed := rosterChanges(old, cur, s.agent.Key())
		s.pushRoster(srv, cur, append(added, renamed...), removed)
		s.hideFormerColleagues(removed)
		s.showNewColleagues(added)
	}
	return nil
}

// rosterChanges compares an agent's colleagues in two snapshots.
func rosterChanges(old, cur *portalDir, self string) (added, renamed, removed []store.Agent) {
	before := old.colleaguesOf(self)
	was := make(map[string]store.Agent, len(before))
	for _, a := range before {
		was[a.Key()] = a
	}
	for _, a := range cur.colleaguesOf(self) {
		o, ok := was[a.Key()]
		switch {
		case !ok:
			added = append(added, a)
		case o.DisplayName != a.DisplayName:
			renamed = append(renamed, a)
		}
		delete(was, a.Key())
	}
	for _, a := range before {
		if _, ok := was[a.Key()]; ok {
			removed = append(removed, a)
		}
	}
	return added, renamed, removed
}

// showNewColleagues sends an available session the presence of the
// available resources of agents who just became its colleagues; each of
// them is sent this session's the same way, as the relation is
// symmetric.
func (s *session) showNewColleagues(added []store.Agent) {
	if len(added) == 0 || !s.isAvailable() {
		return
	}
	var burst []held
	pb := s.srv.portalBlocks(s.agent.Portal)
	for _, a := range added {
		bare := s.srv.agentBare(a.Portal, a.Key())
		for _, o := range s.srv.router.sessions(bare) {
			o.mu.Lock()
			p, avail := o.presence, o.available
			o.mu.Unlock()
			if avail && !pb.either(s, o) {
				burst = append(burst, held{from: o.full, kind: outPresence, b: p})
			}
		}
		burst = append(burst, s.remotePresenceFor(bare)...)
	}
	if len(burst) > 0 {
		s.deliverAll(burst)
	}
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
	if !interested || len(changed)+len(removed) == 0 {
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
	}
}

// hideFormerColleagues tells a session that agents who left its roster
// are gone, in presence: it sees their presence no more.
func (s *session) hideFormerColleagues(removed []store.Agent) {
	if len(removed) == 0 || !s.isAvailable() {
		return
	}
	for _, a := range removed {
		s.send(NewElement(nsClient, "presence", "from", s.srv.agentBare(a.Portal, a.Key()), "to", s.full, "type", "unavailable"))
	}
}
