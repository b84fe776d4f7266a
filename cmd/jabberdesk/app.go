package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"jabberdesk/bridge"
	"jabberdesk/bridge/im"
	"jabberdesk/bridge/web"
	"jabberdesk/cluster"
	"jabberdesk/console"
	"jabberdesk/internal/config"
	"jabberdesk/internal/control"
	"jabberdesk/internal/memrelease"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
	"jabberdesk/uploads"
	"jabberdesk/xmppd"
)

// version is the software version; release builds set it with
// -ldflags "-X main.version=...".
var version = "dev"

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 10 * time.Second

// app is a running server: the XMPP service and the control socket,
// wired together here and nowhere else.
type app struct {
	log             *slog.Logger
	store           *store.Store
	bridge          *bridge.Engine
	im              *im.Service
	imStop          context.CancelFunc // ends im's work; imDone is closed when it has
	imDone          chan struct{}
	imCtx           context.Context // ends with imStop
	imWork          sync.WaitGroup  // im's goroutines
	imMu            sync.Mutex      // guards imQueues and imClosed
	imQueues        bool            // the channels' stored queues run here
	imClosed        bool            // im's work is ending: start none
	xmpp            *xmppd.Server
	web             *web.Server
	files           *uploads.Store  // the upload store; nil without an HTTP listener
	console         *console.Server // nil without the HTTP listener or with http.console off
	geoip           *web.GeoIP
	certs           *certSource
	control         *control.Server
	cluster         *cluster.Cluster // nil on a single node
	clusterTakeover time.Duration    // cluster.takeover
	admin           *http.Server
	memory          *memrelease.Releaser // returns memory after a wave of sign-ins
	metrics         *metrics
	addrs           map[string]string // listener name → address
	errc            chan error
}

// newLogger builds the structured logger the configuration asks for.
func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // config.Load accepted it: it is a level
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// startApp starts every subsystem; stop them with app.stop. Tests may
// adjust the bridge's settings with tweaks.
func startApp(cfg *config.Config, st *store.Store, logw io.Writer, tweaks ...func(*bridge.Config)) (*app, error) {
	a := &app{log: newLogger(logw, cfg), store: st, addrs: map[string]string{}, errc: make(chan error, 4), metrics: newMetrics(nodeName(cfg))}
	certs, err := newCertSource(cfg, a.log)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	a.certs = certs
	if cfg.HTTP.Listen != "" {
		a.files = uploads.New(uploads.Config{Dir: uploadsDir(cfg), Store: st, Limits: uploadLimits(cfg), Logger: a.log.With("sub", "uploads")})
	}
	bcfg := bridge.Config{
		Domain:       cfg.Domain,
		QueueTimeout: cfg.Chats.QueueTimeout,
		OfferTimeout: cfg.Chats.OfferTimeout,
		VisitorGrace: cfg.Chats.VisitorGrace,
		MissedText:   cfg.Chats.MissedText,

		ObserveCommand: a.metrics.observeCommand,
		ObserveChat:    a.metrics.observeChat,
	}
	if a.files != nil {
		bcfg.Files = a.files
	}
	for _, f := range tweaks {
		f(&bcfg)
	}
	if err := a.joinCluster(cfg); err != nil {
		return nil, err
	}
	var peers xmppd.Peers
	if a.cluster != nil {
		peers = xmppPeers{c: a.cluster, app: a}
		bcfg.Nodes = bridgeNodes{xmppPeers{c: a.cluster, app: a}}
	}
	a.bridge = bridge.New(bcfg, st, a.log.With("sub", "bridge"))
	a.xmpp, err = xmppd.New(xmppd.Config{
		Domain: cfg.Domain,
		TLS:    &tls.Config{GetCertificate: certs.get, NextProtos: certs.alpn},
		Store:  st,
		Logger: a.log,
		Limits: xmppd.Limits{
			StanzaSize:              cfg.Limits.StanzaSize,
			StanzaSizePreAuth:       cfg.Limits.StanzaSizePreAuth,
			MaxDepth:                cfg.Limits.MaxDepth,
			AuthTimeout:             cfg.Limits.AuthTimeout,
			ConnectionsPerIP:        cfg.Limits.ConnectionsPerIP,
			StanzaRate:              cfg.Limits.StanzaRate,
			StanzaBurst:             cfg.Limits.StanzaBurst,
			OutboxSize:              cfg.Limits.OutboxSize,
			LoginFailuresPerIP:      cfg.Auth.LoginFailuresPerIP,
			LoginFailuresPerAccount: cfg.Auth.LoginFailuresPerAccount,
			LoginFailureWindow:      cfg.Auth.LoginFailureWindow,
			ResumeTimeout:           cfg.XMPP.ResumeTimeout,
			PingInterval:            cfg.XMPP.PingInterval,
		},
		Uploads:    a.uploads(cfg),
		Iterations: cfg.Auth.ScramIterations,
		Version:    version,
		Desk:       a.bridge,
		Peers:      peers,
		Roster:     xmppd.RosterPolicy{Colleagues: cfg.Roster.Colleagues, PortalWideUpTo: cfg.Roster.PortalWideUpTo},
		// The presence log is reset at start only by the first node.
		OthersRunning: a.othersRunning(),
	})
	if err != nil {
		return nil, err
	}
	a.bridge.Attach(a.xmpp)
	a.im = im.New(im.Config{Store: st, Desk: a.bridge, Files: a.files, Logger: a.log.With("sub", "channels"),
		PublicURL: publicURL(cfg, cfg.HTTP.Listen), Notify: a.channelsQueued()})
	a.bridge.AttachChannels(a.im)
	if err := a.bridge.Start(context.Background()); err != nil {
		return nil, err
	}
	a.startChannels()
	if err := a.followCluster(); err != nil {
		_ = a.stop() // the cluster's error is the one to report
		return nil, err
	}
	if err := a.listen(cfg, st); err != nil {
		// What failed to start is the error to report; stopping what did
		// start is cleanup.
		_ = a.stop()
		return nil, err
	}
	a.memory = memrelease.New(memrelease.Config{Count: func() int64 {
		s := a.xmpp.Stats()
		return s.Logins + s.LoginFailures
	}, Logger: a.log.With("sub", "memory")})
	a.memory.Start()
	return a, nil
}

