package memrelease

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestDueAfterAWaveGoesQuiet(t *testing.T) {
	var count int64
	r := New(Config{Count: func() int64 { return count }, Quiet: 2 * time.Second, MinWork: 100, MinGap: 10 * time.Second})
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		at    time.Duration
		count int64
		due   bool
		why   string
	}{
		{0, 0, false, "first reading"},
		{1 * time.Second, 50, false, "the wave starts"},
		{2 * time.Second, 150, false, "still moving"},
		{3 * time.Second, 150, false, "quiet for 1 s only"},
		{4 * time.Second, 150, true, "quiet for 2 s after 150 sign-ins"},
		{5 * time.Second, 150, false, "released already"},
		{6 * time.Second, 260, false, "a second wave"},
		{9 * time.Second, 260, false, "quiet, but within MinGap of the last release"},
		{14 * time.Second, 260, true, "MinGap has passed"},
		{15 * time.Second, 300, false, "a few sign-ins"},
		{30 * time.Second, 300, false, "quiet, but too little work since the last release"},
	}
	for _, s := range steps {
		count = s.count
		if got := r.due(at(s.at)); got != s.due {
			t.Fatalf("at %v with count %d (%s): due = %v, want %v", s.at, s.count, s.why, got, s.due)
		}
	}
}

func TestReleaserRunsReleaseOnItsOwn(t *testing.T) {
	var count, releases atomic.Int64
	r := New(Config{
		Count:   count.Load,
		Quiet:   time.Millisecond,
		MinWork: 1,
		Every:   5 * time.Millisecond,
		Release: func() { releases.Add(1) },
	})
	r.Start()
	defer r.Stop()
	defer r.Stop() // a second Stop is harmless
	count.Store(500)
	deadline := time.Now().Add(10 * time.Second)
	for releases.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no release after a wave went quiet")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReleaseReturnsMemory(t *testing.T) {
	Release() // must not panic or block; what it returns depends on the machine
}
