package xmppd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

// Config is what a Server needs.
type Config struct {
	Domain     string
	TLS        *tls.Config // certificate for Domain; MinVersion is raised to TLS 1.2
	Store      *store.Store
	Logger     *slog.Logger
	Limits     Limits
	Iterations int    // PBKDF2 iterations reported for unknown users (default 4096)
	Version    string // software version, for XEP-0092
	// Desk holds the visitor chats and runs the desk's commands (the
	// chat engine, bridge.Engine); nil runs the server without them.
	Desk Desk
	// Uploads is the HTTP upload service (XEP-0363); off when URL is nil.
	Uploads Uploads
	// PresenceDelay is how long a presence may wait in a session's outbox
	// for other stanzas to be written with it (default 200 ms):
	// unnoticeable to a person (clients in CSI's inactive state wait far
	// longer), and it turns the presences of colleagues signing in
	// together into a few writes. Tests shorten it.
	PresenceDelay time.Duration
	// Peers are the other nodes when several share the store
	// (docs/CLUSTER.md); nil runs a single node.
	Peers Peers
	// Roster says whose colleagues are whom: portal-wide rosters, or
	// department rosters (colleagues.go); presence follows the roster.
	Roster RosterPolicy
	// OthersRunning: other nodes run (with Peers), whose agents are
	// signed in; the presence log is not reset at start.
	OthersRunning bool
}

// Server is the XMPP service. Start it with Serve on one or more
// listeners; stop it with Shutdown.
type Server struct {
	domain     string
	tls        *tls.Config
	store      *store.Store
	log        *slog.Logger
	limits     Limits
	iterations int
	version    string
	presence   time.Duration // Config.PresenceDelay
	fakeSecret []byte
	guard      *limit.Guard   // password guessing, per address and account
	ipConns    *limit.Counter // connections per address key
	router     *router
	dir        *directory
	desk       Desk // never nil: noDesk without a desk
	withDesk   bool // a Desk was configured: the desk contact runs commands
	uploads    Uploads
	archive    *store.ArchiveWriter
	presences  *store.PresenceLog // agents' availability changes, for reports
	metrics    metrics
	bufPool    sync.Pool
	nextID     atomic.Uint64
	done       chan struct{}

	// Several nodes (peers.go); all unused when peers is nil.
	peers       Peers
	node        string            // peers.Node()
	incarnation string            // this run of the node
	sessionDir  *sessionDirectory // the cluster's directory of this node's sessions
	mirror      presenceMirror    // the presence of sessions on other nodes
	portalSubs  portalSubs        // the portals' topics followed

	smMu        sync.Mutex
	offline     sync.Map            // address.Agent → *sync.Mutex: one delivery of offline messages at a time per agent
	blocks      blockCache          // block lists (XEP-0191), per portal
	boardPosted sync.Map            // portal → bool: its message board has posts
	smSessions  map[string]*session // resumable sessions by stream management id

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	shutdown  bool
	connWG    sync.WaitGroup
}

// metrics are the server's counters.
type metrics struct {
	connections   atomic.Int64 // open connections
	logins        atomic.Int64 // successful sign-ins
	loginFailures atomic.Int64
	stanzasIn     atomic.Int64
	stanzasOut    atomic.Int64
}

// New makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Domain == "" || cfg.Store == nil || cfg.TLS == nil {
		return nil, errors.New("xmppd: Domain, Store and TLS are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Limits.setDefaults()
	switch cfg.Roster.Colleagues {
	case "", RosterAuto, RosterPortal, RosterDepartments:
	default:
		return nil, fmt.Errorf("xmppd: roster policy %q is not one of %s, %s, %s", cfg.Roster.Colleagues, RosterAuto, RosterPortal, RosterDepartments)
	}
	if cfg.Iterations < store.DefaultIterations {
		cfg.Iterations = store.DefaultIterations
	}
	if cfg.PresenceDelay <= 0 {
		cfg.PresenceDelay = 200 * time.Millisecond
	}
	tc := cfg.TLS.Clone()
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	srv := &Server{
		domain:     cfg.Domain,
		tls:        tc,
		store:      cfg.Store,
		log:        cfg.Logger,
		limits:     cfg.Limits,
		iterations: cfg.Iterations,
		version:    cfg.Version,
		presence:   cfg.PresenceDelay,
		fakeSecret: make([]byte, 32),
		ipConns:    &limit.Counter{Max: cfg.Limits.ConnectionsPerIP},
		router:     newRouter(),
		desk:       cfg.Desk,
		withDesk:   cfg.Desk != nil,
		uploads:    cfg.Uploads,
		done:       make(chan struct{}),
		listeners:  make(map[net.Listener]struct{}),
		conns:      make(map[*conn]struct{}),
		smSessions: make(map[string]*session),
		peers:      cfg.Peers,
	}
	if srv.peers != nil {
		srv.node, srv.incarnation = srv.peers.Node(), newIncarnation()
		if srv.node == "" {
			return nil, errors.New("xmppd: Peers has no node name")
		}
	}
	// No session outlives a restart: what was held for sessions waiting
	// to be resumed is for their agents' next sign-in now.
	if err := srv.releaseHeld(context.Background()); err != nil {
		return nil, fmt.Errorf("xmppd: %w", err)
	}
	srv.guard = limit.NewGuard(limit.GuardConfig{
		AddrFailures:    cfg.Limits.LoginFailuresPerIP,
		AccountFailures: cfg.Limits.LoginFailuresPerAccount,
		Window:          cfg.Limits.LoginFailureWindow,
		Known:           knownAddresses{cfg.Store, cfg.Logger},
	})
	srv.dir = newDirectory(cfg.Store, cfg.Roster)
	// Nobody is signed in yet: whoever the log still has available is
	// offline from now, then each change is recorded as it happens.
	// Joining other nodes that run, their agents are signed in: the log
	// is kept as it is, and the nodes record the agents of a node that is
	// lost (remoteGone).
	var err error
	if cfg.Peers != nil {
		srv.presences, err = cfg.Store.SharedPresenceLog(context.Background(), 4096, srv.log, !cfg.OthersRunning)
	} else {
		srv.presences, err = cfg.Store.NewPresenceLog(context.Background(), 4096, srv.log)
	}
	if err != nil {
		return nil, fmt.Errorf("xmppd: %w", err)
	}
	srv.archive = cfg.Store.NewArchiveWriter(16384, srv.log)
	srv.bufPool.New = func() any { b := make([]byte, 0, 4096); return &b }
	if srv.desk == nil {
		srv.desk = noDesk{}
	}
	rand.Read(srv.fakeSecret)
	if srv.peers != nil {
		srv.startPeers()
	}
	go srv.sweepLoop()
	return srv, nil
}

