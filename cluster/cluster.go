// Package cluster lets several jabberdesk nodes — the same binary behind
// one TCP load balancer, sharing one PostgreSQL store — work as one. It is
// everything that crosses nodes, carried by NATS with JetStream
// (docs/CLUSTER.md):
//
//   - The node registry (nodes.go): each node puts a heartbeat into the
//     key-value bucket jd_nodes every Takeover/5; a node whose last
//     heartbeat is older than Takeover is lost, and every surviving node
//     is told once (OnNodeLost). A node that shuts down deletes its key
//     and is lost at once.
//   - The session directory (directory.go): which node holds each XMPP
//     session, in the bucket jd_sessions, mirrored in memory by every node
//     so that a lookup never asks the server.
//   - Node-to-node requests (requests.go) and broadcasts (broadcast.go)
//     over core NATS subjects.
//   - Chat leases (leases.go): which node runs each live chat, in the
//     bucket jd_chats; a chat is claimed by creating its key, and taken
//     from a lost node by compare-and-set on the key's revision, so that
//     exactly one node wins.
//
// Invariants:
//   - Lookups (Sessions, Owner, Owned, Nodes) read memory only. Each
//     bucket is followed by a watch (watch.go) that replaces the memory
//     copy whole after every (re)connection and applies changes one by
//     one in between. No I/O is done while a lock is held.
//   - Liveness is judged on the server's clock: a heartbeat's age is how
//     much older it is than the newest heartbeat this node has seen, its
//     own included; no node is judged lost until this node has been
//     connected for Takeover, so that a NATS restart loses nobody.
//   - The connection reconnects forever with backoff; the watches,
//     request handlers, subscriptions and heartbeat resume by themselves.
//   - Errors name the operation ("cluster: claim chat 12: ...").
//   - The package imports nothing of jabberdesk's; the packages that use
//     it declare the small interface they need.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config says how a node joins the cluster.
type Config struct {
	// URL names the NATS server or servers, comma-separated.
	URL string
	// Node is this node's name: unique in the cluster, letters, digits,
	// '_' and '-' only, at most 64.
	Node string
	// Takeover is how long a node may stay silent before it is lost
	// (default 10s, at least 1s). Heartbeats are put every Takeover/5.
	Takeover time.Duration
	// Replicas is how many copies of each bucket a NATS cluster keeps
	// (default 1; 3 on a three-server NATS cluster).
	Replicas int
	// MaxHandlers is how many requests of one kind run at once (default
	// 64); more wait in NATS and may time out for their requester.
	MaxHandlers int
	// Stats, if set, is called before each heartbeat; its numbers are
	// shown by Nodes. It must return quickly.
	Stats func() map[string]int64
	// Logger receives what the cluster has to say (default
	// slog.Default()).
	Logger *slog.Logger
}

// Errors callers tell apart with errors.Is.
var (
	// ErrClosed: the Cluster was closed or is shutting down.
	ErrClosed = errors.New("cluster: closed")
	// ErrNodeUnreachable: no node answers on the subject of a request —
	// the node is gone or does not handle that kind.
	ErrNodeUnreachable = errors.New("cluster: node unreachable")
	// ErrNodeAlive: TakeOver was asked for a node that is not lost.
	ErrNodeAlive = errors.New("cluster: node is alive")
)

const (
	defaultTakeover    = 10 * time.Second
	minTakeover        = time.Second
	defaultMaxHandlers = 64
	maxNodeName        = 64
	// opTimeout bounds one call to the server made by the cluster's own
	// loops (heartbeat, watch set-up, purges).
	opTimeout = 5 * time.Second
	// workers is how many key-value operations a bulk job (a lost node's
	// sessions, a takeover) has in flight at once.
	workers = 16
)

var nodeName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Cluster is this node's membership of the cluster. Its methods may be
// called from any goroutine.
type Cluster struct {
	cfg     Config
	node    string
	log     *slog.Logger
	started time.Time

	nc *nats.Conn
	js jetstream.JetStream

	// ctx ends the loops and the handlers' contexts (Close, Shutdown).
	ctx    context.Context
	cancel context.CancelFunc
	loops  sync.WaitGroup

	nodes    *registry
	dir      *directory
	chats    *leases
	nodesKV  jetstream.KeyValue
	sessKV   jetstream.KeyValue
	chatsKV  jetstream.KeyValue
	beat     chan struct{} // wakes the heartbeat loop
	stopBeat func()        // ends the heartbeat loop and waits for it
	reassert chan struct{} // wakes the loop that puts back this node's sessions
	shutOnce sync.Once

	mu       sync.Mutex // guards the fields below
	mirrors  []*mirror
	own      map[string]struct{} // this node's sessions, by key
	onLost   []func(node string)
	handlers map[string]*nats.Subscription
	closing  bool           // no new handlers or subscriptions; handlers drain
	inFlight sync.WaitGroup // request handlers running; Add under mu while !closing
}

