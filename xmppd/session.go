package xmppd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"jabberdesk/store"
)

// session is a signed-in, bound client: one resource of one agent.
type session struct {
	c     *conn
	srv   *Server
	xs    *xmpp.Session
	agent store.Agent
	jid   jid.JID
	full  string // full JID, canonical
	bare  string // bare JID, canonical
	out   *outbox
	log   *slog.Logger

	drained    chan struct{} // closed when the outbox has written its last bytes
	ending     atomic.Bool
	readerDone atomic.Bool

	mu           sync.Mutex // guards the fields below
	available    bool       // sent available presence (RFC 6121 §4.2)
	show         string
	priority     int
	presence     []byte // the last available presence, from stamped, no to
	rosterLoaded bool   // asked for the roster: an interested resource
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
	return jid.New(c.agent.Portal+"|"+c.agent.Key(), c.srv.domain, res)
}

// serveSession runs a negotiated session until it ends.
func (c *conn) serveSession(xs *xmpp.Session) {
	full, err := c.agentJID(c.resource)
	if err != nil {
		return
	}
	s := &session{c: c, srv: c.srv, xs: xs, agent: c.agent, jid: full, full: full.String(), bare: full.Bare().String(),
		drained: make(chan struct{})}
	s.log = c.log.With("jid", s.full)
	s.out = &outbox{
		w:            c.nc,
		max:          c.srv.limits.OutboxSize,
		writeTimeout: c.srv.limits.WriteTimeout,
		setDeadline:  c.nc.SetWriteDeadline,
		pool:         &c.srv.bufPool,
		onOverflow: func() {
			s.log.Warn("client reads too slowly; disconnecting", "queued", c.srv.limits.OutboxSize)
			c.raw.Close()
		},
		onError: func(err error) { s.log.Debug("write failed", "err", err); c.raw.Close() },
		onDrained: func() {
			c.closeWrite()
			if s.readerDone.Load() {
				c.linger()
			} else {
				// The read loop ends when the client closes its stream too,
				// or at this deadline.
				c.raw.SetReadDeadline(time.Now().Add(lingerTime))
			}
			close(s.drained)
		},
	}
	c.mu.Lock()
	stopped := c.stopped
	c.session = s
	c.mu.Unlock()
	if stopped != nil {
		s.end(*stopped)
		<-s.drained
		return
	}
	c.srv.metrics.logins.Add(1)
	if old := c.srv.router.add(s); old != nil {
		old.log.Info("replaced by a new session with the same resource")
		old.end(streamError{"conflict", "replaced by a new connection with the same resource"})
	}
	s.log.Info("session started", "remote", c.ip)
	err = s.readLoop()
	s.finish(err)
}

// readLoop reads and handles stanzas until the stream ends.
func (s *session) readLoop() error {
	r := s.xs.TokenReader()
	defer r.Close()
	bucket := tokenBucket{rate: s.srv.limits.StanzaRate, burst: float64(s.srv.limits.StanzaBurst)}
	for {
		s.c.lim.reset(s.srv.limits.StanzaSize)
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
		if d := bucket.wait(time.Now()); d > 0 {
			time.Sleep(d)
		}
		if err := s.handle(el); err != nil {
			return err
		}
	}
}

// handle dispatches one top-level element.
func (s *session) handle(el *Element) error {
	if el.Space != nsClient {
		return streamError{"unsupported-stanza-type", "unknown element <" + el.Local + "/>"}
	}
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

// send queues a stanza for this session.
func (s *session) send(el *Element) { s.sendBytes(el.Bytes()) }

// sendBytes queues a serialized stanza for this session.
func (s *session) sendBytes(b []byte) {
	if s.out.push(b) {
		s.srv.metrics.stanzasOut.Add(1)
	}
}

// reply sends el (if not nil) to this session.
func (s *session) reply(el *Element) {
	if el != nil {
		s.send(el)
	}
}

// end closes the session's stream with a stream error; the read loop then
// ends when the connection closes. Safe from any goroutine, more than once.
func (s *session) end(se streamError) {
	if !s.ending.CompareAndSwap(false, true) {
		return
	}
	s.out.close(append(se.bytes(), "</stream:stream>"...))
}

// finish cleans up after the read loop ended with err.
func (s *session) finish(err error) {
	s.readerDone.Store(true)
	before := s.srv.Availability(s.agent.Portal, s.agent.Key())
	s.srv.router.remove(s)
	s.mu.Lock()
	wasAvailable := s.available
	s.available = false
	s.mu.Unlock()
	if wasAvailable {
		s.broadcastPresence(s.unavailablePresence())
	}
	s.availabilityChanged(before)
	if s.ending.CompareAndSwap(false, true) {
		var last []byte
		if se, ok := streamErrorFor(err); ok {
			s.log.Info("session ended with a stream error", "err", err)
			last = se.bytes()
		}
		s.out.close(append(last, "</stream:stream>"...))
	}
	select {
	case <-s.drained:
	case <-time.After(s.srv.limits.WriteTimeout):
	}
	s.c.raw.Close()
	reason := "closed"
	if err != nil && !strings.Contains(err.Error(), "use of closed") {
		reason = err.Error()
	}
	s.log.Info("session ended", "reason", reason, "err", err)
}