// Domain is the server's XMPP domain.
func (srv *Server) Domain() string { return srv.domain }

// SignInGuard is the guard that counts the server's failed sign-ins per
// address and per account (internal/limit), so that every other place
// that checks an agent's password (the supervisor console) counts with
// it: guesses spread over both are spaced out as if made at one.
func (srv *Server) SignInGuard() *limit.Guard { return srv.guard }

func (srv *Server) sweepLoop() {
	every := 10 * time.Second
	if p := srv.limits.PingInterval; p > 0 && p/4 < every {
		every = max(p/4, 50*time.Millisecond)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			srv.guard.Sweep()
			srv.keepalive(now)
		case <-srv.done:
			return
		}
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("xmppd: server closed")

// Serve accepts connections on ln until Shutdown. With directTLS the
// connections speak TLS from the first byte (XEP-0368); otherwise they
// must negotiate STARTTLS before authenticating.
func (srv *Server) Serve(ln net.Listener, directTLS bool) error {
	srv.mu.Lock()
	if srv.shutdown {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	srv.listeners[ln] = struct{}{}
	srv.mu.Unlock()
	defer func() {
		srv.mu.Lock()
		delete(srv.listeners, ln)
		srv.mu.Unlock()
	}()

	var delay time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			if srv.isShutdown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: back off as net/http does.
				delay = max(5*time.Millisecond, min(2*delay, time.Second))
				srv.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !srv.track(raw) {
			_ = raw.Close() // the server is shutting down
			continue
		}
		go srv.handle(raw, directTLS)
	}
}

func (srv *Server) isShutdown() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.shutdown
}

func (srv *Server) track(raw net.Conn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shutdown {
		return false
	}
	srv.connWG.Add(1)
	return true
}

// Shutdown stops accepting, ends every session with a system-shutdown
// stream error and waits for the connections to close or ctx to end (then
// it closes what is left).
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if !srv.shutdown {
		srv.shutdown = true
		close(srv.done)
	}
	for ln := range srv.listeners {
		_ = ln.Close() // stops its Serve loop; a failed close loses nothing
	}
	conns := make([]*conn, 0, len(srv.conns))
	for c := range srv.conns {
		conns = append(conns, c)
	}
	srv.mu.Unlock()

	for _, c := range conns {
		c.stop(streamError{"system-shutdown", "the server is shutting down"})
	}
	// Sessions waiting for a resumption end now: their messages go to
	// offline storage.
	srv.smMu.Lock()
	var waiting []*session
	for _, ss := range srv.smSessions {
		waiting = append(waiting, ss)
	}
	srv.smMu.Unlock()
	for _, ss := range waiting {
		if ss.current() == nil {
			ss.finish(streamError{"system-shutdown", "the server is shutting down"})
		}
	}
	waited := make(chan struct{})
	go func() { srv.connWG.Wait(); close(waited) }()
	defer srv.archive.Close()   // after the sessions: what they routed is archived
	defer srv.presences.Close() // likewise their last presence changes
	defer srv.stopPeers()       // likewise the directory: their sessions ended
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		srv.mu.Lock()
		for c := range srv.conns {
			_ = c.raw.Close() // out of time: cut it off
		}
		srv.mu.Unlock()
		<-waited
		return ctx.Err()
	}
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections, Sessions, Logins, LoginFailures, StanzasIn, StanzasOut int64
	// LoginsSpaced waited for their turn after failures; LoginsRefused
	// were answered "try later" without a password check.
	LoginsSpaced, LoginsRefused int64
}

// Stats returns the current counters.
func (srv *Server) Stats() Stats {
	g := srv.guard.Stats()
	return Stats{
		Connections:   srv.metrics.connections.Load(),
		Sessions:      int64(srv.router.count()),
		Logins:        srv.metrics.logins.Load(),
		LoginFailures: srv.metrics.loginFailures.Load(),
		StanzasIn:     srv.metrics.stanzasIn.Load(),
		StanzasOut:    srv.metrics.stanzasOut.Load(),
		LoginsSpaced:  g.Spaced,
		LoginsRefused: g.Refused,
	}
}
