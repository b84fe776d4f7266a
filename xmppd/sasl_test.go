package xmppd

import (
	"context"
	"sync"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// wrongPasswords tries n wrong passwords on account at once, from local
// addresses (127.0.0.0/8) picked in turn from from, and returns the
// errors.
func wrongPasswords(t *testing.T, env *testEnv, account string, from []string, n int) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, errs[i] = xmpptest.Dial(ctx, env.startTLS, account, "wrong password", xmpptest.Options{LocalAddr: from[i%len(from)]})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Fatalf("attempt %d with a wrong password signed in", i)
		}
	}
	return errs
}

// Parallel connections from one address do not get around the slowdown:
// attempts under way count as failures would.
func TestParallelGuessesFromOneAddressAreSpaced(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) { c.Limits.LoginFailuresPerIP = 2; c.Limits.LoginFailuresPerAccount = 1000 })
	wrongPasswords(t, env, jidOf("fiona.b"), []string{"127.0.0.3"}, 4)
	if st := env.srv.Stats(); st.LoginsSpaced != 2 {
		t.Fatalf("4 guesses at once, 2 free: %d waited for their turn, want 2 (%+v)", st.LoginsSpaced, st)
	}
	// Another address is not slowed down.
	before := env.srv.Stats().LoginsSpaced
	xmpptest.MustDial(t, env.startTLS, jidOf("george.w"), testPassword, xmpptest.Options{LocalAddr: "127.0.0.4"})
	if env.srv.Stats().LoginsSpaced != before {
		t.Fatal("a sign-in from another address waited")
	}
}

// Guesses on one account from many addresses are slowed down, but the
// agent signs in at once from an address it used before.
func TestGuessesOnOneAccountDoNotLockItsAgentOut(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) { c.Limits.LoginFailuresPerIP = 1000; c.Limits.LoginFailuresPerAccount = 3 })
	xmpptest.MustDial(t, env.startTLS, jidOf("fiona.b"), testPassword, xmpptest.Options{LocalAddr: "127.0.0.9"}).Close()
	// 5 addresses, 6 guesses: 3 free, the rest wait their turn.
	wrongPasswords(t, env, jidOf("fiona.b"), []string{"127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"}, 6)
	st := env.srv.Stats()
	if st.LoginsSpaced != 3 {
		t.Fatalf("6 guesses on one account, 3 free: %d waited, want 3 (%+v)", st.LoginsSpaced, st)
	}
	// The agent's own address goes ahead.
	xmpptest.MustDial(t, env.startTLS, jidOf("fiona.b"), testPassword, xmpptest.Options{LocalAddr: "127.0.0.9"})
	if env.srv.Stats().LoginsSpaced != st.LoginsSpaced {
		t.Fatal("the agent's known address waited")
	}
	// A new address, even with the right password, waits its turn.
	xmpptest.MustDial(t, env.startTLS, jidOf("fiona.b"), testPassword, xmpptest.Options{LocalAddr: "127.0.0.20"})
	if env.srv.Stats().LoginsSpaced != st.LoginsSpaced+1 {
		t.Fatal("a new address did not wait while the account is under attack")
	}
	// The address is remembered on disk, for after a restart.
	if ok, err := env.st.KnownSignInAddress(t.Context(), "acme", "fiona.b", "127.0.0.9"); !ok || err != nil {
		t.Fatalf("known address not stored: %v %v", ok, err)
	}
}
