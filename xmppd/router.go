package xmppd

import "sync"

// router maps JIDs to the sessions bound to them. Its lock only guards the
// maps: callers copy what they need and send after unlocking.
type router struct {
	mu       sync.RWMutex
	accounts map[string]*account            // by bare JID
	portals  map[string]map[string]*account // portal → bare JID → account
	n        int
}

// account is the set of sessions of one agent.
type account struct {
	portal   string
	bare     string
	sessions []*session // replaced, never modified in place
}

func newRouter() *router {
	return &router{accounts: make(map[string]*account), portals: make(map[string]map[string]*account)}
}

// add registers s; a session already bound to the same full JID is
// returned so that the caller can end it (RFC 6120 §7.7.2.2).
func (r *router) add(s *session) (replaced *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.accounts[s.bare]
	if a == nil {
		a = &account{portal: s.agent.Portal, bare: s.bare}
		r.accounts[s.bare] = a
		p := r.portals[a.portal]
		if p == nil {
			p = make(map[string]*account)
			r.portals[a.portal] = p
		}
		p[s.bare] = a
	}
	ss := make([]*session, 0, len(a.sessions)+1)
	for _, o := range a.sessions {
		if o.full == s.full {
			replaced = o
			continue
		}
		ss = append(ss, o)
	}
	a.sessions = append(ss, s)
	if replaced == nil {
		r.n++
	}
	return replaced
}

// remove unregisters s if it is still registered.
func (r *router) remove(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.accounts[s.bare]
	if a == nil {
		return
	}
	ss := make([]*session, 0, len(a.sessions))
	for _, o := range a.sessions {
		if o != s {
			ss = append(ss, o)
		}
	}
	if len(ss) == len(a.sessions) {
		return
	}
	r.n--
	a.sessions = ss
	if len(ss) == 0 {
		delete(r.accounts, s.bare)
		if p := r.portals[a.portal]; p != nil {
			delete(p, s.bare)
			if len(p) == 0 {
				delete(r.portals, a.portal)
			}
		}
	}
}

// sessions returns the sessions of a bare JID.
func (r *router) sessions(bare string) []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if a := r.accounts[bare]; a != nil {
		return a.sessions
	}
	return nil
}

// session returns the session bound to a full JID, or nil.
func (r *router) session(bare, full string) *session {
	for _, s := range r.sessions(bare) {
		if s.full == full {
			return s
		}
	}
	return nil
}

// portalSessions returns every session of a portal.
func (r *router) portalSessions(portal string) []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*session
	for _, a := range r.portals[portal] {
		out = append(out, a.sessions...)
	}
	return out
}

// portalCount is the number of sessions of a portal.
func (r *router) portalCount(portal string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, a := range r.portals[portal] {
		n += len(a.sessions)
	}
	return n
}

func (r *router) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// all returns every session.
func (r *router) all() []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*session, 0, r.n)
	for _, a := range r.accounts {
		out = append(out, a.sessions...)
	}
	return out
}
