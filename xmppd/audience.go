package xmppd

// Presence follows the roster (docs/AGENTS.md §4.1): an agent's presence
// and personal events reach their own resources and their colleagues'
// (colleagues.go), here and, through the portal's topic, on the other
// nodes, which filter the same way. With department rosters the sessions
// are looked up colleague by colleague, so that a sign-in costs the
// agent's roster rather than the portal.

// presenceAudience returns this node's sessions that see the presence
// of the agent with the username key: the agent's own and their
// colleagues'. The caller checks availability and blocks.
func (srv *Server) presenceAudience(portal, key string) []*session {
	dir := srv.dir.cached(portal)
	if dir.wide() {
		return srv.router.portalSessions(portal)
	}
	out := append([]*session(nil), srv.router.sessions(srv.agentBare(portal, key))...)
	for _, a := range dir.colleaguesOf(key) {
		out = append(out, srv.router.sessions(srv.agentBare(portal, a.Key()))...)
	}
	return out
}

// seesPresence reports whether the agents with keys a and b see each
// other's presence: the same agent, or colleagues.
func (srv *Server) seesPresence(portal, a, b string) bool {
	return a == b || srv.dir.cached(portal).areColleagues(a, b)
}

// remoteAudiencePresence returns what the mirror has of the remote
// sessions the agent with the key sees: their own and their colleagues'.
func (srv *Server) remoteAudiencePresence(portal, key string) []remotePresence {
	dir := srv.dir.cached(portal)
	if dir.wide() {
		return srv.mirror.portal(portal)
	}
	out := srv.mirror.bare(portal, srv.agentBare(portal, key))
	for _, a := range dir.colleaguesOf(key) {
		out = append(out, srv.mirror.bare(portal, srv.agentBare(portal, a.Key()))...)
	}
	return out
}
