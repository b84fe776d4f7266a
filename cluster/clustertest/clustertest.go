// Package clustertest runs a NATS server with JetStream inside a test,
// so that tests can run several jabberdesk nodes (tests only). The
// server listens on a free port of 127.0.0.1 and keeps its store in the
// test's temporary directory; it stops when the test ends. It imports
// nothing of jabberdesk's.
package clustertest

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server starts a NATS server with JetStream and returns its URL and a
// function that stops it and starts a new one on the same port and
// store, as a restarted server would be; clients reconnect to it.
func Server(t testing.TB) (url string, restart func()) {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	s, err := start(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Port = s.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		stop(s)
	})
	restart = func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		stop(s)
		if s, err = start(opts); err != nil {
			t.Fatal(err)
		}
	}
	return s.ClientURL(), restart
}

func start(opts *server.Options) (*server.Server, error) {
	o := *opts
	s, err := server.NewServer(&o)
	if err != nil {
		return nil, fmt.Errorf("clustertest: NATS server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		stop(s)
		return nil, fmt.Errorf("clustertest: NATS server not ready on port %d", opts.Port)
	}
	return s, nil
}

func stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}
