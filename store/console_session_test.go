package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// consoleLimits are the console's own.
var consoleLimits = ConsoleSessionLimits{Idle: 30 * time.Minute, MaxAge: 12 * time.Hour, PerAgent: 16, Max: 10_000}

// consoleSession is a session of agent in acme with a key made of name,
// begun at born.
func consoleSession(agent, name string, born time.Time) ConsoleSession {
	k, c := sha256.Sum256([]byte(name)), sha256.Sum256([]byte("cred of "+agent))
	return ConsoleSession{Key: k[:], Portal: "acme", Agent: agent, Cred: c[:], CSRF: "csrf-" + name, Born: born}
}

// consoleKeys are the names of the sessions among names that the store
// still has.
func consoleKeys(t *testing.T, s *Store, names ...string) []string {
	t.Helper()
	var have []string
	for _, n := range names {
		k := sha256.Sum256([]byte(n))
		_, err := s.ConsoleSession(context.Background(), k[:])
		switch {
		case err == nil:
			have = append(have, n)
		case !errors.Is(err, ErrNotFound):
			t.Fatal(err)
		}
	}
	return have
}

// A console session is stored by its key and read back on every node's
// request; its last use only goes forward, its outcome is handed out
// once, and it ends or is signed out of, the sign-in and sign-out
// audited.
func TestConsoleSessions(t *testing.T) {
	s, ctx := twoAgents(t)
	born := time.Date(2020, 6, 1, 9, 0, 0, 0, time.UTC) // before the agents were added
	cs := consoleSession("Fiona.B", "one", born)
	if err := s.CreateConsoleSession(ctx, cs, consoleLimits, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConsoleSession(ctx, cs.Key)
	if err != nil || got.Portal != "acme" || got.Agent != "fiona.b" || !bytes.Equal(got.Cred, cs.Cred) || got.CSRF != "csrf-one" ||
		got.Flash != "" || !got.Born.Equal(born) || !got.Seen.Equal(born) {
		t.Fatalf("read back %+v %v", got, err)
	}
	other := sha256.Sum256([]byte("two"))
	if _, err := s.ConsoleSession(ctx, other[:]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown key: %v", err)
	}

	// The last use goes forward only.
	later := born.Add(5 * time.Minute)
	for _, at := range []time.Time{later, born.Add(time.Minute)} {
		if err := s.TouchConsoleSession(ctx, cs.Key, at); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.ConsoleSession(ctx, cs.Key); !got.Seen.Equal(later) {
		t.Fatalf("seen %v, want %v", got.Seen, later)
	}
	if err := s.TouchConsoleSession(ctx, other[:], later); err != nil {
		t.Fatalf("touching a session that is gone: %v", err)
	}

	// An outcome is shown once; a long one is cut.
	if err := s.SetConsoleFlash(ctx, cs.Key, "Chat #1042 assigned to George."); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ConsoleSession(ctx, cs.Key); got.Flash != "Chat #1042 assigned to George." {
		t.Fatalf("flash %q", got.Flash)
	}
	for i, want := range []string{"Chat #1042 assigned to George.", ""} {
		if f, err := s.TakeConsoleFlash(ctx, cs.Key); f != want || err != nil {
			t.Fatalf("take %d: %q %v", i, f, err)
		}
	}
	if err := s.SetConsoleFlash(ctx, cs.Key, strings.Repeat("é", 2000)); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.TakeConsoleFlash(ctx, cs.Key); len([]rune(f)) != consoleFlashMax || !strings.HasSuffix(f, "…") {
		t.Fatalf("a long outcome kept %d characters", len([]rune(f)))
	}
	if f, err := s.TakeConsoleFlash(ctx, other[:]); f != "" || err != nil {
		t.Fatalf("the outcome of a session that is gone: %q %v", f, err)
	}

	// Ended, it is gone; signed out, too, and audited.
	if err := s.EndConsoleSession(ctx, cs.Key); err != nil {
		t.Fatal(err)
	}
	if err := s.EndConsoleSession(ctx, cs.Key); err != nil {
		t.Fatalf("ended twice: %v", err)
	}
	if have := consoleKeys(t, s, "one"); len(have) != 0 {
		t.Fatalf("an ended session is still there")
	}
	cs = consoleSession("george.w", "three", born)
	if err := s.CreateConsoleSession(ctx, cs, consoleLimits, "2001:db8::"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.SignOutConsole(ctx, cs.Key, born.Add(time.Hour), "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
	}
	if have := consoleKeys(t, s, "three"); len(have) != 0 {
		t.Fatalf("a session signed out of is still there")
	}
	es, err := s.AuditQuery(ctx, AuditFilter{Portal: "acme", From: born, To: born.Add(2 * time.Hour)})
	var log []string
	for _, e := range es {
		log = append(log, fmt.Sprintf("%s %s %s %s", e.At.Format(time.TimeOnly), e.Actor, e.Action, e.Detail))
	}
	want := []string{
		`10:00:00 george.w console.signout from="192.0.2.9"`,
		`09:00:00 george.w console.signin from="2001:db8::"`,
		`09:00:00 fiona.b console.signin from="192.0.2.1"`,
	}
	if err != nil || !slices.Equal(log, want) {
		t.Fatalf("audit log %q %v, want %q", log, err, want)
	}
}

// What a session is made of is checked, and its agent must exist.
func TestConsoleSessionRefused(t *testing.T) {
	s, ctx := twoAgents(t)
	born := time.Now()
	short := consoleSession("fiona.b", "a", born)
	short.Key = short.Key[:16]
	noCSRF := consoleSession("fiona.b", "b", born)
	noCSRF.CSRF = ""
	for name, cs := range map[string]ConsoleSession{"short key": short, "no CSRF token": noCSRF} {
		if err := s.CreateConsoleSession(ctx, cs, consoleLimits, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := s.CreateConsoleSession(ctx, consoleSession("fiona.b", "c", born), ConsoleSessionLimits{}, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("no limits: %v", err)
	}
	if err := s.CreateConsoleSession(ctx, consoleSession("nobody", "d", born), consoleLimits, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown agent: %v", err)
	}
	if have := consoleKeys(t, s, "a", "b", "c", "d"); len(have) != 0 {
		t.Errorf("stored: %q", have)
	}
}

// Creating a session deletes the expired ones and keeps the bounds: an
// agent's oldest goes past PerAgent, everyone's oldest past Max.
func TestConsoleSessionBounds(t *testing.T) {
	s, ctx := twoAgents(t)
	l := ConsoleSessionLimits{Idle: 30 * time.Minute, MaxAge: 12 * time.Hour, PerAgent: 3, Max: 5}
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	create := func(agent, name string, born time.Time) {
		t.Helper()
		if err := s.CreateConsoleSession(ctx, consoleSession(agent, name, born), l, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"f1", "f2", "f3", "f4", "g1", "g2", "g3", "g4"}
	for i, n := range names[:4] {
		create("fiona.b", n, t0.Add(time.Duration(i)*time.Second))
	}
	if have := consoleKeys(t, s, names...); !slices.Equal(have, []string{"f2", "f3", "f4"}) {
		t.Fatalf("past an agent's bound: %q", have)
	}
	for i, n := range names[4:7] {
		create("george.w", n, t0.Add(time.Duration(10+i)*time.Second))
	}
	if have := consoleKeys(t, s, names...); !slices.Equal(have, []string{"f3", "f4", "g1", "g2", "g3"}) {
		t.Fatalf("past the bound of all: %q", have)
	}

	// Unused for over 30 minutes: deleted at the next sign-in (f3, f4,
	// and g1, last used at 09:40); used in the last minutes: kept.
	k := func(n string) []byte { h := sha256.Sum256([]byte(n)); return h[:] }
	if err := s.TouchConsoleSession(ctx, k("g1"), t0.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for i, n := range []string{"g2", "g3"} {
		if err := s.TouchConsoleSession(ctx, k(n), t0.Add(12*time.Hour-time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	create("george.w", "g4", t0.Add(12*time.Hour+11*time.Second))
	if have := consoleKeys(t, s, names...); !slices.Equal(have, []string{"g2", "g3", "g4"}) {
		t.Fatalf("after the expired ones went: %q", have)
	}
	// At 21:00:13, g2 (begun 09:00:11) and g3 (09:00:12) are over 12
	// hours old, though used within the last minutes.
	create("fiona.b", "f1", t0.Add(12*time.Hour+13*time.Second))
	if have := consoleKeys(t, s, names...); !slices.Equal(have, []string{"f1", "g4"}) {
		t.Fatalf("after the oldest passed 12 hours: %q", have)
	}
	if !l.Expired(ConsoleSession{Born: t0, Seen: t0}, t0.Add(31*time.Minute)) || l.Expired(ConsoleSession{Born: t0, Seen: t0.Add(time.Hour)}, t0.Add(time.Hour+29*time.Minute)) ||
		!l.Expired(ConsoleSession{Born: t0, Seen: t0.Add(12 * time.Hour)}, t0.Add(12*time.Hour+time.Second)) {
		t.Error("Expired disagrees with the limits")
	}
}

// A removed agent's sessions go with them; a portal's with it.
func TestConsoleSessionsOfRemovedAgent(t *testing.T) {
	s, ctx := twoAgents(t)
	now := time.Now()
	for _, cs := range []ConsoleSession{consoleSession("fiona.b", "f", now), consoleSession("george.w", "g", now)} {
		if err := s.CreateConsoleSession(ctx, cs, consoleLimits, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveAgent(ctx, "acme", "fiona.b", "test"); err != nil {
		t.Fatal(err)
	}
	if have := consoleKeys(t, s, "f", "g"); !slices.Equal(have, []string{"g"}) {
		t.Fatalf("after removing fiona.b: %q", have)
	}
	if err := s.RemovePortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	if have := consoleKeys(t, s, "f", "g"); len(have) != 0 {
		t.Fatalf("after removing acme: %q", have)
	}
}
