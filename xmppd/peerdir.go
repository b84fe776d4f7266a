package xmppd

import (
	"context"
	"sync"
	"time"
)

// sessionDirectory keeps the cluster's session directory (Peers.AddSession,
// RemoveSession) in step with this node's sessions, off their goroutines.
// A session that binds or ends marks its full JID; one goroutine takes
// the marks in order and tells the directory what is true of each JID
// when it gets to it: added if a session of this node is bound to it
// (the router has it), removed if not. Marks coalesce by JID, so the
// queue holds one entry per JID whatever the churn, and a removal is
// never lost: the last mark of a JID is followed by an update that
// reads the router after it.
//
// An update that fails (the directory is unreachable) is logged and
// tried again after a pause that grows to a minute, until it succeeds or
// the server stops; meanwhile the other nodes see this node's sessions
// as they last were. Past dirQueueMax JIDs waiting, a new session is not
// announced (counted and logged): the other nodes then keep what they
// have for it offline, and it gets it at its next sign-in. Removals are
// always queued: each is the JID of a session that ended.
type sessionDirectory struct {
	srv *Server

	mu       sync.Mutex
	pending  map[dirKey]struct{}
	order    []dirKey // the pending keys, oldest first
	dropped  int      // sessions not announced since the last log line
	stopping bool
	wake     chan struct{} // a mark was made, or stopping
	quit     chan struct{} // closed by stop: no more pauses
	done     chan struct{} // closed when run returns
}

type dirKey struct{ bare, resource string }

// dirQueueMax is the most JIDs waiting for the session directory that
// still take new sessions.
const dirQueueMax = 1 << 16

func newSessionDirectory(srv *Server) *sessionDirectory {
	return &sessionDirectory{srv: srv, pending: make(map[dirKey]struct{}), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// mark queues an update for a full JID; bound says whether a session was
// just bound to it (rather than ended). It never blocks.
func (d *sessionDirectory) mark(bare, resource string, bound bool) {
	k := dirKey{bare, resource}
	d.mu.Lock()
	switch _, queued := d.pending[k]; {
	case queued:
	case bound && len(d.order) >= dirQueueMax:
		d.dropped++
	default:
		d.pending[k] = struct{}{}
		d.order = append(d.order, k)
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest pending key.
func (d *sessionDirectory) next() (k dirKey, ok, stopping bool, dropped int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dropped, d.dropped = d.dropped, 0
	if len(d.order) == 0 {
		d.order = nil // let the array go after a burst
		return dirKey{}, false, d.stopping, dropped
	}
	k, d.order = d.order[0], d.order[1:]
	delete(d.pending, k)
	return k, true, d.stopping, dropped
}

// run applies the marks until stop, then once more what is left.
func (d *sessionDirectory) run() {
	defer close(d.done)
	var pause time.Duration
	for {
		k, ok, stopping, dropped := d.next()
		if dropped > 0 {
			d.srv.log.Error("sessions not announced to the other nodes: too many directory updates waiting", "count", dropped)
		}
		if !ok {
			if stopping {
				return
			}
			<-d.wake
			continue
		}
		if err := d.update(k); err != nil {
			d.srv.log.Warn("session directory update failed", "jid", k.bare+"/"+k.resource, "err", err)
			if stopping {
				continue // one try each at shutdown
			}
			d.mark(k.bare, k.resource, false) // tried again after the others
			pause = min(max(2*pause, time.Second), time.Minute)
			select {
			case <-time.After(pause):
			case <-d.quit:
			}
			continue
		}
		pause = 0
	}
}

// update tells the directory whether a session of this node is bound to
// the key's JID now; a new one ends an older session of the same JID on
// another node (RFC 6120 §7.7.2.2, as on one node).
func (d *sessionDirectory) update(k dirKey) error {
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	srv := d.srv
	full := k.bare + "/" + k.resource
	s := srv.router.session(k.bare, full)
	if s == nil {
		return srv.peers.RemoveSession(ctx, k.bare, k.resource)
	}
	if err := srv.peers.AddSession(ctx, k.bare, k.resource); err != nil {
		return err
	}
	for _, r := range srv.peers.RemoteSessions(k.bare) {
		if r.Resource == k.resource && r.Node != srv.node {
			req := conflictRequest{Full: full, Since: s.start.UnixNano()}
			if err := srv.ask(r.Node, kindConflict, req, nil); err != nil {
				srv.log.Warn("an older session of the same resource on another node was not ended", "jid", full, "err", err)
			}
		}
	}
	return nil
}

// stop applies what is queued, for up to wait, and ends the goroutine.
func (d *sessionDirectory) stop(wait time.Duration) {
	d.mu.Lock()
	if !d.stopping {
		d.stopping = true
		close(d.quit)
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	select {
	case <-d.done:
	case <-time.After(wait):
		d.srv.log.Warn("the session directory was not told of every session that ended; the other nodes drop them when this node is declared gone")
	}
}

// conflictRequest tells a node that a session was bound to the full JID
// of one of its own on another node at Since (Unix nanoseconds).
type conflictRequest struct {
	Full  string `json:"full"`
	Since int64  `json:"since"`
}

// handleConflict ends this node's session of a full JID that a newer
// session on another node took over.
func (srv *Server) handleConflict(_ context.Context, from string, data []byte) ([]byte, error) {
	var req conflictRequest
	if err := decodePeer(data, &req); err != nil {
		return nil, err
	}
	bare, _, _ := cutResource(req.Full)
	if s := srv.router.session(bare, req.Full); s != nil && s.start.UnixNano() < req.Since {
		s.log.Info("replaced by a new session with the same resource on another node", "node", from)
		s.end(streamError{"conflict", "replaced by a new connection with the same resource"})
	}
	return []byte("{}"), nil
}
