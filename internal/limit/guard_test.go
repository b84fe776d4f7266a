package limit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// attacker simulates guessers: conns connections from the addresses
// addrs (round robin), each trying a wrong password on account as soon as
// the guard lets it, for d of simulated time; a refused connection tries
// again a second later. It returns how many passwords were checked.
func attacker(g *Guard, clock *fakeClock, account string, addrs []string, conns int, d time.Duration) int {
	type conn struct {
		at   time.Time // when it acts next
		addr string
		att  *Attempt // waiting for its slot
	}
	start := clock.t
	cs := make([]*conn, conns)
	for i := range cs {
		cs[i] = &conn{at: start, addr: addrs[i%len(addrs)]}
	}
	checked := 0
	for {
		sort.Slice(cs, func(i, j int) bool { return cs[i].at.Before(cs[j].at) })
		c := cs[0]
		if c.at.Sub(start) > d {
			for _, c := range cs { // the connections give up
				if c.att != nil {
					c.att.Done(false)
				}
			}
			return checked
		}
		clock.t = c.at
		if c.att != nil { // its slot has come: the password is wrong
			c.att.Done(false)
			c.att = nil
			checked++
			continue
		}
		a := g.Begin(account, c.addr)
		switch {
		case a.Busy != nil:
			c.at = c.at.Add(10 * time.Millisecond) // when another has ended
		case a.Refused:
			a.Done(false)
			c.at = c.at.Add(time.Second)
		default:
			c.att = a
			c.at = c.at.Add(a.Wait)
		}
	}
}

func newTestGuard(clock *fakeClock, known KnownAddresses) *Guard {
	return NewGuard(GuardConfig{Now: clock.now, Known: known})
}

// Many connections from one address gain nothing: guesses are spaced as
// if they came one at a time.
func TestGuardSpacesParallelAttemptsFromOneAddress(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e6, 0)}
	g := newTestGuard(clock, nil)
	one := attacker(g, clock, "acme|fiona.b", []string{"192.0.2.1"}, 1, 40*time.Second)
	clock.t = clock.t.Add(time.Hour)
	g = newTestGuard(clock, nil)
	sixty := attacker(g, clock, "acme|fiona.b", []string{"192.0.2.1"}, 60, 40*time.Second)
	t.Logf("in 40 s: %d guesses with one connection, %d with 60", one, sixty)
	if sixty > 13 || sixty > one+1 {
		t.Fatalf("60 connections checked %d passwords in 40 s (one connection: %d)", sixty, one)
	}
	if g.Stats().Refused == 0 || g.Stats().Spaced == 0 {
		t.Fatalf("stats %+v", g.Stats())
	}
}

// Many addresses guessing one account are spaced by the account's count.
func TestGuardSpacesGuessesOnOneAccount(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e6, 0)}
	g := newTestGuard(clock, nil)
	var addrs []string
	for i := 1; i <= 20; i++ {
		addrs = append(addrs, fmt.Sprintf("198.51.100.%d", i))
	}
	n := attacker(g, clock, "acme|fiona.b", addrs, 100, 40*time.Second)
	if n > 20 {
		t.Fatalf("20 addresses checked %d passwords of one account in 40 s", n)
	}
	// An account that does not exist is spaced the same way.
	clock.t = clock.t.Add(time.Hour)
	if m := attacker(g, clock, "acme|nobody", addrs, 100, 40*time.Second); m != n {
		t.Fatalf("unknown account: %d guesses, a real one %d", m, n)
	}
}

// memoryKnown is a KnownAddresses for tests.
type memoryKnown map[string]bool

func (m memoryKnown) KnownAddress(account, addr string) bool { return m[account+" "+addr] }
func (m memoryKnown) RememberAddress(account, addr string, _ time.Time) {
	m[account+" "+addr] = true
}

