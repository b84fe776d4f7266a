package limit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Guard slows down password guessing, for every place where a password
// is checked (XMPP sign-in, and the supervisor console's sign-in).
//
// Attempts are counted per address key and per account. Each key has a
// number of free failures within Window. While some are left, as many
// attempts may be under way at once as there are free failures left; the
// others wait for one of them to finish (Busy), so that a burst of
// parallel guesses cannot spend more than the free failures, while a
// burst of good sign-ins (an office reconnecting) goes through. Past the
// free failures, attempts are spaced out: each one is given a time slot
// BaseDelay after the previous slot, doubling with every further failure
// or attempt under way, up to MaxDelay; an attempt whose slot is more
// than MaxWait away is refused at once without its password being
// checked (the server answers "try later").
//
// An account is never locked: the account's spacing does not apply to an
// address it has signed in from before (Known remembers them), so the
// agent keeps signing in while someone elsewhere guesses; and it applies
// to unknown accounts just the same, so that the spacing does not tell
// which accounts exist.
type Guard struct {
	cfg GuardConfig

	mu       sync.Mutex
	addrs    map[string]*keyState
	accounts map[string]*keyState
	good     map[string]map[string]time.Time // account → address key → last sign-in

	spaced, refused atomic.Int64
}

// GuardConfig configures a Guard; zero fields get the defaults.
type GuardConfig struct {
	AddrFailures    int           // free failures per address within Window (default 5)
	AccountFailures int           // free failures per account within Window (default 10)
	Window          time.Duration // default 5 minutes
	BaseDelay       time.Duration // the first spacing (default 250 ms)
	MaxDelay        time.Duration // the largest spacing (default 16 s)
	MaxWait         time.Duration // longest wait before an attempt is refused (default 20 s)
	// Known remembers the addresses each account signed in from, beyond
	// the guard's own memory (a restart); nil keeps them in memory only.
	Known KnownAddresses
	Now   func() time.Time
}

// KnownAddresses remembers, per account, the address keys it signed in
// from. Implementations log their own errors: a lookup that fails
// answers false.
type KnownAddresses interface {
	KnownAddress(account, addr string) bool
	RememberAddress(account, addr string, at time.Time)
}

// maxFailuresKept bounds the failures kept per key: past it the spacing
// is at its largest anyway.
const maxFailuresKept = 64

// maxGoodPerAccount bounds the addresses remembered per account in
// memory.
const maxGoodPerAccount = 32

// keyState is what the guard knows of one address or account.
type keyState struct {
	failures []time.Time   // within Window, oldest first
	inflight int           // attempts begun and not done
	next     time.Time     // the last slot given out
	wake     chan struct{} // closed when an attempt ends (see Attempt.Busy)
}

// NewGuard makes a Guard.
func NewGuard(cfg GuardConfig) *Guard {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.AddrFailures, 5)
	def(&cfg.AccountFailures, 10)
	defD(&cfg.Window, 5*time.Minute)
	defD(&cfg.BaseDelay, 250*time.Millisecond)
	defD(&cfg.MaxDelay, 16*time.Second)
	defD(&cfg.MaxWait, 20*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Guard{cfg: cfg, addrs: map[string]*keyState{}, accounts: map[string]*keyState{}, good: map[string]map[string]time.Time{}}
}

// Attempt is one password check. Wait before checking, unless Refused;
// then call Done exactly once (also after a refusal).
type Attempt struct {
	g             *Guard
	account, addr string
	trusted       bool // the account's spacing does not apply
	// Busy, when not nil: too many attempts are under way for the free
	// failures left; begin again once it is closed (an attempt ended).
	// There is nothing to Done then.
	Busy <-chan struct{}
	// Wait is how long to wait before checking the password.
	Wait time.Duration
	// Refused: the wait would be longer than MaxWait; do not check the
	// password, answer "try again later".
	Refused bool
	// By says what spaced or refused the attempt: "address", "account",
	// or "" when it may go ahead at once.
	By   string
	done bool
}

// Begin starts an attempt to sign in to account from the address key
// addr (see Key).
func (g *Guard) Begin(account, addr string) *Attempt {
	a := &Attempt{g: g, account: account, addr: addr}
	g.mu.Lock()
	now := g.cfg.Now()
	acc := g.state(g.accounts, account)
	a.trusted = g.isGoodLocked(account, addr)
	if !a.trusted && g.cfg.Known != nil && g.overLocked(acc, g.cfg.AccountFailures, now) {
		// Under attack: ask the longer memory, without holding the lock.
		g.mu.Unlock()
		known := g.cfg.Known.KnownAddress(account, addr)
		g.mu.Lock()
		if known {
			g.rememberLocked(account, addr, now)
		}
		a.trusted = known
		now = g.cfg.Now()
		acc = g.state(g.accounts, account)
	}
	ad := g.state(g.addrs, addr)
	slot := now
	addrSlot, addrSpaced, busy := g.slotLocked(ad, g.cfg.AddrFailures, now)
	if addrSpaced {
		slot, a.By = addrSlot, "address"
	}
	accSpaced := false
	if !a.trusted && busy == nil {
		var accSlot time.Time
		accSlot, accSpaced, busy = g.slotLocked(acc, g.cfg.AccountFailures, now)
		if accSpaced && accSlot.After(slot) {
			slot, a.By = accSlot, "account"
		}
	}
	if busy != nil {
		a.Busy, a.done = busy, true
		g.mu.Unlock()
		return a
	}
	a.Wait = slot.Sub(now)
	if a.Wait > g.cfg.MaxWait {
		a.Refused, a.Wait = true, 0
		g.mu.Unlock()
		g.refused.Add(1)
		return a
	}
	if addrSpaced {
		ad.next = slot
	}
	if accSpaced {
		acc.next = slot
	}
	ad.inflight++
	acc.inflight++
	g.mu.Unlock()
	if a.Wait > 0 {
		g.spaced.Add(1)
	}
	return a
}

