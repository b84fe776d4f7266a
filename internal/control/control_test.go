package control

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// shortDir returns a temporary directory with a path short enough for a
// Unix socket even where t.TempDir's paths are long.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jdctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

type recorder struct {
	mu     sync.Mutex
	events []Event
	err    error
}

func (r *recorder) handle(_ context.Context, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) got() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func start(t *testing.T, path string, h func(context.Context, Event) error) *Server {
	t.Helper()
	srv, err := Listen(path, h)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

func TestRoundTrip(t *testing.T) {
	path := SocketPath(shortDir(t))
	rec := &recorder{}
	start(t, path, rec.handle)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}

	ctx := context.Background()
	for _, ev := range []Event{{Op: OpAgentsChanged, Portal: "acme"}, {Op: OpDepartmentsChanged, Portal: "acme"}, {Op: OpPortalRemoved, Portal: "old"}} {
		delivered, err := Notify(ctx, path, ev)
		if !delivered || err != nil {
			t.Fatalf("Notify(%v) = %v, %v; want true, nil", ev, delivered, err)
		}
	}
	want := []Event{{Op: OpAgentsChanged, Portal: "acme"}, {Op: OpDepartmentsChanged, Portal: "acme"}, {Op: OpPortalRemoved, Portal: "old"}}
	if got := rec.got(); len(got) != len(want) || got[0] != want[0] || got[2] != want[2] {
		t.Errorf("server received %v, want %v", got, want)
	}

	rec.mu.Lock()
	rec.err = errors.New("portal \"acme\" is busy")
	rec.mu.Unlock()
	delivered, err := Notify(ctx, path, Event{Op: OpAgentsChanged, Portal: "acme"})
	if !delivered || err == nil || !strings.Contains(err.Error(), `portal "acme" is busy`) {
		t.Errorf("Notify with a failing handler = %v, %v; want the handler's error", delivered, err)
	}
}

func TestBadRequests(t *testing.T) {
	path := SocketPath(shortDir(t))
	rec := &recorder{}
	start(t, path, rec.handle)

	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for _, tc := range []struct{ send, want string }{
		{`{"op":"agents_changed","portal":"acme"}`, `{"ok":true}`},
		{`{"op":"reboot","portal":"acme"}`, `unknown op \"reboot\"`},
		{`{"op":"agents_changed"}`, `missing \"portal\"`},
		{`{"op":"password_changed","portal":"acme"}`, `missing \"agent\"`},
		{`{"op":"password_changed","portal":"acme","agent":"fiona.b"}`, `{"ok":true}`},
		{`{"op":"chat_changed","portal":"acme"}`, `missing \"chat\"`},
		{`{"op":"channel_changed","portal":"acme"}`, `missing \"channel\"`},
		{`{"op":"channel_changed","portal":"acme","channel":"tg-support"}`, `{"ok":true}`},
		{`not json`, `bad request`},
		{`{"op":"agents_changed","portal":"acme","x":1}`, `unknown field`},
	} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(tc.send + "\n")); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(line, tc.want) {
			t.Errorf("reply to %s = %s, want it to contain %s", tc.send, line, tc.want)
		}
	}
	// A line over the limit is refused and the connection closed.
	c.Write([]byte(strings.Repeat("x", maxLine+10) + "\n"))
	line, _ := r.ReadString('\n')
	if !strings.Contains(line, "request longer than") {
		t.Errorf("reply to a long line = %q", line)
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("connection still open after a long line")
	}
	if n := len(rec.got()); n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
}

func TestNoServer(t *testing.T) {
	path := SocketPath(shortDir(t))
	delivered, err := Notify(context.Background(), path, Event{Op: OpAgentsChanged, Portal: "acme"})
	if delivered || err != nil {
		t.Errorf("Notify without a socket = %v, %v; want false, nil", delivered, err)
	}

	// A socket file nobody listens on: refused, also (false, nil).
	makeStale(t, path)
	delivered, err = Notify(context.Background(), path, Event{Op: OpAgentsChanged, Portal: "acme"})
	if delivered || err != nil {
		t.Errorf("Notify on a stale socket = %v, %v; want false, nil", delivered, err)
	}
}

// makeStale leaves a socket file at path with no server behind it, as a
// crashed server would.
func makeStale(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
}

func TestStaleSocketRemoved(t *testing.T) {
	path := SocketPath(shortDir(t))
	makeStale(t, path)
	rec := &recorder{}
	srv := start(t, path, rec.handle)
	if delivered, err := Notify(context.Background(), path, Event{Op: OpAgentsChanged, Portal: "acme"}); !delivered || err != nil {
		t.Fatalf("Notify = %v, %v", delivered, err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file still there after Close: %v", err)
	}
}

func TestSecondServerRefused(t *testing.T) {
	dir := shortDir(t)
	path := SocketPath(dir)
	rec := &recorder{}
	start(t, path, rec.handle)
	_, err := Listen(path, rec.handle)
	if err == nil || err.Error() != "another jabberdesk server is running with data directory "+dir {
		t.Fatalf("second Listen: %v", err)
	}
	// The first server still works.
	if delivered, err := Notify(context.Background(), path, Event{Op: OpAgentsChanged, Portal: "acme"}); !delivered || err != nil {
		t.Fatalf("Notify after refused Listen = %v, %v", delivered, err)
	}
}

func TestNotAServerFile(t *testing.T) {
	path := filepath.Join(shortDir(t), SocketName)
	os.WriteFile(path, []byte("x"), 0o600)
	if _, err := Listen(path, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a regular file: %v", err)
	}
}

func TestCloseCancelsHandlers(t *testing.T) {
	path := SocketPath(shortDir(t))
	started := make(chan struct{})
	srv, err := Listen(path, func(ctx context.Context, _ Event) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	errc := make(chan error, 1)
	go func() {
		_, err := Notify(context.Background(), path, Event{Op: OpAgentsChanged, Portal: "acme"})
		errc <- err
	}()
	<-started
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Error("Notify succeeded although the server closed mid-request")
	}
}