// While the account is under attack, its agent still signs in at once
// from an address it used before, even one only the longer memory knows
// (a restart).
func TestGuardLetsKnownAddressesThrough(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e6, 0)}
	known := memoryKnown{}
	g := newTestGuard(clock, known)
	a := g.Begin("acme|fiona.b", "203.0.113.7")
	if a.Wait != 0 || a.Refused {
		t.Fatalf("first sign-in: %+v", a)
	}
	a.Done(true)
	if !known["acme|fiona.b 203.0.113.7"] {
		t.Fatal("the address was not remembered")
	}
	var addrs []string
	for i := 1; i <= 20; i++ {
		addrs = append(addrs, fmt.Sprintf("198.51.100.%d", i))
	}
	attacker(g, clock, "acme|fiona.b", addrs, 100, 10*time.Second)
	for _, guard := range []*Guard{g, newTestGuard(clock, known)} {
		// Under attack: a new address queues or is refused...
		if a := guard.Begin("acme|fiona.b", "192.0.2.99"); a.Wait == 0 && !a.Refused && guard == g {
			t.Fatalf("a new address goes ahead at once during the attack: %+v", a)
		} else {
			a.Done(false)
		}
		// ...the agent's own does not.
		a := guard.Begin("acme|fiona.b", "203.0.113.7")
		if a.Wait != 0 || a.Refused {
			t.Fatalf("the agent's known address waits %v (refused %v)", a.Wait, a.Refused)
		}
		a.Done(true)
	}
}

// A burst of good sign-ins from one address (an office reconnecting)
// goes through: only as many run at once as could fail for free.
func TestGuardLetsABurstOfGoodSignInsThrough(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e6, 0)}
	g := newTestGuard(clock, nil)
	var running []*Attempt
	for i := 0; i < 500; i++ {
		a := g.Begin(fmt.Sprintf("acme|agent%d", i), "192.0.2.1")
		for a.Busy != nil {
			running[0].Done(true)
			running = running[1:]
			a = g.Begin(fmt.Sprintf("acme|agent%d", i), "192.0.2.1")
		}
		if a.Wait != 0 || a.Refused {
			t.Fatalf("sign-in %d: wait %v, refused %v", i, a.Wait, a.Refused)
		}
		running = append(running, a)
		if len(running) > 5 {
			t.Fatalf("%d attempts under way, more than the 5 free failures", len(running))
		}
	}
}

// Failures expire with the window; idle keys are forgotten.
func TestGuardForgets(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e6, 0)}
	g := newTestGuard(clock, nil)
	attacker(g, clock, "acme|fiona.b", []string{"192.0.2.1"}, 1, 30*time.Second)
	if a := g.Begin("acme|george.w", "192.0.2.1"); a.Wait == 0 && !a.Refused {
		t.Fatal("the address is not slowed down after its failures")
	} else {
		a.Done(false)
	}
	clock.t = clock.t.Add(10 * time.Minute)
	a := g.Begin("acme|george.w", "192.0.2.1")
	if a.Wait != 0 {
		t.Fatalf("after the window: %v", a.Wait)
	}
	a.Done(true)
	clock.t = clock.t.Add(10 * time.Minute)
	g.Sweep()
	if len(g.addrs) != 0 || len(g.accounts) != 0 {
		t.Fatalf("left over: %d addresses, %d accounts", len(g.addrs), len(g.accounts))
	}
}

// Await waits while as many attempts are under way as could fail for
// free, waits out a slot, refuses past MaxWait, and gives up when its
// context ends.
func TestGuardAwait(t *testing.T) {
	ctx := context.Background()
	g := NewGuard(GuardConfig{AddrFailures: 1, BaseDelay: time.Millisecond, MaxWait: time.Hour})
	first, err := g.Await(ctx, "acme|a", "192.0.2.1")
	if err != nil || first.Wait != 0 {
		t.Fatalf("first attempt: %+v %v", first, err)
	}
	second := make(chan *Attempt)
	go func() {
		att, err := g.Await(ctx, "acme|a", "192.0.2.1") // busy until the first ends
		if err != nil {
			t.Error(err)
		}
		second <- att
	}()
	first.Done(false)
	att := <-second
	if att.Wait <= 0 || att.By != "address" {
		t.Errorf("the attempt after a failure was not spaced: %+v", att)
	}
	att.Done(false)

	stopped, cancel := context.WithCancel(ctx)
	cancel()
	slow := NewGuard(GuardConfig{AddrFailures: 1, BaseDelay: time.Minute, MaxWait: time.Hour})
	slow.Begin("acme|a", "192.0.2.1").Done(false)
	if att, err := slow.Await(stopped, "acme|a", "192.0.2.1"); !errors.Is(err, context.Canceled) || att == nil {
		t.Errorf("a wait whose context ended: %+v %v", att, err)
	}
	refusing := NewGuard(GuardConfig{AddrFailures: 1, BaseDelay: time.Hour, MaxWait: time.Second})
	refusing.Begin("acme|a", "192.0.2.1").Done(false)
	if att, err := refusing.Await(ctx, "acme|a", "192.0.2.1"); !errors.Is(err, ErrRefused) || !att.Refused {
		t.Errorf("past MaxWait: %+v %v", att, err)
	}
}