// startChannels runs the IM channels' delivery of stored customer
// messages and sending of queued agent messages (package bridge/im).
func (a *app) startChannels() {
	ctx, cancel := context.WithCancel(context.Background())
	a.imStop, a.imDone = cancel, make(chan struct{})
	a.imCtx = ctx
	if a.cluster == nil {
		a.imWork.Add(1)
		go func() {
			defer a.imWork.Done()
			a.im.Run(ctx)
		}()
	} else {
		// Typing here; the stored queues on the one node that holds
		// their lease (app_cluster.go).
		a.imWork.Add(1)
		go func() {
			defer a.imWork.Done()
			a.im.RunTyping(ctx)
		}()
		a.claimChannelQueues(ctx)
	}
	go func() {
		<-ctx.Done()
		a.imMu.Lock()
		a.imClosed = true // no worker starts from now on
		a.imMu.Unlock()
		a.imWork.Wait()
		close(a.imDone)
	}()
}

// stopChannels ends the channels' work and waits for it: a send under
// way finishes first, so that nothing is left in flight.
func (a *app) stopChannels() {
	if a.imStop == nil {
		return
	}
	a.imStop()
	<-a.imDone
}

// listen opens the listeners and the control socket, and serves them.
func (a *app) listen(cfg *config.Config, st *store.Store) error {
	listen := func(name, addr string, directTLS bool) error {
		if addr == "" {
			return nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen for %s on %s: %w", name, addr, err)
		}
		a.addrs[name] = ln.Addr().String()
		go func() { a.errc <- a.xmpp.Serve(ln, directTLS) }()
		return nil
	}
	// The HTTP listener first: its address is the upload store's, which
	// agents' upload slots name.
	if err := a.startWeb(cfg, st); err != nil {
		return err
	}
	if err := listen("xmpp-starttls", cfg.XMPP.ListenStartTLS, false); err != nil {
		return err
	}
	if err := listen("xmpp-tls", cfg.XMPP.ListenTLS, true); err != nil {
		return err
	}
	a.metrics.watch(a.xmpp, a.bridge, a.web)
	a.metrics.regr.MustRegister(a.im.Collector())
	if err := a.startAdmin(cfg.Admin.Listen); err != nil {
		return err
	}
	var err error
	a.control, err = control.Listen(control.SocketPath(cfg.DataDir), a.handleControl)
	if err != nil {
		return err
	}
	go func() {
		if err := a.control.Serve(); err != nil {
			a.log.Error("control socket failed: changes made with the CLI reach the server after a restart", "err", err)
		}
	}()
	return nil
}

