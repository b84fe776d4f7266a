package bridge

import "time"

// clock is where the engine gets the time and its timers from: the
// system's by default (systemClock); tests set a clock they advance by
// hand, so that queue, offer, end and grace timeouts run without waiting.
type clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless
	// the timer is stopped first (like time.AfterFunc).
	AfterFunc(d time.Duration, f func()) timer
}

// timer is a pending AfterFunc.
type timer interface {
	// Stop keeps f from being called; it reports whether it did.
	Stop() bool
}

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }

// stopTimer stops t if there is one.
func stopTimer(t timer) {
	if t != nil {
		t.Stop()
	}
}
