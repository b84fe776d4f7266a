// Package control is the control socket through which the admin CLI tells
// a running jabberdesk server what it changed in the database, so that the
// server can act at once (push rosters and presence to online agents).
//
// The socket is the Unix socket control.sock in the data directory, mode
// 0600: only the user who runs the server can use it. The protocol is one
// JSON object per line. A request names an operation and a portal:
//
//	{"op":"agents_changed","portal":"acme"}
//
// and is answered with {"ok":true} or {"ok":false,"error":"..."}. A
// connection may carry several requests, one after the other. Requests are
// only hints that something changed: the database is the truth, and a
// server that was not running when a change was made reads it at start.
package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Operations of a request.
const (
	OpAgentsChanged      = "agents_changed"      // agents added, changed or removed
	OpDepartmentsChanged = "departments_changed" // departments added, changed or removed
	OpPortalRemoved      = "portal_removed"      // the portal and all in it are gone
	OpPasswordChanged    = "password_changed"    // Agent's password was replaced
	OpChatChanged        = "chat_changed"        // chat number Chat changed (email, ticket)
	OpChannelChanged     = "channel_changed"     // IM channel Channel was added or changed
)

// SocketName is the file name of the socket in the data directory.
const SocketName = "control.sock"

const (
	maxLine = 4 << 10 // longest request line, newline included
	// maxSocketPath is the longest socket path every Unix accepts
	// (sun_path is 104 bytes on the BSDs, 108 on Linux, NUL included).
	maxSocketPath = 103
	readTimeout   = 30 * time.Second // idle time allowed between requests
	dialTimeout   = 2 * time.Second
	// replyTimeout bounds how long Notify waits for the server to handle a
	// request when ctx has no earlier deadline.
	replyTimeout = 10 * time.Second
)

// Event is one request: what changed, in which portal, and for
// OpPasswordChanged which agent (by username), for OpChatChanged which
// chat (by number), for OpChannelChanged which channel (by name).
type Event struct {
	Op      string `json:"op"`
	Portal  string `json:"portal"`
	Agent   string `json:"agent,omitempty"`
	Chat    int64  `json:"chat,omitempty"`
	Channel string `json:"channel,omitempty"`
}

// Validate checks that e has a known operation and a portal.
func (e Event) Validate() error {
	switch e.Op {
	case OpAgentsChanged, OpDepartmentsChanged, OpPortalRemoved:
	case OpPasswordChanged:
		if e.Agent == "" {
			return errors.New(`missing "agent"`)
		}
	case OpChatChanged:
		if e.Chat <= 0 {
			return errors.New(`missing "chat"`)
		}
	case OpChannelChanged:
		if e.Channel == "" {
			return errors.New(`missing "channel"`)
		}
	default:
		return fmt.Errorf("unknown op %q (want %s, %s, %s, %s, %s or %s)", e.Op, OpAgentsChanged, OpDepartmentsChanged, OpPortalRemoved, OpPasswordChanged, OpChatChanged, OpChannelChanged)
	}
	if e.Portal == "" {
		return errors.New(`missing "portal"`)
	}
	return nil
}

type reply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// SocketPath is the control socket of the server whose data directory is
// dataDir.
func SocketPath(dataDir string) string {
	return filepath.Join(dataDir, SocketName)
}

