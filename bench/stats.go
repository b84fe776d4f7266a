package bench

import (
	"slices"
	"sync"
	"time"
)

// clock measures time since the start of a run on the monotonic clock, in
// nanoseconds: send times travel in message bodies as such numbers.
type clock struct{ base time.Time }

func newClock() *clock { return &clock{base: time.Now()} }

func (c *clock) now() int64 { return int64(time.Since(c.base)) }

// Latency summarizes durations, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// summarize sorts d (nanoseconds) and summarizes it; percentiles are
// nearest-rank.
func summarize(d []int64) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum float64
	for _, v := range d {
		sum += float64(v)
	}
	rank := func(p float64) float64 {
		i := int(p*float64(len(d))+0.999999) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return Latency{N: len(d), Mean: round3(sum / float64(len(d)) / 1e6), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ms(d[len(d)-1])}
}

// ms converts nanoseconds to milliseconds, rounded to microseconds.
func ms(ns int64) float64 { return round3(float64(ns) / 1e6) }

func msDur(d time.Duration) float64 { return ms(int64(d)) }

func round3(v float64) float64 {
	if v < 0 {
		return -round3(-v)
	}
	return float64(int64(v*1000+0.5)) / 1000
}

// recorder collects durations from several goroutines.
type recorder struct {
	mu sync.Mutex
	d  []int64
}

func (r *recorder) add(ns int64) {
	r.mu.Lock()
	r.d = append(r.d, ns)
	r.mu.Unlock()
}

// take returns what was recorded and starts afresh.
func (r *recorder) take() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.d
	r.d = nil
	return d
}
