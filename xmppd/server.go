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
	metrics    metrics
	bufPool    sync.Pool
	nextID     atomic.Uint64
	done       chan struct{}

	smMu        sync.Mutex
	offline     sync.Map            // portal + "|" + agent key → *sync.Mutex: one delivery of offline messages at a time per agent
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
	s := &Server{
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
	}
	// No session outlives a restart: what was held for sessions waiting
	// to be resumed is for their agents' next sign-in now.
	if n, err := cfg.Store.ReleaseAllHeld(context.Background()); err != nil {
		return nil, fmt.Errorf("xmppd: %w", err)
	} else if n > 0 {
		s.log.Info("messages held for sessions that were waiting to be resumed are now offline messages", "count", n)
	}
	s.guard = limit.NewGuard(limit.GuardConfig{
		AddrFailures:    cfg.Limits.LoginFailuresPerIP,
		AccountFailures: cfg.Limits.LoginFailuresPerAccount,
		Window:          cfg.Limits.LoginFailureWindow,
		Known:           knownAddresses{cfg.Store, cfg.Logger},
	})
	s.dir = newDirectory(cfg.Store)
	s.archive = cfg.Store.NewArchiveWriter(16384, s.log)
	s.bufPool.New = func() any { b := make([]byte, 0, 4096); return &b }
	if s.desk == nil {
		s.desk = noDesk{}
	}
	rand.Read(s.fakeSecret)
	go s.sweepLoop()
	return s, nil
}

// Domain is the server's XMPP domain.
func (s *Server) Domain() string { return s.domain }

func (s *Server) sweepLoop() {
	every := 10 * time.Second
	if p := s.limits.PingInterval; p > 0 && p/4 < every {
		every = max(p/4, 50*time.Millisecond)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			s.guard.Sweep()
			s.keepalive(now)
		case <-s.done:
			return
		}
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("xmppd: server closed")

// Serve accepts connections on ln until Shutdown. With directTLS the
// connections speak TLS from the first byte (XEP-0368); otherwise they
// must negotiate STARTTLS before authenticating.
func (s *Server) Serve(ln net.Listener, directTLS bool) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			if s.isShutdown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: back off as net/http does.
				delay = max(5*time.Millisecond, min(2*delay, time.Second))
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.track(raw) {
			_ = raw.Close() // the server is shutting down
			continue
		}
		go s.handle(raw, directTLS)
	}
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

func (s *Server) track(raw net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.connWG.Add(1)
	return true
}

// Shutdown stops accepting, ends every session with a system-shutdown
// stream error and waits for the connections to close or ctx to end (then
// it closes what is left).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shutdown {
		s.shutdown = true
		close(s.done)
	}
	for ln := range s.listeners {
		_ = ln.Close() // stops its Serve loop; a failed close loses nothing
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.stop(streamError{"system-shutdown", "the server is shutting down"})
	}
	// Sessions waiting for a resumption end now: their messages go to
	// offline storage.
	s.smMu.Lock()
	var waiting []*session
	for _, ss := range s.smSessions {
		waiting = append(waiting, ss)
	}
	s.smMu.Unlock()
	for _, ss := range waiting {
		if ss.current() == nil {
			ss.finish(streamError{"system-shutdown", "the server is shutting down"})
		}
	}
	waited := make(chan struct{})
	go func() { s.connWG.Wait(); close(waited) }()
	defer s.archive.Close() // after the sessions: what they routed is archived
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			_ = c.raw.Close() // out of time: cut it off
		}
		s.mu.Unlock()
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
func (s *Server) Stats() Stats {
	g := s.guard.Stats()
	return Stats{
		Connections:   s.metrics.connections.Load(),
		Sessions:      int64(s.router.count()),
		Logins:        s.metrics.logins.Load(),
		LoginFailures: s.metrics.loginFailures.Load(),
		StanzasIn:     s.metrics.stanzasIn.Load(),
		StanzasOut:    s.metrics.stanzasOut.Load(),
		LoginsSpaced:  g.Spaced,
		LoginsRefused: g.Refused,
	}
}
