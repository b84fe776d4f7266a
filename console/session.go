package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/store"
)

// Sessions live in memory: a restart signs everyone out of the console,
// who then signs in again. Only the SHA-256 of a session id is kept, so
// that the map's lookups say nothing of the ids.

// Bounds on what sessions may cost.
const (
	sessionsPerAccount = 16     // an account's oldest session goes past this
	sessionsMax        = 10_000 // the oldest session goes past this
	streamsPerSession  = 4      // live pages open at once in one session
)

// session is one signed-in browser.
type session struct {
	key    [32]byte // SHA-256 of the id
	portal string   // the agent's portal
	agent  string   // the agent's username key
	cred   [32]byte // SHA-256 of the agent's SCRAM-SHA-256 StoredKey at sign-in
	csrf   string   // the token every form of this session carries
	born   time.Time

	// Guarded by sessions.mu.
	seen    time.Time
	flash   string // the outcome of the last change, shown once
	streams int    // live event streams open
}

// sessions is the server-side session store.
type sessions struct {
	idle, maxAge time.Duration
	now          func() time.Time

	mu sync.Mutex
	m  map[[32]byte]*session
}

func newSessions(idle, maxAge time.Duration, now func() time.Time) *sessions {
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	if maxAge <= 0 {
		maxAge = 12 * time.Hour
	}
	return &sessions{idle: idle, maxAge: maxAge, now: now, m: map[[32]byte]*session{}}
}

// randomToken is n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionKey(id string) [32]byte { return sha256.Sum256([]byte(id)) }

// create starts a session for an agent whose credential digest is cred,
// and returns its id. Expired sessions go first, then, over the bounds,
// the account's or everyone's oldest.
func (st *sessions) create(portal, agent string, cred [32]byte) string {
	id := randomToken(32)
	now := st.now()
	sess := &session{key: sessionKey(id), portal: portal, agent: agent, cred: cred, csrf: randomToken(32), born: now, seen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	var mine []*session
	for k, o := range st.m {
		switch {
		case st.expiredLocked(o, now):
			delete(st.m, k)
		case o.portal == portal && o.agent == agent:
			mine = append(mine, o)
		}
	}
	if len(mine) >= sessionsPerAccount {
		delete(st.m, oldest(mine).key)
	}
	if len(st.m) >= sessionsMax {
		all := make([]*session, 0, len(st.m))
		for _, o := range st.m {
			all = append(all, o)
		}
		delete(st.m, oldest(all).key)
	}
	st.m[sess.key] = sess
	return id
}

func oldest(list []*session) *session {
	o := list[0]
	for _, s := range list[1:] {
		if s.born.Before(o.born) {
			o = s
		}
	}
	return o
}

func (st *sessions) expiredLocked(s *session, now time.Time) bool {
	return now.Sub(s.seen) > st.idle || now.Sub(s.born) > st.maxAge
}

// get finds a live session by id and marks it used.
func (st *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	st.mu.Lock()
	s := st.m[sessionKey(id)]
	st.mu.Unlock()
	if s == nil || !st.alive(s) {
		return nil, false
	}
	return s, true
}

// alive reports whether a session is still on, and marks it used: an open
// live page counts as use, up to the session's maximum age.
func (st *sessions) alive(s *session) bool {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m[s.key] != s {
		return false
	}
	if st.expiredLocked(s, now) {
		delete(st.m, s.key)
		return false
	}
	s.seen = now
	return true
}

// end forgets a session.
func (st *sessions) end(s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, s.key)
}

// setFlash keeps the outcome of a change for the next page; takeFlash
// hands it out once.
func (st *sessions) setFlash(s *session, text string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.flash = text
}

func (st *sessions) takeFlash(s *session) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

// openStream counts a live event stream in, unless the session has as
// many open as it may; closeStream counts it out.
func (st *sessions) openStream(s *session) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.streams >= streamsPerSession {
		return false
	}
	s.streams++
	return true
}

func (st *sessions) closeStream(s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.streams--
}

// viewer is who is signed in, as the store knows them on this request.
type viewer struct {
	sess  *session
	agent store.Agent
}

// byInfo is the viewer as the engine's functions take them: in another
// portal than their own an admin is nobody in its chats (no key).
func (v *viewer) byInfo(portal string) bridge.AgentInfo {
	a := bridge.AgentInfo{Key: v.agent.Key(), Name: v.agent.DisplayName, Role: v.agent.Role}
	if portal != v.agent.Portal {
		a.Key = ""
	}
	return a
}

// credDigest is what a session remembers of the agent's password: the
// SHA-256 of its SCRAM-SHA-256 StoredKey; a new password changes it.
func credDigest(creds []store.Credential) [32]byte {
	for _, c := range creds {
		if c.Mechanism == store.ScramSHA256 {
			return sha256.Sum256(c.StoredKey)
		}
	}
	return [32]byte{}
}

// errSessionOver: the agent of a session was removed, demoted to agent
// or given a new password.
var errSessionOver = errors.New("console: the session is over")

// recheck reads the session's agent again: the session ends when the
// agent is gone, no longer a supervisor or admin, or has a new password.
func (s *Server) recheck(ctx context.Context, sess *session) (*viewer, error) {
	a, creds, err := s.cfg.Store.Login(ctx, sess.portal, sess.agent)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errSessionOver
	case err != nil:
		return nil, err
	case !a.Role.AtLeast(store.RoleSupervisor) || credDigest(creds) != sess.cred:
		return nil, errSessionOver
	}
	return &viewer{sess: sess, agent: a}, nil
}

// session is the request's live session, if any.
func (s *Server) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, false
	}
	return s.sessions.get(c.Value)
}

// signedIn runs h for a signed-in supervisor or admin, after reading
// them again; a POST must carry the session's CSRF token. Anyone else is
// sent to sign in.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(r)
		if !ok {
			s.toSignIn(w, r, "")
			return
		}
		v, err := s.recheck(r.Context(), sess)
		if errors.Is(err, errSessionOver) {
			s.sessions.end(sess)
			http.SetCookie(w, s.sessionCookie(r, "", -1))
			s.toSignIn(w, r, "ended")
			return
		}
		if err != nil {
			s.fail(w, r, nil, http.StatusInternalServerError, "", err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if !csrfOK(r, sess) {
				s.fail(w, r, v, http.StatusForbidden, "This form is out of date or did not come from this console; reload the page and try again.")
				return
			}
		}
		h(w, r, v)
	}
}

// toSignIn sends the browser to the sign-in page; why, when set, names
// the sign-in page's explanation. An event stream is told 401: the page
// that opened it reloads.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request, why string) {
	if r.URL.Path == "/console/live/stream" {
		http.Error(w, "sign in again", http.StatusUnauthorized)
		return
	}
	to := "/console/signin"
	if why != "" {
		to += "?why=" + why
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