// Done ends the attempt: ok says whether the password was right. A
// refused attempt is done without a result.
func (a *Attempt) Done(ok bool) {
	if a.done {
		return
	}
	a.done = true
	if a.Refused {
		return
	}
	g := a.g
	now := g.cfg.Now()
	g.mu.Lock()
	ad, acc := g.state(g.addrs, a.addr), g.state(g.accounts, a.account)
	ad.end()
	acc.end()
	remember := false
	if ok {
		remember = !g.isGoodLocked(a.account, a.addr)
		g.rememberLocked(a.account, a.addr, now)
	} else {
		ad.fail(now)
		acc.fail(now)
	}
	g.mu.Unlock()
	if remember && g.cfg.Known != nil {
		g.cfg.Known.RememberAddress(a.account, a.addr, now)
	}
}

// ErrRefused is Await's answer for an attempt the guard refused: do not
// check the password, answer "try again later".
var ErrRefused = errors.New("limit: too many failed sign-ins; try again later")

// Await begins an attempt and waits its turn, for every place that checks
// a password: while the attempt is Busy, until another one ends; past the
// free failures, for its time slot (on a timer, not the guard's clock).
// It returns the attempt, to be Done once the password is checked, or
// with ErrRefused (nothing to check), or with ctx's error when ctx ends
// first (then Done(false): the attempt counts as failed). Attempt.Wait
// and By say what it waited for.
func (g *Guard) Await(ctx context.Context, account, addr string) (*Attempt, error) {
	for {
		att := g.Begin(account, addr)
		switch {
		case att.Busy != nil:
			select {
			case <-att.Busy:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case att.Refused:
			return att, ErrRefused
		case att.Wait > 0:
			t := time.NewTimer(att.Wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return att, ctx.Err()
			}
		}
		return att, nil
	}
}

// GuardStats counts the guard's interventions.
type GuardStats struct {
	Spaced  int64 // attempts that had to wait
	Refused int64 // attempts refused without a password check
}

// Stats returns the counters.
func (g *Guard) Stats() GuardStats {
	return GuardStats{Spaced: g.spaced.Load(), Refused: g.refused.Load()}
}

// Sweep forgets keys with nothing to remember: call it now and then.
func (g *Guard) Sweep() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	for _, m := range []map[string]*keyState{g.addrs, g.accounts} {
		for k, st := range m {
			st.expire(now, g.cfg.Window)
			if len(st.failures) == 0 && st.inflight == 0 && !st.next.After(now) {
				delete(m, k)
			}
		}
	}
}

func (g *Guard) state(m map[string]*keyState, key string) *keyState {
	st := m[key]
	if st == nil {
		st = &keyState{}
		m[key] = st
	}
	return st
}

// overLocked reports whether st is past its free failures.
func (g *Guard) overLocked(st *keyState, free int, now time.Time) bool {
	st.expire(now, g.cfg.Window)
	return len(st.failures)+st.inflight >= free
}

// slotLocked is the time slot of st's next attempt, and whether it is
// spaced out at all; or, while free failures are left, a channel to wait
// on when as many attempts are under way as could still fail for free.
func (g *Guard) slotLocked(st *keyState, free int, now time.Time) (slot time.Time, spaced bool, busy <-chan struct{}) {
	st.expire(now, g.cfg.Window)
	left := free - len(st.failures)
	if left > 0 {
		if st.inflight < left {
			return now, false, nil
		}
		if st.wake == nil {
			st.wake = make(chan struct{})
		}
		return now, false, st.wake
	}
	excess := st.inflight - left
	d := g.cfg.MaxDelay
	if excess < 16 {
		d = min(g.cfg.BaseDelay<<excess, g.cfg.MaxDelay)
	}
	return later(now, st.next).Add(d), true, nil
}

func (g *Guard) isGoodLocked(account, addr string) bool {
	_, ok := g.good[account][addr]
	return ok
}

func (g *Guard) rememberLocked(account, addr string, now time.Time) {
	m := g.good[account]
	if m == nil {
		m = map[string]time.Time{}
		g.good[account] = m
	}
	if _, ok := m[addr]; !ok && len(m) >= maxGoodPerAccount {
		var oldest string
		for k, t := range m {
			if oldest == "" || t.Before(m[oldest]) {
				oldest = k
			}
		}
		delete(m, oldest)
	}
	m[addr] = now
}

// end counts an attempt out and wakes those waiting for it.
func (st *keyState) end() {
	st.inflight--
	if st.wake != nil {
		close(st.wake)
		st.wake = nil
	}
}

func (st *keyState) fail(now time.Time) {
	st.failures = append(st.failures, now)
	if n := len(st.failures); n > maxFailuresKept {
		st.failures = append(st.failures[:0], st.failures[n-maxFailuresKept:]...)
	}
}

func (st *keyState) expire(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	i := 0
	for i < len(st.failures) && st.failures[i].Before(cut) {
		i++
	}
	if i > 0 {
		st.failures = append(st.failures[:0], st.failures[i:]...)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
