package xmppd

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"jabberdesk/store"
)

// XEP-0198 Stream Management: acknowledgements, and resumption of a
// session whose connection dropped. While a resumable session waits for
// its client (hibernates) it stays in the router, so the agent stays
// online and what is sent to it is kept; a session not resumed in time is
// finished and its unacknowledged messages go to the agent's other
// resources or to offline storage.

const nsSM = "urn:xmpp:sm:3"

// ackEvery is how many stanzas the server sends between requests for an
// acknowledgement.
const ackEvery = 5

var smRequest = []byte("<r xmlns='" + nsSM + "'/>")

// smState is a session's stream management state.
type smState struct {
	id        string
	resumable bool
	in        uint32 // stanzas handled from the client (h we report)
	out       uint32 // stanzas sent to the client
	unacked   []held // sent, not yet acknowledged, oldest first
	timer     *time.Timer
	// Our acknowledgements of what the client sent (see ackWhenArchived).
	acksWaiting int    // answers waiting for the archive
	acked       uint32 // the last h answered
}

// errResumeTimeout ends a session whose client did not come back.
var errResumeTimeout = errors.New("xmppd: stream not resumed in time")

// smNonza handles <enable/>, <r/> and <a/>.
func (s *session) smNonza(el *Element) error {
	switch el.Local {
	case "enable":
		s.mu.Lock()
		if s.sm != nil {
			s.mu.Unlock()
			s.pushNonza(smFailed("unexpected-request"))
			return nil
		}
		sm := &smState{id: randomID() + randomID()}
		sm.resumable = (el.Get("resume") == "true" || el.Get("resume") == "1") && s.srv.limits.ResumeTimeout > 0
		s.sm = sm
		s.mu.Unlock()
		enabled := NewElement(nsSM, "enabled", "id", sm.id)
		if sm.resumable {
			s.srv.rememberSM(s, sm.id)
			enabled.Set("resume", "true")
			enabled.Set("max", strconv.Itoa(int(s.srv.limits.ResumeTimeout/time.Second)))
		}
		s.pushNonza(enabled.AppendXML(nil, nsClient))
	case "r":
		s.ackWhenArchived()
	case "a":
		h, err := strconv.ParseUint(el.Get("h"), 10, 32)
		if err != nil {
			return streamError{"undefined-condition", "bad h in <a/>"}
		}
		s.mu.Lock()
		done := s.ackLocked(uint32(h))
		s.mu.Unlock()
		s.deleteOffline(done)
	case "resume":
		s.pushNonza(smFailed("unexpected-request"))
	}
	return nil
}

// ackWhenArchived answers the client's <r/> (XEP-0198 §4) once what it
// acknowledges is durable: the messages the session handled that go to
// the archive are written in batches, so the answer waits for the batch
// when there is one; everything else a stanza causes is stored before
// its handler returns. A write that failed is not acknowledged: the
// stream ends, and the client sends again what it has no <a/> for.
func (s *session) ackWhenArchived() {
	s.mu.Lock()
	if s.sm == nil {
		s.mu.Unlock()
		s.pushNonza(smAck(0))
		return
	}
	h := s.sm.in
	if !s.archivePending && s.sm.acksWaiting == 0 {
		s.sendAckLocked(h)
		s.mu.Unlock()
		return
	}
	// Answers stay in order: this one waits for the archive too.
	s.archivePending = false
	s.sm.acksWaiting++
	s.mu.Unlock()
	s.srv.archive.AfterWritten(func(err error) {
		s.mu.Lock()
		s.sm.acksWaiting--
		if err == nil {
			s.sendAckLocked(h)
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Error("not acknowledged: the archive could not be written", "err", err)
			s.end(streamError{"internal-server-error", "messages could not be stored; send them again"})
		}
	})
}

// sendAckLocked sends <a h/>, never smaller than one sent before.
func (s *session) sendAckLocked(h uint32) {
	if int32(h-s.sm.acked) < 0 {
		h = s.sm.acked
	}
	s.sm.acked = h
	if s.link != nil {
		s.link.out.push(smAck(h))
	}
}

func smAck(h uint32) []byte {
	return []byte("<a xmlns='" + nsSM + "' h='" + strconv.FormatUint(uint64(h), 10) + "'/>")
}

