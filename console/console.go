// Package console is the supervisor console (docs/CONSOLE.md): web pages
// under /console/ on the HTTP listener where supervisors and admins watch
// a portal's live chats and agents, search conversations, read the audit
// log and the reports, and assign or end chats. Package bridge/web mounts
// it; cmd wires it.
//
// Invariants:
//   - Supervisors and admins sign in with their XMPP sign-in name and
//     password, checked against the stored SCRAM keys; the password is
//     never kept. Failed sign-ins are counted by the XMPP server's guard
//     (internal/limit), per address and per account, so guesses spread
//     over XMPP and the console are spaced out as if made at one.
//   - A session is a random id in an HttpOnly, SameSite=Strict cookie
//     scoped to /console/; the server keeps it in the store, which every
//     node shares, by the id's SHA-256 only. Each request checks the
//     agent again: removed, demoted to agent or given a new password,
//     the session ends.
//   - Every change is a POST that carries the session's CSRF token
//     (compared in constant time) and passes Go's cross-origin
//     protection; every change is audited.
//   - A supervisor sees their own portal only; an admin any portal.
//     Nothing a visitor wrote is trusted: pages are html/template, the
//     policy allows no inline script, and links are never built from a
//     visitor's text.
//   - The console changes chats only through the engine's own functions
//     (Desk): what #assign and #e do.
package console

import (
	"context"
	"crypto/rand"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/forwarded"
	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

// Desk is what the console needs of the chat engine (bridge.Engine).
type Desk interface {
	// Live is a snapshot of the portal's live chats and agents' loads.
	Live(ctx context.Context, portal string) bridge.LiveView
	// LiveChanged is closed at the next change of what Live shows.
	LiveChanged() <-chan struct{}
	// Assign and End are what #assign and a supervisor's end do; their
	// refusals are *bridge.CommandError.
	Assign(ctx context.Context, portal string, by bridge.AgentInfo, number int64, who string) (string, error)
	End(ctx context.Context, portal string, by bridge.AgentInfo, number int64) (string, error)
}

// Presence is what the console needs of the XMPP server: how available
// each agent is (xmppd.Server).
type Presence interface {
	Availability(portal, agent string) bridge.Availability
}

// Config configures the console.
type Config struct {
	Domain string // the XMPP domain a sign-in name may end with
	Store  *store.Store
	// Sessions keeps the console's sessions: pass the store, which every
	// node shares, so that a browser signed in through one node is
	// signed in on all.
	Sessions Sessions
	Desk     Desk
	Presence Presence
	// Reporter draws the Reports page (cmd/jabberdesk: package report's
	// measures and charts).
	Reporter Reporter
	// Guard counts failed sign-ins; pass the XMPP server's
	// (xmppd.Server.SignInGuard) so that both count together. nil: a
	// guard of the console's own with the default limits.
	Guard *limit.Guard
	// TrustedProxies are believed for the client's address and for
	// X-Forwarded-Proto (the Secure cookie).
	TrustedProxies []netip.Prefix
	// Iterations is the PBKDF2 work spent on a sign-in name that names
	// no agent, as on a real one (auth.scram_iterations).
	Iterations int
	// IdleTimeout ends a session unused this long (default 30 min);
	// MaxAge ends any session this long after sign-in (default 12 h).
	IdleTimeout, MaxAge time.Duration
	Logger              *slog.Logger
	Now                 func() time.Time // tests; default time.Now
}

// Server serves the console's pages.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessions
	guard    *limit.Guard
	proxies  forwarded.Proxies
	origin   *http.CrossOriginProtection
	pages    map[string]*template.Template
	static   fs.FS
	fakeSalt []byte // the salt of sign-in names that name nobody

	// streams ends when Shutdown starts: live pages' event streams close
	// at once instead of holding the listener's shutdown up.
	streams     context.Context
	stopStreams context.CancelFunc
}

// New makes the console.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Sessions == nil || cfg.Desk == nil || cfg.Presence == nil || cfg.Reporter == nil {
		return nil, errors.New("console: Store, Sessions, Desk, Presence and Reporter are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Iterations < store.DefaultIterations {
		cfg.Iterations = store.DefaultIterations
	}
	if cfg.Guard == nil {
		cfg.Guard = limit.NewGuard(limit.GuardConfig{})
	}
	pages, static, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), guard: cfg.Guard,
		sessions: newSessions(cfg.Sessions, cfg.IdleTimeout, cfg.MaxAge, cfg.Now),
		proxies:  forwarded.Proxies(cfg.TrustedProxies),
		origin:   http.NewCrossOriginProtection(),
		pages:    pages, static: static, fakeSalt: make([]byte, 16),
	}
	rand.Read(s.fakeSalt)
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /console/{$}", s.home)
	m.HandleFunc("GET /console/signin", s.signInPage)
	m.HandleFunc("POST /console/signin", s.signIn)
	m.HandleFunc("POST /console/signout", s.signedIn(s.signOut))
	m.HandleFunc("GET /console/live", s.signedIn(s.livePage))
	m.HandleFunc("GET /console/live/stream", s.signedIn(s.liveStream))
	m.HandleFunc("GET /console/conversations", s.signedIn(s.conversationsPage))
	m.HandleFunc("GET /console/conversations/{number}", s.signedIn(s.conversationPage))
	m.HandleFunc("GET /console/audit", s.signedIn(s.auditPage))
	m.HandleFunc("GET /console/reports", s.signedIn(s.reportsPage))
	m.HandleFunc("POST /console/chats/{number}/assign", s.signedIn(s.assign))
	m.HandleFunc("POST /console/chats/{number}/end", s.signedIn(s.end))
	m.HandleFunc("GET /console/assets/{file}", s.asset)
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "There is no such page in the console.")
	})
}

// ServeHTTP sets the security headers of every answer, refuses
// cross-origin changes, and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if err := s.origin.Check(r); err != nil {
		s.fail(w, r, nil, http.StatusForbidden, "This change came from another site and was refused.")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Shutdown closes the live pages' event streams (their browsers
// reconnect to wherever the console runs next) and refuses new ones.
func (s *Server) Shutdown() { s.stopStreams() }

// home sends a signed-in visitor to the live page, anyone else to sign in.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	_, ok, err := s.session(r)
	if err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, "", err)
		return
	}
	if ok {
		http.Redirect(w, r, "/console/live", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// now is the console's time.
func (s *Server) now() time.Time { return s.cfg.Now() }
