package cluster

import (
	"slices"
	"testing"
	"time"
)

func TestRegistryJudgesOnTheServersClock(t *testing.T) {
	t.Parallel()
	r := newRegistry("a", time.Second)
	r.connected(time.Now().Add(-time.Hour))
	t0 := time.Unix(1000, 0)
	beat := func(name string, after time.Duration) seenBeat {
		return seenBeat{hb: heartbeat{Node: name}, at: t0.Add(after)}
	}
	check := func(step string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: lost %v, want %v", step, got, want)
		}
	}
	check("load", r.reset(map[string]seenBeat{"a": beat("a", 0), "b": beat("b", 0), "c": beat("c", 0)}), nil)
	check("a beats", r.put("a", beat("a", 500*time.Millisecond)), nil)
	check("c beats", r.put("c", beat("c", 900*time.Millisecond)), nil)
	check("b silent past takeover", r.put("a", beat("a", 1500*time.Millisecond)), []string{"b"})
	check("told once", r.put("a", beat("a", 1700*time.Millisecond)), nil)
	if r.alive("b") || !r.alive("a") || !r.alive("c") || r.alive("nobody") {
		t.Errorf("alive: b %v, a %v, c %v", r.alive("b"), r.alive("a"), r.alive("c"))
	}
	check("b is back", r.put("b", beat("b", 1800*time.Millisecond)), nil)
	if !r.alive("b") {
		t.Error("b beat again but is not alive")
	}
	check("c says goodbye", r.remove("c"), []string{"c"})
	check("a never loses itself", r.remove("a"), nil)

	// A full load without b: it may have left, or the server lost its
	// store; b ages like any other.
	check("load without b", r.reset(map[string]seenBeat{"a": beat("a", 2*time.Second)}), nil)
	if !r.alive("b") {
		t.Error("b, missing from a load, was taken for lost at once")
	}
	check("b silent after the load", r.put("a", beat("a", 3*time.Second)), []string{"b"})
	if names := r.aliveNodes(); !slices.Equal(names, []string{"a"}) {
		t.Errorf("alive nodes %v", names)
	}
	if list := r.list(); len(list) != 1 || list[0].Node != "a" || !list[0].Self {
		t.Errorf("list %+v", list)
	}
}

func TestRegistryWaitsAfterAConnection(t *testing.T) {
	t.Parallel()
	r := newRegistry("a", time.Second)
	r.connected(time.Now())
	t0 := time.Unix(1000, 0)
	r.reset(map[string]seenBeat{"b": {at: t0}})
	// b's heartbeat is an hour old, but this node has just connected.
	if lost := r.put("a", seenBeat{at: t0.Add(time.Hour)}); lost != nil || !r.alive("b") {
		t.Errorf("lost %v within the grace", lost)
	}
	r.connected(time.Now().Add(-2 * time.Second))
	if lost := r.put("a", seenBeat{at: t0.Add(time.Hour + time.Second)}); !slices.Equal(lost, []string{"b"}) {
		t.Errorf("lost %v after the grace", lost)
	}
}
