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
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		if h.kind == outMessage && h.el != nil {
			s.rescue([]held{h}) // it left between routing and delivery
		}
		return
	}
	if s.inactive && (h.kind == outPresence || h.kind == outChatState) {
		s.holdLocked(h)
		s.mu.Unlock()
		return
	}
	batch := append(s.held, h)
	s.held = nil
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
	for _, x := range batch {
		if l.out.push(x.b) {
			s.srv.metrics.stanzasOut.Add(1)
		}
	}
	if requestAck {
		l.out.push(smRequest)
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