// Join connects to NATS (retrying with backoff until ctx ends), creates
// or binds the buckets, puts the first heartbeat, loads the registry, the
// session directory and the chat leases, purges the sessions a previous
// run of this node left, and starts the heartbeat. The connection then
// reconnects forever.
func Join(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		cfg:      cfg,
		node:     cfg.Node,
		log:      cfg.Logger.With("node", cfg.Node),
		started:  time.Now(),
		nodes:    newRegistry(cfg.Node, cfg.Takeover),
		dir:      newDirectory(),
		chats:    newLeases(),
		beat:     make(chan struct{}, 1),
		reassert: make(chan struct{}, 1),
		own:      map[string]struct{}{},
		handlers: map[string]*nats.Subscription{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if c.nc, err = c.connect(ctx); err != nil {
		c.cancel()
		return nil, err
	}
	c.nodes.connected(time.Now())
	if err := c.start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// check fills in defaults and refuses what cannot work.
func (cfg Config) check() (Config, error) {
	if cfg.URL == "" {
		return cfg, errors.New("cluster: join: no NATS URL")
	}
	if !nodeName.MatchString(cfg.Node) || len(cfg.Node) > maxNodeName {
		return cfg, fmt.Errorf("cluster: join: node name %q: letters, digits, '_' and '-', at most %d", cfg.Node, maxNodeName)
	}
	if cfg.Takeover == 0 {
		cfg.Takeover = defaultTakeover
	}
	if cfg.Takeover < minTakeover {
		return cfg, fmt.Errorf("cluster: join: takeover %v is under %v", cfg.Takeover, minTakeover)
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.MaxHandlers <= 0 {
		cfg.MaxHandlers = defaultMaxHandlers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// connect dials NATS until it answers or ctx ends; the connection it
// returns reconnects forever by itself.
func (c *Cluster) connect(ctx context.Context) (*nats.Conn, error) {
	ping := max(c.cfg.Takeover/4, time.Second)
	opts := []nats.Option{
		nats.Name("jabberdesk " + c.node),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration { return backoff(attempts) }),
		nats.PingInterval(ping),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				c.log.Warn("cluster: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.log.Info("cluster: reconnected to NATS", "server", nc.ConnectedUrlRedacted())
			c.resumed()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			c.log.Warn("cluster: NATS", "subject", subject, "err", err)
		}),
	}
	for attempt := 1; ; attempt++ {
		nc, err := nats.Connect(c.cfg.URL, opts...)
		if err == nil {
			return nc, nil
		}
		c.log.Warn("cluster: cannot reach NATS; trying again", "url", c.cfg.URL, "err", err)
		if !sleep(ctx, backoff(attempt)) {
			return nil, fmt.Errorf("cluster: join: connect to %s: %w", c.cfg.URL, err)
		}
	}
}

// start opens the buckets and brings the node in.
func (c *Cluster) start(ctx context.Context) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("cluster: join: %w", err)
	}
	c.js = js
	cfgs := bucketConfigs(c.cfg.Replicas)
	kvs := make([]jetstream.KeyValue, len(cfgs))
	for i, bc := range cfgs {
		if kvs[i], err = openBucket(ctx, js, bc); err != nil {
			return fmt.Errorf("cluster: join: bucket %s: %w", bc.Bucket, err)
		}
	}
	c.nodesKV, c.sessKV, c.chatsKV = kvs[0], kvs[1], kvs[2]
	if err := c.putHeartbeat(ctx); err != nil {
		return fmt.Errorf("cluster: join: heartbeat: %w", err)
	}
	mirrors := []*mirror{
		newMirror(cfgs[0], c.nodesKV, c.resetNodes, c.applyNode),
		newMirror(cfgs[1], c.sessKV, c.resetSessions, c.applySession),
		newMirror(cfgs[2], c.chatsKV, c.chats.reset, c.chats.apply),
	}
	c.mu.Lock()
	c.mirrors = mirrors
	c.mu.Unlock()
	for _, m := range mirrors {
		c.loop(func() { c.follow(m) })
	}
	for _, m := range mirrors {
		select {
		case <-m.ready:
		case <-ctx.Done():
			return fmt.Errorf("cluster: join: load %s: %w", m.cfg.Bucket, ctx.Err())
		}
	}
	if err := c.purgeSessionsOf(ctx, c.node); err != nil {
		return fmt.Errorf("cluster: join: purge the sessions of a previous run: %w", err)
	}
	beatCtx, stopBeat := context.WithCancel(c.ctx)
	beatDone := make(chan struct{})
	c.stopBeat = func() {
		stopBeat()
		<-beatDone
	}
	c.loop(func() {
		defer close(beatDone)
		c.heartbeatLoop(beatCtx)
	})
	c.loop(c.reassertLoop)
	c.log.Info("cluster: joined", "server", c.nc.ConnectedUrlRedacted(),
		"nodes", len(c.Nodes()), "takeover", c.cfg.Takeover)
	return nil
}

// loop runs f on its own goroutine until the cluster closes.
func (c *Cluster) loop(f func()) {
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		f()
	}()
}