func smFailed(cond string) []byte {
	return NewElement(nsSM, "failed").Add(NewElement(nsStanzas, cond)).AppendXML(nil, nsClient)
}

// countInbound counts a handled stanza.
func (s *session) countInbound() {
	s.mu.Lock()
	if s.sm != nil {
		s.sm.in++
	}
	s.mu.Unlock()
}

// countOutLocked numbers stanzas about to be written and keeps them until
// acknowledged; it says whether to ask for an acknowledgement and whether
// the client has left too much unacknowledged.
func (s *session) countOutLocked(batch []held) (requestAck, overflow bool) {
	if s.sm == nil {
		return false, false
	}
	for i := range batch {
		s.sm.out++
		batch[i].seq = s.sm.out
		s.sm.unacked = append(s.sm.unacked, batch[i])
		if s.sm.out%ackEvery == 0 {
			requestAck = true
		}
	}
	return requestAck && s.link != nil, s.tooManyUnackedLocked()
}

// tooManyUnackedLocked reports whether the client has left more
// unacknowledged than it may: OutboxSize stanzas beyond one presence of
// every session of its portal (on every node), so that the presence
// burst of a sign-in never counts against a client of a large portal.
func (s *session) tooManyUnackedLocked() bool {
	n := len(s.sm.unacked)
	return n > s.srv.limits.OutboxSize && n > s.srv.limits.OutboxSize+s.srv.portalCount(s.agent.Portal)
}

// ackLocked drops what the client acknowledged (h counts modulo 2^32)
// and returns the offline storage rows that held some of it: the caller
// deletes them.
func (s *session) ackLocked(h uint32) (stored []int64) {
	if s.sm == nil {
		return nil
	}
	i := 0
	for i < len(s.sm.unacked) && int32(h-s.sm.unacked[i].seq) >= 0 {
		if id := s.sm.unacked[i].offlineID; id > 0 {
			stored = append(stored, id)
		}
		i++
	}
	s.sm.unacked = append(s.sm.unacked[:0:0], s.sm.unacked[i:]...)
	return stored
}

// takeUnacked removes and returns the unacknowledged stanzas.
func (s *session) takeUnacked() []held {
	if s.sm == nil {
		return nil
	}
	u := s.sm.unacked
	s.sm.unacked = nil
	return u
}

// hibernate keeps a resumable session after its connection dropped. The
// messages its client never acknowledged are stored at once (held for
// it, see holdOffline), like those that arrive while it waits.
func (s *session) hibernate(l *link, err error) {
	s.keepMu.Lock()
	defer s.keepMu.Unlock()
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		_ = l.c.raw.Close() // a failed close loses nothing
		return
	}
	s.link = nil
	s.hibernating = true
	wait := s.srv.limits.ResumeTimeout
	s.sm.timer = time.AfterFunc(wait, func() { s.finish(errResumeTimeout) })
	n := len(s.sm.unacked)
	var keep []held
	for _, h := range s.sm.unacked {
		if h.offlineID == 0 && h.keepable() {
			keep = append(keep, h)
		}
	}
	s.mu.Unlock()
	_ = l.c.raw.Close() // a failed close loses nothing
	s.log.Info("connection lost; waiting for the client to resume", "err", err, "unacked", n, "for", wait)
	if len(keep) == 0 {
		return
	}
	kept := s.holdOffline(keep)
	s.mu.Lock()
	for _, k := range kept {
		for i := range s.sm.unacked {
			if s.sm.unacked[i].seq == k.seq {
				s.sm.unacked[i].offlineID = k.offlineID
				break
			}
		}
	}
	s.mu.Unlock()
}

// resume takes a hibernating (or still connected) session over on a new
// connection, after the client's <resume/> was answered with <resumed/>;
// h is what the client acknowledged. Unacknowledged stanzas after h are
// sent again, then the session goes on.
func (s *session) resume(c *conn, h uint32) {
	s.keepMu.Lock()
	s.mu.Lock()
	if s.sm.timer != nil {
		s.sm.timer.Stop()
	}
	old := s.link
	l := s.newLink(c)
	s.link = l
	s.hibernating = false
	done := s.ackLocked(h)
	resend := append([]held(nil), s.sm.unacked...)
	s.lastRead = time.Now()
	s.mu.Unlock()
	s.keepMu.Unlock()
	s.deleteOffline(done)
	c.mu.Lock()
	c.session = s
	c.mu.Unlock()
	if old != nil {
		_ = old.c.raw.Close() // the old connection may not have noticed yet
	}
	for _, x := range resend {
		l.out.push(x.b)
	}
	if len(resend) > 0 {
		l.out.push(smRequest)
	}
	s.log.Info("stream resumed", "remote", c.ip, "resent", len(resend))
	s.run(l)
}

