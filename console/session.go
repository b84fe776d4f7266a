package console

import (
	"bytes"
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

// Sessions are kept in the store (Sessions), which every node of a
// cluster shares: a browser's next request may land on any node, and
// signing out ends the session on all of them. Only the SHA-256 of a
// session id is stored, never the id. Each request reads its session
// there; its last use is written at most once a minute (seenEvery), so
// a session may end up to a minute sooner than the idle timeout after
// its last use. Expired sessions are deleted when someone signs in, and
// when a request finds its own expired. Live page streams are counted
// on each node, in memory: a session may have streamsPerSession open on
// each node.

// Bounds on what sessions may cost.
const (
	sessionsPerAccount = 16          // an account's oldest session goes past this
	sessionsMax        = 10_000      // the oldest session goes past this
	streamsPerSession  = 4           // live pages open at once in one session, on one node
	seenEvery          = time.Minute // a session's last use is written at most this often
)

// Sessions is where the console keeps its sessions: the store
// (store.Store), so that every node knows them.
type Sessions interface {
	// CreateConsoleSession stores a new session after deleting the
	// expired ones and, past the bounds, the oldest; it audits the
	// sign-in.
	CreateConsoleSession(ctx context.Context, cs store.ConsoleSession, l store.ConsoleSessionLimits, from string) error
	// ConsoleSession finds a session by its key (store.ErrNotFound).
	ConsoleSession(ctx context.Context, key []byte) (store.ConsoleSession, error)
	// TouchConsoleSession records its use.
	TouchConsoleSession(ctx context.Context, key []byte, at time.Time) error
	// SetConsoleFlash keeps the outcome of a change for the next page;
	// TakeConsoleFlash hands it out once.
	SetConsoleFlash(ctx context.Context, key []byte, text string) error
	TakeConsoleFlash(ctx context.Context, key []byte) (string, error)
	// EndConsoleSession deletes a session that is over; SignOutConsole
	// one its agent signed out of, and audits it.
	EndConsoleSession(ctx context.Context, key []byte) error
	SignOutConsole(ctx context.Context, key []byte, at time.Time, from string) error
}

// session is one signed-in browser, as the store has it on this request.
type session = store.ConsoleSession

// sessions is the console's use of the session store.
type sessions struct {
	st     Sessions
	limits store.ConsoleSessionLimits
	now    func() time.Time

	mu      sync.Mutex
	streams map[[32]byte]int // live event streams open on this node, by session key
}

func newSessions(st Sessions, idle, maxAge time.Duration, now func() time.Time) *sessions {
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	if maxAge <= 0 {
		maxAge = 12 * time.Hour
	}
	l := store.ConsoleSessionLimits{Idle: idle, MaxAge: maxAge, PerAgent: sessionsPerAccount, Max: sessionsMax}
	return &sessions{st: st, limits: l, now: now, streams: map[[32]byte]int{}}
}

// randomToken is n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionKey(id string) []byte {
	k := sha256.Sum256([]byte(id))
	return k[:]
}

// create starts a session for an agent whose credential digest is cred,
// signed in from the address from, and returns its id.
func (st *sessions) create(ctx context.Context, portal, agent string, cred []byte, from string) (string, error) {
	id := randomToken(32)
	cs := store.ConsoleSession{Key: sessionKey(id), Portal: portal, Agent: agent, Cred: cred, CSRF: randomToken(32), Born: st.now()}
	if err := st.st.CreateConsoleSession(ctx, cs, st.limits, from); err != nil {
		return "", err
	}
	return id, nil
}

// get finds a live session by id and marks it used; ok is false when
// there is none.
func (st *sessions) get(ctx context.Context, id string) (sess *session, ok bool, err error) {
	if id == "" {
		return nil, false, nil
	}
	return st.lookup(ctx, sessionKey(id))
}

// alive reports whether a session is still on, and marks it used: an
// open live page counts as use, up to the session's maximum age.
func (st *sessions) alive(ctx context.Context, sess *session) (bool, error) {
	_, ok, err := st.lookup(ctx, sess.Key)
	return ok, err
}