// uploadLimits are the configured upload limits.
func uploadLimits(cfg *config.Config) store.UploadLimits {
	return store.UploadLimits{MaxFileSize: cfg.Uploads.MaxFileSize, QuotaPerAgent: cfg.Uploads.QuotaPerAgent, AllowedTypes: cfg.Uploads.AllowedTypes}
}

// uploads is the XMPP side of HTTP file upload: slots are handed out by
// xmppd, files go to the HTTP listener. Off without an HTTP listener.
func (a *app) uploads(cfg *config.Config) xmppd.Uploads {
	if a.files == nil {
		return xmppd.Uploads{}
	}
	return xmppd.Uploads{Limits: uploadLimits(cfg), URL: a.files.URL}
}

// startWeb starts the visitor API and widget.
func (a *app) startWeb(cfg *config.Config, st *store.Store) error {
	if cfg.HTTP.Listen == "" {
		return nil
	}
	if cfg.HTTP.GeoIPFile != "" {
		g, err := web.OpenGeoIP(cfg.HTTP.GeoIPFile)
		if err != nil {
			return fmt.Errorf("http.geoip_file: %w", err)
		}
		a.geoip = g
	}
	if err := a.startConsole(cfg, st); err != nil {
		return err
	}
	var consoleHandler http.Handler // a nil *console.Server would not be a nil Handler
	if a.console != nil {
		consoleHandler = a.console
	}
	a.web = web.New(web.Config{
		Engine:         a.bridge,
		Store:          st,
		Logger:         a.log.With("sub", "web"),
		TrustedProxies: cfg.HTTP.TrustedProxies,
		MaxBody:        int64(cfg.HTTP.MaxBody),
		ChatRate:       cfg.HTTP.ChatRate,
		ChatBurst:      cfg.HTTP.ChatBurst,
		GeoIP:          a.geoip,
		Certificate:    a.certs.pem,
		ACMEChallenge:  a.certs.challenge,
		Webhooks:       a.im,
		Uploads:        a.files,
		Console:        consoleHandler,
		Limits: web.Limits{
			RequestTimeout:   cfg.HTTP.RequestTimeout,
			IdleTimeout:      cfg.HTTP.IdleTimeout,
			MinTransferRate:  cfg.HTTP.MinTransferRate,
			ConnectionsPerIP: cfg.HTTP.ConnectionsPerIP,
			StreamsPerIP:     cfg.HTTP.StreamsPerIP,
			StreamsPerChat:   cfg.HTTP.StreamsPerChat,
			RequestRate:      cfg.Limits.VisitorRequestRate,
			RequestBurst:     cfg.Limits.VisitorRequestBurst,
			MessageRate:      cfg.Limits.VisitorMessageRate,
			MessageBurst:     cfg.Limits.VisitorMessageBurst,
			TypingRate:       cfg.Limits.VisitorTypingRate,
			TypingBurst:      cfg.Limits.VisitorTypingBurst,
		},
	})
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("listen for the visitor API on %s: %w", cfg.HTTP.Listen, err)
	}
	a.addrs["http"] = ln.Addr().String()
	a.files.SetBaseURL(publicURL(cfg, a.addrs["http"]))
	go func() { a.errc <- a.web.Serve(ln) }()
	return nil
}

// startConsole makes the supervisor console (http.console): it keeps
// its sessions in the store, which every node shares, reads the live
// view from the engine, agents' availability from the XMPP server, and
// counts failed sign-ins with the XMPP server's guard.
func (a *app) startConsole(cfg *config.Config, st *store.Store) error {
	if !cfg.HTTP.Console {
		return nil
	}
	var err error
	a.console, err = console.New(console.Config{
		Domain:         cfg.Domain,
		Store:          st,
		Sessions:       st,
		Desk:           a.bridge,
		Presence:       a.xmpp,
		Guard:          a.xmpp.SignInGuard(),
		TrustedProxies: cfg.HTTP.TrustedProxies,
		Iterations:     cfg.Auth.ScramIterations,
		Logger:         a.log.With("sub", "console"),
		Reporter:       consoleReports{st},
	})
	return err
}