// rememberSM registers a resumable session under its stream id.
func (srv *Server) rememberSM(s *session, id string) {
	srv.smMu.Lock()
	defer srv.smMu.Unlock()
	srv.smSessions[id] = s
}

// forgetSM drops a finished session from the resumable ones.
func (srv *Server) forgetSM(s *session) {
	s.mu.Lock()
	var id string
	if s.sm != nil {
		id = s.sm.id
	}
	s.mu.Unlock()
	if id == "" {
		return
	}
	srv.smMu.Lock()
	defer srv.smMu.Unlock()
	if srv.smSessions[id] == s {
		delete(srv.smSessions, id)
	}
}

// smFeature offers stream management (XEP-0198 §3) after authentication
// and negotiates a resumption (§5). A client that binds a resource instead
// enables it later with <enable/>; a failed resumption is followed, on
// the same feature, by the binding the client then asks for.
func (c *conn) smFeature() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsSM, Local: "sm"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(_ context.Context, e xmlstream.TokenWriter, _ xml.StartElement) (bool, error) {
			// Listed as required for mellium's negotiator, which then stops
			// after it; the client sees an optional feature.
			return true, writeRaw(e, "<sm xmlns='"+nsSM+"'/>")
		},
		Parse: skipFeature,
		Negotiate: func(ctx context.Context, session *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			r := session.TokenReader()
			defer func() { _ = r.Close() }() // done reading: closing loses nothing
			el, err := c.readNegotiation(r)
			if err != nil {
				return 0, nil, err
			}
			if el.Local == "resume" {
				// <resumed h/> acknowledges what the session handled: it
				// must be on disk (see ackWhenArchived).
				if err := c.srv.archive.Flush(); err != nil {
					c.log.Error("archive write before a resumption", "err", err)
				}
				if s, h, ok := c.srv.findResumable(c, el); ok {
					c.resumed, c.resumeH = s, h
					s.mu.Lock()
					in := s.sm.in
					s.mu.Unlock()
					resumed := NewElement(nsSM, "resumed", "previd", el.Get("previd"), "h", strconv.FormatUint(uint64(in), 10))
					_, err := c.nc.Write(resumed.AppendXML(nil, nsClient))
					return xmpp.Ready, nil, err
				}
				if _, err := c.nc.Write(smFailed("item-not-found")); err != nil {
					return 0, nil, err
				}
			} else {
				_, _ = c.nc.Write(smFailed("unexpected-request")) // a refusal; a broken connection ends the session anyway
			}
			// The client binds a resource next.
			mask, err := c.bindAttempts(r)
			return mask, nil, err
		},
	}
}

// findResumable finds the session a <resume/> names, if it belongs to the
// agent who just signed in and can still be resumed.
func (srv *Server) findResumable(c *conn, el *Element) (*session, uint32, bool) {
	h, err := strconv.ParseUint(el.Get("h"), 10, 32)
	if err != nil {
		return nil, 0, false
	}
	srv.smMu.Lock()
	s := srv.smSessions[el.Get("previd")]
	srv.smMu.Unlock()
	if s == nil || s.agent.Portal != c.agent.Portal || s.agent.Key() != c.agent.Key() {
		return nil, 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished || s.sm == nil || !s.sm.resumable {
		return nil, 0, false
	}
	if s.sm.timer != nil && !s.sm.timer.Stop() {
		return nil, 0, false // it is being finished right now
	}
	s.sm.timer = nil
	return s, uint32(h), true
}

// SessionState says, for an agent's first session, how many stanzas stream
// management has sent it and whether it is waiting to be resumed; for
// tests and the admin's diagnostics.
func (srv *Server) SessionState(portal, agent string) (sent uint32, hibernating bool) {
	ss := srv.router.sessions(srv.agentBare(portal, store.UsernameKey(agent)))
	if len(ss) == 0 {
		return 0, false
	}
	s := ss[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sm != nil {
		sent = s.sm.out
	}
	return sent, s.hibernating
}