// Server accepts requests on a control socket and hands each to a handler.
type Server struct {
	path   string
	ln     *net.UnixListener
	handle func(context.Context, Event) error
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Listen creates the control socket at path. A socket file left behind by
// a server that is gone is removed first; if a live server answers on it,
// Listen fails. handle is called for every valid request, concurrently
// for different connections; its error is sent back to the client.
func Listen(path string, handle func(context.Context, Event) error) (*Server, error) {
	if err := clearStale(path); err != nil {
		return nil, err
	}
	// Bind under a temporary name, restrict it, then move it into place, so
	// that the socket is never reachable with looser permissions.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid()))
	if len(tmp) > maxSocketPath {
		return nil, fmt.Errorf("control: socket path %s is too long for a Unix socket (at most about %d bytes): use a shorter data_dir", path, maxSocketPath-10)
	}
	_ = os.Remove(tmp) // one left by a crash; if it cannot go, ListenUnix says why
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		closeAndRemove(ln, tmp)
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		closeAndRemove(ln, tmp)
		return nil, fmt.Errorf("control: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{path: path, ln: ln, handle: handle, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}, nil
}

// closeAndRemove undoes a Listen that failed half way. Its own errors
// are not worth reporting: the failure that led here is.
func closeAndRemove(ln *net.UnixListener, tmp string) {
	_ = ln.Close()
	_ = os.Remove(tmp)
}

// clearStale removes a socket file at path that no server answers on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("control: %s exists and is not a socket; move it away", path)
	}
	c, err := net.DialTimeout("unix", path, dialTimeout)
	if err == nil {
		_ = c.Close() // it answered: that is all we wanted to know
		return fmt.Errorf("another jabberdesk server is running with data directory %s", filepath.Dir(path))
	}
	if !noServer(err) {
		return fmt.Errorf("control: check %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: remove stale socket: %w", err)
	}
	return nil
}

// noServer reports whether a dial error means that nobody listens.
func noServer(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

// Path is the socket file.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until Close is called; it then returns nil.
func (s *Server) Serve() error {
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		backoff = 0
		if !s.track(c) {
			_ = c.Close() // the server is closing: nothing to tell the client
			return nil
		}
		go func() {
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	_ = c.Close() // done with: a failed close loses nothing
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// serveConn answers the requests of one connection until it ends, idles
// too long or sends something unreadable.
func (s *Server) serveConn(c net.Conn) {
	r := bufio.NewReaderSize(c, maxLine)
	for {
		_ = c.SetReadDeadline(time.Now().Add(readTimeout)) // fails only on a closed connection, which the read reports
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			writeReply(c, reply{Error: fmt.Sprintf("request longer than %d bytes", maxLine)})
			return
		}
		if err != nil && (len(bytes.TrimSpace(line)) == 0 || !errors.Is(err, io.EOF)) {
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rep := s.request(line)
		if !writeReply(c, rep) || err != nil {
			return
		}
	}
}

func (s *Server) request(line []byte) reply {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return reply{Error: "bad request: " + err.Error()}
	}
	if err := ev.Validate(); err != nil {
		return reply{Error: "bad request: " + err.Error()}
	}
	if err := s.handle(s.ctx, ev); err != nil {
		return reply{Error: err.Error()}
	}
	return reply{OK: true}
}

func writeReply(c net.Conn, r reply) bool {
	b, _ := json.Marshal(r)
	_ = c.SetWriteDeadline(time.Now().Add(readTimeout)) // fails only on a closed connection, which the write reports
	_, err := c.Write(append(b, '\n'))
	return err == nil
}

// Close stops accepting, cancels the context of running handlers, closes
// open connections, waits for their goroutines and removes the socket file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		_ = c.Close() // ends its goroutine; a failed close loses nothing
	}
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("control: close: %w", err)
	}
	return nil
}

// Notify sends ev to the server listening at path and waits for its answer.
// If no server is running there, it returns (false, nil); if the server
// answers with an error, that error.
func Notify(ctx context.Context, path string, ev Event) (delivered bool, err error) {
	if err := ev.Validate(); err != nil {
		return false, fmt.Errorf("control: %w", err)
	}
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if noServer(err) {
			return false, nil
		}
		return false, fmt.Errorf("control: connect to %s: %w", path, err)
	}
	defer func() { _ = c.Close() }() // the answer is read or given up on: closing loses nothing
	deadline := time.Now().Add(replyTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// SetDeadline fails only on a closed connection, which the write or
	// read that follows reports.
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	b, _ := json.Marshal(ev)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return false, fmt.Errorf("control: send to %s: %w", path, err)
	}
	line, err := bufio.NewReaderSize(c, maxLine).ReadSlice('\n')
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return false, fmt.Errorf("control: no answer from the server at %s: %w", path, err)
	}
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return false, fmt.Errorf("control: bad answer from the server at %s: %w", path, err)
	}
	if !r.OK {
		return true, fmt.Errorf("server refused %s for portal %q: %s", ev.Op, ev.Portal, r.Error)
	}
	return true, nil
}
