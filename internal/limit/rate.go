package limit

import (
	"math"
	"sync"
	"time"
)

// Rate limits events per key with token buckets: Burst at once, then
// PerSecond on average. A Rate with PerSecond 0 allows everything.
type Rate struct {
	PerSecond float64
	Burst     int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRate makes a Rate.
func NewRate(perSecond float64, burst int) *Rate {
	return &Rate{PerSecond: perSecond, Burst: max(burst, 1)}
}

// Allow takes a token for key at now if there is one. Otherwise it
// reports how long until there is (for Retry-After).
func (r *Rate) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if r == nil || r.PerSecond <= 0 {
		return true, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	burst := float64(max(r.Burst, 1))
	if r.buckets == nil {
		r.buckets = make(map[string]*bucket)
	}
	if now.Sub(r.swept) > time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for k, b := range r.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*r.PerSecond >= burst {
				delete(r.buckets, k)
			}
		}
		r.swept = now
	}
	b := r.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		r.buckets[key] = b
	}
	b.tokens = min(burst, b.tokens+max(0, now.Sub(b.last).Seconds())*r.PerSecond)
	b.last = now
	if b.tokens < 1 {
		wait := (1 - b.tokens) / r.PerSecond
		return false, time.Duration(math.Ceil(wait * float64(time.Second)))
	}
	b.tokens--
	return true, 0
}

// RetryAfterSeconds is d in whole seconds for a Retry-After header, at
// least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