// resumed runs when the connection is back: the liveness grace starts
// again, a heartbeat goes out at once and every bucket is loaded anew.
func (c *Cluster) resumed() {
	c.nodes.connected(time.Now())
	signal(c.beat)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.mirrors {
		signal(m.resync)
	}
}

// Node is this node's name.
func (c *Cluster) Node() string { return c.node }

// Close leaves at once, without a goodbye: the connection closes, and
// the other nodes find this one lost after Takeover, as after a crash.
// Handlers still running see their context canceled. Close is safe to
// call more than once and after Shutdown.
func (c *Cluster) Close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.cancel()
	c.nc.Close()
	c.loops.Wait()
}

// Shutdown leaves the cluster gracefully: it stops taking requests,
// waits for the handlers running, deletes this node's sessions and its
// heartbeat key (so that the other nodes find it gone at once and take
// over its chats), then drains the connection. When ctx ends first,
// what is left is closed at once and ctx's error returned.
func (c *Cluster) Shutdown(ctx context.Context) error {
	err := ErrClosed
	c.shutOnce.Do(func() { err = c.shutdown(ctx) })
	return err
}

func (c *Cluster) shutdown(ctx context.Context) error {
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	c.mu.Lock()
	c.closing = true
	subs := c.handlers
	c.handlers = nil
	c.mu.Unlock()
	var errs []error
	for kind, sub := range subs {
		if sub == nil {
			continue // Handle is still subscribing; it will see closing
		}
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("stop handling %s: %w", kind, err))
		}
	}
	if err := waitGroup(ctx, &c.inFlight); err != nil {
		errs = append(errs, fmt.Errorf("wait for handlers: %w", err))
	}
	// No heartbeat may follow the goodbye.
	c.stopBeat()
	c.mu.Lock()
	clear(c.own)
	c.mu.Unlock()
	if err := c.purgeSessionsOf(ctx, c.node); err != nil {
		errs = append(errs, err)
	}
	if err := c.nodesKV.Purge(ctx, c.node, jetstream.PurgeTTL(markerTTL)); err != nil {
		errs = append(errs, fmt.Errorf("delete heartbeat: %w", err))
	}
	c.cancel()
	if err := c.drain(ctx); err != nil {
		errs = append(errs, err)
	}
	c.loops.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("cluster: shutdown: %w", errors.Join(errs...))
	}
	c.log.Info("cluster: left")
	return nil
}

// drain drains the connection, or closes it when ctx ends first.
func (c *Cluster) drain(ctx context.Context) error {
	closed := make(chan struct{})
	c.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := c.nc.Drain(); err != nil {
		c.nc.Close()
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil
		}
		return fmt.Errorf("drain: %w", err)
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		c.nc.Close()
		return fmt.Errorf("drain: %w", ctx.Err())
	}
}

// waitGroup waits for wg or for ctx to end.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the wait before the attempt-th try again: 100ms doubling up
// to 2s, with up to a fifth more at random so that nodes spread out.
func backoff(attempt int) time.Duration {
	d := 2 * time.Second
	if attempt < 5 {
		d = 100 * time.Millisecond << max(attempt-1, 0)
	}
	return d + rand.N(d/5+1)
}

// sleep waits d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// signal wakes whoever waits on ch (capacity 1) without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