// lookup reads a session by key: one expired is deleted, one used
// longer than seenEvery ago is marked used now.
func (st *sessions) lookup(ctx context.Context, key []byte) (*session, bool, error) {
	cs, err := st.st.ConsoleSession(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	now := st.now()
	if st.limits.Expired(cs, now) {
		return nil, false, st.st.EndConsoleSession(ctx, key)
	}
	if now.Sub(cs.Seen) >= seenEvery {
		if err := st.st.TouchConsoleSession(ctx, key, now); err != nil {
			return nil, false, err
		}
		cs.Seen = now
	}
	return &cs, true, nil
}

// end forgets a session that is over.
func (st *sessions) end(ctx context.Context, sess *session) error {
	return st.st.EndConsoleSession(ctx, sess.Key)
}

// signOut forgets a session its agent signed out of from the address
// from.
func (st *sessions) signOut(ctx context.Context, sess *session, from string) error {
	return st.st.SignOutConsole(ctx, sess.Key, st.now(), from)
}

// setFlash keeps the outcome of a change for the next page; takeFlash
// hands it out once (a write only when the session has one).
func (st *sessions) setFlash(ctx context.Context, sess *session, text string) error {
	return st.st.SetConsoleFlash(ctx, sess.Key, text)
}

func (st *sessions) takeFlash(ctx context.Context, sess *session) (string, error) {
	if sess.Flash == "" {
		return "", nil
	}
	return st.st.TakeConsoleFlash(ctx, sess.Key)
}

// openStream counts a live event stream in, unless the session has as
// many open on this node as it may; closeStream counts it out.
func (st *sessions) openStream(sess *session) bool {
	k := [32]byte(sess.Key)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.streams[k] >= streamsPerSession {
		return false
	}
	st.streams[k]++
	return true
}

func (st *sessions) closeStream(sess *session) {
	k := [32]byte(sess.Key)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.streams[k]--; st.streams[k] <= 0 {
		delete(st.streams, k)
	}
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
func credDigest(creds []store.Credential) []byte {
	for _, c := range creds {
		if c.Mechanism == store.ScramSHA256 {
			d := sha256.Sum256(c.StoredKey)
			return d[:]
		}
	}
	return make([]byte, sha256.Size)
}

// errSessionOver: the agent of a session was removed, demoted to agent
// or given a new password.
var errSessionOver = errors.New("console: the session is over")

// recheck reads the session's agent again: the session ends when the
// agent is gone, no longer a supervisor or admin, or has a new password.
func (s *Server) recheck(ctx context.Context, sess *session) (*viewer, error) {
	a, creds, err := s.cfg.Store.Login(ctx, sess.Portal, sess.Agent)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errSessionOver
	case err != nil:
		return nil, err
	case !a.Role.AtLeast(store.RoleSupervisor) || !bytes.Equal(credDigest(creds), sess.Cred):
		return nil, errSessionOver
	}
	return &viewer{sess: sess, agent: a}, nil
}

// session is the request's live session, if any.
func (s *Server) session(r *http.Request) (*session, bool, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, false, nil
	}
	return s.sessions.get(r.Context(), c.Value)
}

// signedIn runs h for a signed-in supervisor or admin, after reading
// them again; a POST must carry the session's CSRF token. Anyone else is
// sent to sign in.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok, err := s.session(r)
		if err != nil {
			s.fail(w, r, nil, http.StatusInternalServerError, "", err)
			return
		}
		if !ok {
			why := ""
			if _, err := r.Cookie(cookieName); err == nil {
				// The session ran out of time, ended elsewhere or went
				// with its agent.
				http.SetCookie(w, s.sessionCookie(r, "", -1))
				why = "ended"
			}
			s.toSignIn(w, r, why)
			return
		}
		v, err := s.recheck(r.Context(), sess)
		if errors.Is(err, errSessionOver) {
			if err := s.sessions.end(r.Context(), sess); err != nil {
				s.log.Error("console: end a session", "portal", sess.Portal, "agent", sess.Agent, "err", err)
			}
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
