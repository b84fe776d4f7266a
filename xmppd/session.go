package xmppd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"jabberdesk/address"
	"jabberdesk/store"
)

// session is a signed-in, bound client: one resource of one agent. With
// stream management (XEP-0198) it outlives its connection: it hibernates
// when the connection drops and a resumed connection takes it over, so
// the connection-bound parts live in a link.
type session struct {
	srv   *Server
	agent store.Agent
	jid   jid.JID
	full  string // full JID, canonical
	bare  string // bare JID, canonical
	log   *slog.Logger
	id    uint64    // the connection it was bound on: tells sessions of one full JID apart
	start time.Time // when it was bound

	// keepMu orders the storing of a hibernating session's messages
	// (hibernate) against resuming and finishing it, so that each message
	// is stored once. It is taken before mu, never under it.
	keepMu sync.Mutex

	mu           sync.Mutex // guards the fields below
	link         *link      // the current connection; nil while hibernating
	available    bool       // sent available presence (RFC 6121 §4.2)
	show         string
	priority     int
	presence     []byte   // the last available presence, from stamped, no to
	rosterLoaded bool     // asked for the roster: an interested resource
	sm           *smState // XEP-0198, once enabled
	// archivePending: a message this session sent went to the archive
	// writer since the last acknowledgement that waited for it.
	archivePending bool
	hibernating    bool   // the connection dropped; waiting for a resume
	inactive       bool   // XEP-0352: the client said it is inactive
	held           []held // presence and chat states held while inactive
	carbons        bool   // XEP-0280 enabled
	// blocklistWanted: the client asked for the block list, so it gets
	// pushes (XEP-0191 §3.4).
	blocklistWanted bool
	adhoc           adhocPending // XEP-0050 commands in progress
	finished        bool
	lastRead        time.Time // for the server's keepalive pings
	pingSent        time.Time
}

// link is a session's connection: its conn, stanza reader and outbox.
// Mellium's session is only used to negotiate: it is dropped afterwards.
type link struct {
	c          *conn
	in         *streamReader
	out        *outbox
	drained    chan struct{} // closed when the outbox has written its last bytes
	ending     atomic.Bool   // we are closing this stream
	readerDone atomic.Bool
}

// newLink wires an outbox to a negotiated connection.
func (s *session) newLink(c *conn) *link {
	l := &link{c: c, in: newStreamReader(c.nc), drained: make(chan struct{})}
	l.out = &outbox{
		w:            c.nc,
		max:          c.srv.limits.OutboxSize,
		writeTimeout: c.srv.limits.WriteTimeout,
		setDeadline:  c.nc.SetWriteDeadline,
		pool:         &c.srv.bufPool,
		lazyDelay:    c.srv.presence,
		onOverflow: func() {
			s.log.Warn("client reads too slowly; disconnecting", "queued", c.srv.limits.OutboxSize)
			_ = c.raw.Close() // a failed close loses nothing
		},
		onError: func(err error) { s.log.Debug("write failed", "err", err); _ = c.raw.Close() },
		onDrained: func() {
			c.closeWrite()
			if l.readerDone.Load() {
				c.linger()
			} else {
				// The read loop ends when the client closes its stream too,
				// or at this deadline.
				_ = c.raw.SetReadDeadline(time.Now().Add(lingerTime)) // fails only on a closed connection: the read loop has ended then
			}
			close(l.drained)
		},
	}
	return l
}

// current returns the session's link, or nil while hibernating.
func (s *session) current() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link
}

// ctx is the context for work a stanza causes (database calls).
func (s *session) ctx() context.Context { return context.Background() }

// randomID makes a stanza id.
func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// agentJID builds the full JID of the signed-in agent with the requested
// resource, or a generated one.
func (c *conn) agentJID(res string) (jid.JID, error) {
	if res == "" {
		b := make([]byte, 6)
		rand.Read(b)
		res = "jd-" + hex.EncodeToString(b)
	}
	return jid.New(address.Agent{Portal: c.agent.Portal, Key: c.agent.Key()}.Local(), c.srv.domain, res)
}

// serveSession runs a negotiated session until its connection ends: a
// new session, or one taken over by a stream resumption.
func (c *conn) serveSession() {
	if c.resumed != nil {
		c.resumed.resume(c, c.resumeH)
		return
	}
	full, err := c.agentJID(c.resource)
	if err != nil {
		return
	}
	now := time.Now()
	s := &session{srv: c.srv, agent: c.agent, jid: full, full: full.String(), bare: full.Bare().String(), id: c.id, start: now, lastRead: now}
	s.log = c.log.With("jid", s.full)
	l := s.newLink(c)
	s.link = l
	c.mu.Lock()
	stopped := c.stopped
	c.session = s
	c.mu.Unlock()
	if stopped != nil {
		s.end(*stopped)
		<-l.drained
		return
	}
	c.srv.metrics.logins.Add(1)
	if old := c.srv.router.add(s); old != nil {
		old.log.Info("replaced by a new session with the same resource")
		old.end(streamError{"conflict", "replaced by a new connection with the same resource"})
	}
	c.srv.sessionChanged(s, true)
	s.log.Info("session started", "remote", c.ip)
	s.run(l)
}

