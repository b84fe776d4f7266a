// Package memrelease gives memory back to the operating system once a
// wave of work has gone quiet.
//
// A wave of sign-ins (a shift starting, every client reconnecting after a
// network blip) allocates far more than it keeps: password hashing, TLS
// handshakes and the presence every sign-in sends to every colleague.
// When the wave ends, nothing else allocates, so the Go runtime collects
// none of it: the garbage stays in the heap until the next forced
// collection (two minutes later), freed memory goes back to the system
// only gradually, and the goroutine stacks that grew while signing in stay
// grown. A Releaser watches a count of work done (sign-ins) and, once it
// has not moved for a while after enough work, collects the garbage,
// shrinks the stacks and returns the freed memory at once. It runs on its
// own goroutine, never on a request's path, and takes at most a
// twentieth of the time: after a release that took d, the next waits
// 19·d (and at least MinGap).
package memrelease

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Config tells a Releaser what to watch and when to act. Zero durations
// and counts take the defaults below.
type Config struct {
	// Count is the work done so far, never decreasing (sign-ins and
	// failed sign-ins): a release follows a change of it.
	Count func() int64
	// Quiet is how long Count must stay still before a release.
	Quiet time.Duration
	// MinWork is how much Count must have grown since the last release:
	// a few sign-ins leave too little behind to be worth a collection.
	MinWork int64
	// MinGap is the least time between two releases; a slow release
	// makes the next wait longer (see costShare).
	MinGap time.Duration
	// Every is how often Count is read.
	Every time.Duration
	// Release does the work; Release (the function) by default. Tests
	// replace it.
	Release func()
	// Logger hears of each release; nil: slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultQuiet   = 2 * time.Second
	DefaultMinWork = 100
	DefaultMinGap  = 5 * time.Second
	DefaultEvery   = time.Second
)

// Releaser is the watch; Start one, Stop it when done.
type Releaser struct {
	cfg      Config
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// Only the Releaser's goroutine (or a test calling due) touches these.
	last     int64     // Count at the last reading
	changed  time.Time // when Count last moved
	released int64     // Count at the last release
	next     time.Time // no release before this
}

// costShare bounds the time spent releasing: a release that took d is
// followed by none for (costShare-1)·d.
const costShare = 20

// New makes a Releaser that is not running yet; Start runs it.
func New(cfg Config) *Releaser {
	if cfg.Quiet <= 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.MinWork <= 0 {
		cfg.MinWork = DefaultMinWork
	}
	if cfg.MinGap <= 0 {
		cfg.MinGap = DefaultMinGap
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.Release == nil {
		cfg.Release = Release
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Releaser{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
}

// Start watches Count on a goroutine of its own until Stop.
func (r *Releaser) Start() {
	r.last = r.cfg.Count()
	r.released = r.last
	go r.run()
}

// Stop ends the watch and waits for a release under way. It may be
// called more than once.
func (r *Releaser) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

func (r *Releaser) run() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if r.due(now) {
				r.cfg.Release()
				took := time.Since(now)
				r.next = maxTime(r.next, time.Now().Add((costShare-1)*took))
				r.cfg.Logger.Info("memory returned to the system after a wave of work",
					"work", r.released, "took", took.Round(time.Millisecond))
			}
		case <-r.stop:
			return
		}
	}
}

// due reads Count at now and reports whether a release is due; it then
// counts the release as done.
func (r *Releaser) due(now time.Time) bool {
	n := r.cfg.Count()
	if n != r.last || r.changed.IsZero() {
		r.last, r.changed = n, now
		return false
	}
	if n-r.released < r.cfg.MinWork || now.Sub(r.changed) < r.cfg.Quiet {
		return false
	}
	if now.Before(r.next) {
		return false
	}
	r.released, r.next = n, now.Add(r.cfg.MinGap)
	return true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stackShrinkCollections is how many collections run before memory is
// returned: each halves a goroutine stack that uses under a quarter of
// it, so a stack grown to 32 KiB while signing in is back to its idle
// size after a few.
const stackShrinkCollections = 2

// Release collects the garbage, shrinks goroutine stacks and returns all
// freed memory to the operating system. It takes a few collections'
// worth of CPU: call it when the process is quiet.
func Release() {
	for range stackShrinkCollections {
		runtime.GC()
	}
	debug.FreeOSMemory() // one more collection, then everything freed goes back
}
