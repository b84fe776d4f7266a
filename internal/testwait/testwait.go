// Package testwait waits in tests for something another goroutine or
// process brings about (tests only): a condition is polled every few
// milliseconds until it holds or the wait times out, which fails the
// test. It imports nothing of ours, so that any package's tests may use
// it.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long For waits.
const Timeout = 10 * time.Second

// pollEvery is how often the condition is checked.
const pollEvery = 5 * time.Millisecond

// For polls cond until it holds; after Timeout the test fails with
// "timed out waiting for " + what.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollEvery)
	}
}
