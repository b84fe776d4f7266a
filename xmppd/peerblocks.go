package xmppd

// blocksChangedHere makes presence follow a change of an agent's block
// list (XEP-0191) for the sessions of this node, with the sessions of
// the others as the mirror has them: a pair of sessions of that agent
// and a colleague that is blocked either way now gets each other's
// unavailable presence, one no longer blocked each other's current
// presence. Pairs of two sessions of this node are done too when
// localPairs (the node where the change was made does them in
// blockPresence). before and after are the portal's block lists.
func (srv *Server) blocksChangedHere(portal, agent string, before, after *portalBlocks, localPairs bool) {
	type side struct {
		s        *session // nil on another node
		key      string
		full     string
		avail    bool
		presence []byte
	}
	var mine, others, remoteMine, remoteOthers []side
	for _, o := range srv.router.portalSessions(portal) {
		o.mu.Lock()
		sd := side{o, o.agent.Key(), o.full, o.available, o.presence}
		o.mu.Unlock()
		if sd.key == agent {
			mine = append(mine, sd)
		} else {
			others = append(others, sd)
		}
	}
	for _, p := range srv.mirror.portal(portal) {
		sd := side{nil, p.agent, p.full, true, p.stanza}
		if p.agent == agent {
			remoteMine = append(remoteMine, sd)
		} else {
			remoteOthers = append(remoteOthers, sd)
		}
	}
	// show tells to (a session here) of from, blocked or not.
	show := func(to, from side, blocked bool) {
		switch {
		case to.s == nil || !to.avail || !from.avail:
		case blocked:
			to.s.sendPresenceBytes(NewElement(nsClient, "presence", "from", from.full, "type", "unavailable").Bytes(), from.full)
		default:
			to.s.sendPresenceBytes(from.presence, from.full)
		}
	}
	dir := srv.dir.cached(portal)
	pair := func(a, b side) {
		if !dir.areColleagues(a.key, b.key) {
			return // presence never went between them
		}
		was := before.eitherKeys(a.key, a.full, b.key, b.full)
		is := after.eitherKeys(a.key, a.full, b.key, b.full)
		if was != is {
			show(a, b, is)
			show(b, a, is)
		}
	}
	for _, m := range mine {
		if localPairs {
			for _, o := range others {
				pair(m, o)
			}
		}
		for _, o := range remoteOthers {
			pair(m, o)
		}
	}
	for _, m := range remoteMine {
		for _, o := range others {
			pair(m, o)
		}
	}
}

// remoteBlocksChanged reloads a portal's block lists after an agent
// changed theirs on another node, and makes presence here follow.
func (srv *Server) remoteBlocksChanged(portal, agent string) {
	before := srv.portalBlocks(portal)
	srv.forgetBlocks(portal)
	srv.blocksChangedHere(portal, agent, before, srv.portalBlocks(portal), true)
}