// publicURL is where visitors reach the API and widget.
func publicURL(cfg *config.Config, addr string) string {
	if cfg.HTTP.PublicURL != "" {
		return strings.TrimSuffix(cfg.HTTP.PublicURL, "/")
	}
	_, port, _ := net.SplitHostPort(addr)
	return "http://" + net.JoinHostPort(cfg.PublicHostName(), port)
}

// handleControl applies what the admin CLI changed, here and, in a
// cluster, on the other nodes.
func (a *app) handleControl(ctx context.Context, ev control.Event) error {
	a.log.Info("change from the admin CLI", "op", ev.Op, "portal", ev.Portal)
	err := a.applyControl(ctx, ev)
	a.publishControl(ev)
	return err
}

// applyControl applies a change made with the CLI to this node.
func (a *app) applyControl(ctx context.Context, ev control.Event) error {
	switch ev.Op {
	case control.OpAgentsChanged:
		if err := a.xmpp.AgentsChanged(ctx, ev.Portal); err != nil {
			return err
		}
		a.bridge.Reroute(ev.Portal)
	case control.OpPortalRemoved:
		return a.xmpp.AgentsChanged(ctx, ev.Portal)
	case control.OpDepartmentsChanged:
		// A removed department takes its members out of each other's
		// department rosters.
		if err := a.xmpp.AgentsChanged(ctx, ev.Portal); err != nil {
			return err
		}
		a.bridge.Reroute(ev.Portal)
	case control.OpChannelChanged:
		return a.im.ChannelChanged(ctx, ev.Portal, ev.Channel)
	case control.OpChatChanged:
		return a.bridge.ChatChanged(ctx, ev.Portal, ev.Chat)
	case control.OpPasswordChanged:
		n := a.xmpp.EndAgentSessions(ev.Portal, ev.Agent, "the password of this account was changed; sign in with the new one")
		a.log.Info("signed out after a password change", "portal", ev.Portal, "agent", ev.Agent, "sessions", n)
	}
	return nil
}

// stop stops the subsystems in reverse start order. Each listener has
// shutdownTimeout of its own, so that one slow to drain does not leave
// the XMPP server too little time to send agents system-shutdown.
func (a *app) stop() error {
	var errs []error
	shutdown := func(f func(context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		errs = append(errs, f(ctx))
	}
	if a.memory != nil {
		a.memory.Stop()
	}
	if a.control != nil {
		errs = append(errs, a.control.Close())
	}
	if a.admin != nil {
		shutdown(a.admin.Shutdown)
	}
	if a.console != nil {
		a.console.Shutdown() // its live pages' streams, before the listener waits for them
	}
	if a.web != nil {
		shutdown(a.web.Shutdown)
	}
	a.stopChannels() // after the webhooks, before the engine it hands messages to
	if a.xmpp != nil {
		shutdown(a.xmpp.Shutdown)
	}
	if a.bridge != nil {
		a.bridge.Stop()
	}
	if a.cluster != nil {
		// Last: the others hear the goodbye once nothing here needs them.
		shutdown(a.cluster.Shutdown)
	}
	errs = append(errs, a.geoip.Close())
	return errors.Join(errs...)
}

// startServer runs the server until ctx ends (SIGINT or SIGTERM).
func startServer(ctx context.Context, cmd *cobra.Command, cfg *config.Config, st *store.Store) error {
	a, err := startApp(cfg, st, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	// The banner is for a person watching; a server whose standard output
	// is gone keeps serving, so its write error is not read.
	out := textout.New(cmd.OutOrStdout())
	out.Printf("jabberdesk %s serving %s\n", version, cfg.Domain)
	for _, name := range []string{"xmpp-starttls", "xmpp-tls", "http", "admin"} {
		if addr, ok := a.addrs[name]; ok {
			out.Printf("  %-14s %s\n", name, addr)
		}
	}
	if addr, ok := a.addrs["http"]; ok {
		out.Printf("  widget page    %s/chat/PORTAL\n", publicURL(cfg, addr))
		if a.console != nil {
			out.Printf("  console        %s/console/\n", publicURL(cfg, addr))
		}
	}
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case err = <-a.errc:
		a.log.Error("listener failed", "err", err)
	}
	if serr := a.stop(); serr != nil && err == nil && !errors.Is(serr, context.DeadlineExceeded) {
		err = serr
	}
	return err
}
