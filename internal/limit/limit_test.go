package limit

import (
	"net/netip"
	"testing"
	"time"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                     "192.0.2.1",
		"::ffff:192.0.2.1":              "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
	} {
		if got := Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
	if got := KeyOf("[2001:db8::1]:4000"); got != "2001:db8::/64" {
		t.Errorf("KeyOf = %s", got)
	}
	if got := KeyOf("192.0.2.7:80"); got != "192.0.2.7" {
		t.Errorf("KeyOf = %s", got)
	}
}

func TestCounter(t *testing.T) {
	c := Counter{Max: 2}
	for i, want := range []bool{true, true, false} {
		if got := c.Acquire("a"); got != want {
			t.Fatalf("use %d of a: %v, want %v", i+1, got, want)
		}
	}
	if !c.Acquire("b") {
		t.Fatal("b refused")
	}
	c.Release("a")
	if !c.Acquire("a") {
		t.Fatal("a refused after a release")
	}
	c.Release("a")
	c.Release("a")
	c.Release("b")
	if len(c.n) != 0 {
		t.Fatalf("left over: %v", c.n)
	}
	unlimited := Counter{}
	for i := 0; i < 100; i++ {
		if !unlimited.Acquire("x") {
			t.Fatal("Max 0 refused")
		}
	}
}

func TestRate(t *testing.T) {
	r := NewRate(2, 3) // 3 at once, then 2 a second
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := r.Allow("a", now); !ok {
			t.Fatalf("burst event %d refused", i)
		}
	}
	ok, after := r.Allow("a", now)
	if ok || after != 500*time.Millisecond {
		t.Fatalf("over the burst: ok=%v retry after %v, want 500ms", ok, after)
	}
	if RetryAfterSeconds(after) != 1 {
		t.Fatalf("Retry-After %d", RetryAfterSeconds(after))
	}
	if ok, _ := r.Allow("b", now); !ok {
		t.Fatal("another key refused")
	}
	if ok, _ := r.Allow("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused after the wait it asked for")
	}
	if ok, _ := (*Rate)(nil).Allow("a", now); !ok {
		t.Fatal("no limit refused")
	}
	// Idle keys are forgotten.
	r.Allow("a", now.Add(time.Hour))
	if len(r.buckets) != 1 {
		t.Fatalf("%d buckets kept", len(r.buckets))
	}
}