// run reads the link until it ends, then hibernates or finishes the
// session.
func (s *session) run(l *link) {
	err := s.readLoop(l)
	l.readerDone.Store(true)
	s.mu.Lock()
	superseded := s.link != l
	resumable := s.sm != nil && s.sm.resumable && !s.finished
	s.mu.Unlock()
	switch {
	case superseded:
		// A resumed connection took the session over: close this one.
		s.closeLink(l, nil)
	case resumable && !l.ending.Load() && !errors.Is(err, io.EOF) && !clientFault(err):
		s.hibernate(l, err)
	default:
		s.finish(err)
	}
}

// readLoop reads and handles stanzas until the stream ends.
func (s *session) readLoop(l *link) error {
	r := l.in
	bucket := tokenBucket{rate: s.srv.limits.StanzaRate, burst: float64(s.srv.limits.StanzaBurst)}
	for {
		l.c.lim.reset(s.srv.limits.StanzaSize)
		tok, err := r.Token()
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue // whitespace keepalive
		}
		el, err := readElement(r, start, s.srv.limits.MaxDepth)
		if err != nil {
			return err
		}
		s.srv.metrics.stanzasIn.Add(1)
		now := time.Now()
		s.mu.Lock()
		s.lastRead, s.pingSent = now, time.Time{}
		s.mu.Unlock()
		if d := bucket.wait(now); d > 0 {
			time.Sleep(d)
		}
		if el.Space != nsClient {
			if err := s.handleNonza(el); err != nil {
				return err
			}
			continue
		}
		if err := s.handle(el); err != nil {
			return err
		}
		s.countInbound()
	}
}

// handleNonza handles the top-level elements that are not stanzas:
// stream management (XEP-0198) and client state indication (XEP-0352).
func (s *session) handleNonza(el *Element) error {
	switch el.Space {
	case nsSM:
		return s.smNonza(el)
	case nsCSI:
		s.setInactive(el.Local == "inactive")
		return nil
	}
	return streamError{"unsupported-stanza-type", "unknown element <" + el.Local + "/>"}
}

// handle dispatches one stanza.
func (s *session) handle(el *Element) error {
	switch el.Local {
	case "message", "presence", "iq":
	default:
		return streamError{"unsupported-stanza-type", "unknown stanza <" + el.Local + "/>"}
	}
	if from := el.Get("from"); from != "" && from != s.full && from != s.bare {
		j, err := jid.Parse(from)
		if err != nil || !(j.Equal(s.jid) || j.Equal(s.jid.Bare())) {
			return streamError{"invalid-from", "stanzas must come from " + s.full}
		}
	}
	el.Set("from", s.full)
	var to jid.JID
	if t := el.Get("to"); t != "" {
		var err error
		if to, err = jid.Parse(t); err != nil {
			s.reply(errorReply(el, stanzaError{Type: "modify", Cond: "jid-malformed"}))
			return nil
		}
	}
	var err error
	switch el.Local {
	case "message":
		err = s.handleMessage(el, to)
	case "presence":
		err = s.handlePresence(el, to)
	case "iq":
		err = s.handleIQ(el, to)
	}
	var se stanzaError
	switch {
	case err == nil:
	case errors.As(err, &se):
		s.reply(errorReply(el, se))
	default:
		var stErr streamError
		if errors.As(err, &stErr) {
			return err
		}
		s.log.Error("stanza handler failed", "stanza", el.Local, "err", err)
		s.reply(errorReply(el, errInternal))
	}
	return nil
}

// end closes the session's stream with a stream error; the read loop then
// ends when the connection closes. Safe from any goroutine, more than once.
// A hibernating session is finished at once.
func (s *session) end(se streamError) {
	l := s.current()
	if l == nil {
		s.finish(se)
		return
	}
	if !l.ending.CompareAndSwap(false, true) {
		return
	}
	l.out.close(append(se.bytes(), "</stream:stream>"...))
}

// closeLink closes a link's stream (with err's stream error, if any) and
// waits for it to drain.
func (s *session) closeLink(l *link, err error) {
	if l.ending.CompareAndSwap(false, true) {
		var last []byte
		if se, ok := streamErrorFor(err); ok {
			s.log.Info("session ended with a stream error", "err", err)
			last = se.bytes()
		}
		l.out.close(append(last, "</stream:stream>"...))
	}
	select {
	case <-l.drained:
	case <-time.After(s.srv.limits.WriteTimeout):
	}
	_ = l.c.raw.Close() // a failed close loses nothing
}

// finish ends the session for good: it leaves the router, its presence
// goes unavailable, and messages it never acknowledged go to the agent's
// other resources or to offline storage.
func (s *session) finish(err error) {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	l := s.link
	s.mu.Unlock()
	before := s.srv.Availability(s.agent.Portal, s.agent.Key())
	s.srv.router.remove(s)
	s.srv.sessionChanged(s, false)
	s.srv.forgetSM(s)
	s.keepMu.Lock()
	s.mu.Lock()
	wasAvailable := s.available
	s.available = false
	unacked := s.takeUnacked()
	s.mu.Unlock()
	if wasAvailable {
		s.broadcastPresence(s.unavailablePresence())
	}
	s.availabilityChanged(before)
	s.rescue(unacked)
	s.keepMu.Unlock()
	if l != nil {
		s.closeLink(l, err)
	}
	reason := "closed"
	if err != nil && !strings.Contains(err.Error(), "use of closed") && !errors.Is(err, io.EOF) {
		reason = err.Error()
	}
	s.log.Info("session ended", "reason", reason)
}
