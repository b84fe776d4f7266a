package limit

import "sync"

// Counter counts concurrent uses per key (connections, long polls,
// WebSockets) and refuses a use beyond Max. Max 0 means unlimited.
type Counter struct {
	Max int

	mu sync.Mutex
	n  map[string]int
}

// Acquire takes a use for key; it reports false, taking nothing, when key
// already has Max.
func (c *Counter) Acquire(key string) bool {
	if c.Max <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	if c.n[key] >= c.Max {
		return false
	}
	c.n[key]++
	return true
}

// Release gives back a use taken by Acquire.
func (c *Counter) Release(key string) {
	if c.Max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}

// In is how many uses key holds.
func (c *Counter) In(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}
