package main

import (
	"io"
	"net"
	"sync"
	"testing"
)

// balancer is a TCP load balancer for tests of several nodes: each
// connection it accepts goes to the next backend in turn, as a
// round-robin balancer in front of a real deployment would send it.
type balancer struct {
	ln       net.Listener
	backends []string
	mu       sync.Mutex
	next     int
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// newBalancer listens on a free loopback port in front of backends; it
// stops with the test.
func newBalancer(t testing.TB, backends ...string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(b.close)
	return b
}

// add puts a backend in the rotation.
func (b *balancer) add(backend string) {
	b.mu.Lock()
	b.backends = append(b.backends, backend)
	b.mu.Unlock()
}

// Addr is where clients connect.
func (b *balancer) Addr() string { return b.ln.Addr().String() }

func (b *balancer) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns[c] = struct{}{}
		b.mu.Unlock()
		b.wg.Add(1)
		go b.relay(c)
	}
}

// relay copies both ways until either side closes; a backend that is
// down is skipped, as a balancer's health check would.
func (b *balancer) relay(c net.Conn) {
	defer b.wg.Done()
	defer b.forget(c)
	var s net.Conn
	b.mu.Lock()
	n := len(b.backends)
	b.mu.Unlock()
	for range n {
		b.mu.Lock()
		backend := b.backends[b.next%len(b.backends)]
		b.next++
		b.mu.Unlock()
		var err error
		if s, err = net.Dial("tcp", backend); err == nil {
			break
		}
	}
	if s == nil {
		return
	}
	b.mu.Lock()
	b.conns[s] = struct{}{}
	b.mu.Unlock()
	defer b.forget(s)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src) // ends when either side closes
		done <- struct{}{}
	}
	go cp(s, c)
	go cp(c, s)
	<-done
}

func (b *balancer) forget(c net.Conn) {
	c.Close()
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

func (b *balancer) close() {
	b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// The balancer sends connections to its backends in turn and skips one
// that is down.
func TestBalancerRoundRobin(t *testing.T) {
	var names []string
	var backends []string
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		name := string(rune('a' + i))
		names = append(names, name)
		backends = append(backends, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = io.WriteString(c, name)
				c.Close()
			}
		}()
		if i == 1 {
			ln.Close() // b is down
		} else {
			t.Cleanup(func() { ln.Close() })
		}
	}
	b := newBalancer(t, backends...)
	var got string
	for range 4 {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		p, _ := io.ReadAll(c)
		c.Close()
		got += string(p)
	}
	if got != "acac" && got != "acca" {
		t.Fatalf("backends in turn: %q (of %v)", got, names)
	}
}
