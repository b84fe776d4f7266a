package xmppd

// Everything a session receives goes through deliver: client state
// indication may hold it back, stream management counts it and keeps it
// until acknowledged, and the link's outbox writes it.

// outKind sorts stanzas for CSI and for what happens to unacknowledged
// ones.
type outKind int

const (
	outIQ        outKind = iota
	outMessage           // a message with content worth keeping
	outChatState         // a message that is only a chat state (XEP-0085)
	outPresence
)

// kindOf classifies a stanza for delivery.
func kindOf(el *Element) outKind {
	switch el.Local {
	case "presence":
		return outPresence
	case "message":
		if el.Child(nsClient, "body") == nil && chatState(el) != "" {
			return outChatState
		}
		return outMessage
	}
	return outIQ
}

// held is a stanza on its way to the client: held back while the client
// is inactive, or kept until acknowledged.
type held struct {
	seq  uint32 // stream management sequence number, once sent
	from string
	kind outKind
	b    []byte
	el   *Element // for messages: to rescue them if never acknowledged
	// offlineID is the offline storage row that keeps the message while
	// the session waits to be resumed (see holdOffline): 0 for none yet,
	// noOfflineRow when it could not be stored.
	offlineID int64
}

// noOfflineRow marks a message that offline storage refused (full): it is
// kept in memory only, and in the archive or transcript it came from.
const noOfflineRow = -1

// keepable reports whether a message is worth keeping for the agent when
// it cannot be delivered now: a message with a body, not an error,
// groupchat or headline (RFC 6121 §8.5.2, XEP-0160).
func (h held) keepable() bool {
	if h.kind != outMessage || h.el == nil || h.el.Child(nsClient, "body") == nil {
		return false
	}
	switch h.el.Get("type") {
	case "error", "groupchat", "headline":
		return false
	}
	return true
}

// needHolding reports whether hs has messages to keep in offline storage
// before a hibernating session may take them.
func needHolding(hs []held) bool {
	for _, h := range hs {
		if h.offlineID == 0 && h.keepable() {
			return true
		}
	}
	return false
}

// send queues a stanza for this session.
func (s *session) send(el *Element) {
	s.deliver(held{from: el.Get("from"), kind: kindOf(el), b: el.Bytes(), el: el})
}

// sendPresenceBytes queues a serialized presence from a sender.
func (s *session) sendPresenceBytes(b []byte, from string) {
	s.deliver(held{from: from, kind: outPresence, b: b})
}

// sendMessageBytes queues a serialized message (el is its tree, shared by
// all recipients and never modified).
func (s *session) sendMessageBytes(b []byte, el *Element) {
	s.deliver(held{from: el.Get("from"), kind: kindOf(el), b: b, el: el})
}

// reply sends el (if not nil) to this session.
func (s *session) reply(el *Element) {
	if el != nil {
		s.send(el)
	}
}

// deliver is the one way into a session's outbox.
func (s *session) deliver(h held) {
	one := [1]held{h}
	s.deliverAll(one[:])
}

// deliverAll delivers hs in order. What is written goes to the outbox as
// one entry: a burst (the presences answering an initial presence, one per
// colleague) takes one slot and one write however large the portal.
func (s *session) deliverAll(hs []held) {
	s.mu.Lock()
	for s.link == nil && s.sm != nil && !s.finished && needHolding(hs) {
		// Hibernating: messages are stored before their sender hears that
		// they were taken, so that a crash loses nothing (see holdOffline).
		s.mu.Unlock()
		hs = s.holdOffline(hs)
		s.mu.Lock()
	}
	if s.finished {
		s.mu.Unlock()
		var lost []held
		for _, h := range hs {
			if h.keepable() {
				lost = append(lost, h)
			}
		}
		if len(lost) > 0 {
			s.rescue(lost) // it left between routing and delivery
		}
		return
	}
	var batch []held
	if s.inactive {
		for _, h := range hs {
			if h.kind == outPresence || h.kind == outChatState {
				s.holdLocked(h)
			} else {
				batch = append(append(batch, s.held...), h)
				s.held = nil
			}
		}
	} else {
		batch = append(s.held, hs...)
		s.held = nil
	}
	if len(batch) == 0 {
		s.mu.Unlock()
		return
	}
	requestAck, overflow := s.countOutLocked(batch)
	l := s.link
	s.mu.Unlock()
	if overflow {
		s.log.Warn("client does not acknowledge what it gets; disconnecting", "unacked", s.srv.limits.OutboxSize)
		s.end(streamError{"resource-constraint", "too many unacknowledged stanzas"})
		return
	}
	if l == nil {
		return // hibernating: kept with the unacknowledged stanzas
	}
	// Presence may wait a little for company (see outbox); anything else
	// is written at once.
	lazy := true
	b := batch[0].b
	n := 0
	for _, x := range batch {
		n += len(x.b)
		lazy = lazy && x.kind == outPresence
	}
	if len(batch) > 1 {
		b = make([]byte, 0, n)
		for _, x := range batch {
			b = append(b, x.b...)
		}
	}
	if l.out.pushAs(b, lazy) {
		s.srv.metrics.stanzasOut.Add(int64(len(batch)))
	}
	if requestAck {
		l.out.pushAs(smRequest, lazy)
	}
}

// pushNonza writes a stream-level element that stream management does
// not count (XEP-0198 <a/>, <r/>, <enabled/>).
func (s *session) pushNonza(b []byte) {
	if l := s.current(); l != nil {
		l.out.push(b)
	}
}

// holdLocked keeps a presence or chat state while the client is inactive:
// only the newest one of each sender and kind is kept.
func (s *session) holdLocked(h held) {
	for i, o := range s.held {
		if o.from == h.from && o.kind == h.kind {
			s.held = append(s.held[:i:i], s.held[i+1:]...)
			break
		}
	}
	s.held = append(s.held, h)
}

// setInactive records the client's state (XEP-0352); going active flushes
// what was held.
func (s *session) setInactive(inactive bool) {
	s.mu.Lock()
	s.inactive = inactive
	var flush []held
	if !inactive {
		flush, s.held = s.held, nil
	}
	s.mu.Unlock()
	if len(flush) == 0 {
		return
	}
	// Re-deliver in order; the first goes through deliver's flush path.
	for _, h := range flush {
		s.deliver(h)
	}
}
