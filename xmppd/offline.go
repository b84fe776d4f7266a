package xmppd

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"sync"
	"time"

	"jabberdesk/address"
	"jabberdesk/store"
)

// Offline messages: a chat message for an agent who has no available
// resource is stored, with an XEP-0203 delay stamp, and delivered when the
// agent next sends initial presence. Storage is bounded per agent
// (store.OfflineLimit): past it, new messages are refused and their
// sender gets an error; nothing stored is ever dropped.

const nsDelayStamp = "2006-01-02T15:04:05.000Z"

// stampDelay adds a delay element saying when the server got the message.
func (srv *Server) stampDelay(el *Element, at time.Time) *Element {
	if el.Child(nsDelay, "delay") != nil {
		return el
	}
	c := el.Copy()
	c.Add(NewElement(nsDelay, "delay", "from", srv.domain, "stamp", at.UTC().Format(nsDelayStamp)))
	return c
}

// storeOffline keeps a message for an agent of the portal.
func (srv *Server) storeOffline(portal, agent string, el *Element) error {
	c := srv.stampDelay(el, time.Now())
	err := srv.store.StoreOffline(context.Background(), portal, agent, el.Get("from"), c.Bytes())
	if errors.Is(err, store.ErrOfflineFull) {
		return errServiceUnavailable.withText("the agent is offline and their offline storage is full")
	}
	return err
}

// redeliverOffline closes a race between storing and going available: a
// message is stored because no resource of bare was available when it was
// routed, but one may have sent initial presence, and looked for offline
// messages, before the store committed. Looking again after the commit
// delivers it now instead of at the agent's next sign-in.
func (srv *Server) redeliverOffline(bare string) {
	for _, o := range srv.router.sessions(bare) {
		if o.takesBareMessages() {
			o.deliverOffline()
			return
		}
	}
}

// deliverOffline sends a session what was stored while its agent was
// away, then deletes it. Deliveries for one agent take turns, so that two
// of them (initial presence and redeliverOffline) never send a message
// twice.
func (s *session) deliverOffline() {
	mu, _ := s.srv.offline.LoadOrStore(address.Agent{Portal: s.agent.Portal, Key: s.agent.Key()}, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	for {
		msgs, err := s.srv.store.TakeOffline(s.ctx(), s.agent.Portal, s.agent.Key(), 100)
		if err != nil {
			s.log.Error("read offline messages", "err", err)
			return
		}
		if len(msgs) == 0 {
			return
		}
		ids := make([]int64, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
			s.deliver(held{from: m.From, kind: outMessage, b: m.Stanza, el: parseStored(m.Stanza)})
		}
		if err := s.srv.store.DeleteOffline(s.ctx(), ids); err != nil {
			s.log.Error("delete delivered offline messages", "err", err)
			return
		}
		if len(msgs) < 100 {
			return
		}
	}
}

// rescue re-routes messages a finished session never acknowledged: to the
// agent's other available resources here, else to offline storage, from
// which the agent's sessions on other nodes are asked to take them. Those
// already held in offline storage for it are deleted once delivered
// elsewhere, or released for the agent's next sign-in.
func (s *session) rescue(items []held) {
	n := 0
	stored := false
	var del, release []int64
	for _, h := range items {
		if !h.keepable() {
			continue
		}
		n++
		delivered := false
		for _, o := range s.srv.router.sessions(s.bare) {
			if o != s && o.isAvailable() {
				o.sendMessageBytes(h.b, h.el)
				delivered = true
			}
		}
		switch {
		case h.offlineID > 0 && delivered:
			del = append(del, h.offlineID)
		case h.offlineID > 0:
			release = append(release, h.offlineID)
		case !delivered:
			if err := s.srv.storeOffline(s.agent.Portal, s.agent.Key(), h.el); err != nil {
				s.log.Error("keep an unacknowledged message offline", "err", err)
			} else {
				stored = true
			}
		}
	}
	s.deleteOffline(del)
	if len(release) > 0 {
		if err := s.srv.store.ReleaseOffline(s.ctx(), release); err != nil {
			s.log.Error("release held offline messages", "err", err)
		}
		s.srv.redeliverOffline(s.bare) // a resource may have come meanwhile
	}
	if len(release) > 0 || stored {
		s.srv.redeliverElsewhere(s.agent.Portal, s.bare, nil)
	}
	if n > 0 {
		s.log.Info("unacknowledged messages rescued", "count", n)
	}
}

// holdOffline stores the messages of hs that a hibernating session takes
// in offline storage, held for it (store.HoldOffline), and returns hs with
// their row ids. A resumed session deletes a row once its client has
// acknowledged the message; a session that finishes releases them; a
// restart releases them all. So what the sender was told was taken is on
// disk before the sender is told. A message that storage refuses (the
// agent's offline storage is full) stays in memory only.
func (s *session) holdOffline(hs []held) []held {
	s.mu.Lock()
	holder := s.srv.holder(s.sm.id)
	s.mu.Unlock()
	out := append([]held(nil), hs...)
	for i := range out {
		h := &out[i]
		if h.offlineID != 0 || !h.keepable() {
			continue
		}
		stamped := s.srv.stampDelay(h.el, time.Now())
		id, err := s.srv.store.HoldOffline(s.ctx(), s.agent.Portal, s.agent.Key(), h.from, stamped.Bytes(), holder)
		if err != nil {
			s.log.Warn("message for a session waiting to resume kept in memory only", "err", err)
			id = noOfflineRow
		}
		h.offlineID = id
	}
	return out
}

// deleteOffline deletes held rows whose messages were acknowledged.
func (s *session) deleteOffline(ids []int64) {
	if len(ids) == 0 {
		return
	}
	if err := s.srv.store.DeleteOffline(s.ctx(), ids); err != nil {
		s.log.Error("delete acknowledged offline messages", "err", err)
	}
}

// parseStored reads back a stanza serialized by Bytes (in the jabber:client
// namespace); nil if it does not parse.
func parseStored(b []byte) *Element {
	r := io.MultiReader(bytes.NewReader([]byte("<w xmlns='"+nsClient+"'>")), bytes.NewReader(b), bytes.NewReader([]byte("</w>")))
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if err != nil {
			return nil
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local != "w" {
			el, err := readElement(d, st, 64)
			if err != nil {
				return nil
			}
			return el
		}
	}
}
