package xmppd

import (
	"errors"
	"strconv"
	"time"

	"jabberdesk/address"
	"jabberdesk/bridge"
	"jabberdesk/store"
)

// XEP-0313 Message Archive Management, with XEP-0059 paging: each agent's
// archive of one-to-one messages. Messages between colleagues are
// archived as they are routed (both sides; written in batches by the
// store's ArchiveWriter, flushed before every query); visitor-chat
// history is read from the chats' transcripts, which are stored anyway.
// Routed messages carry their archive id (XEP-0359 <stanza-id/>).

const (
	nsMAM  = "urn:xmpp:mam:2"
	nsRSM  = "http://jabber.org/protocol/rsm"
	nsData = "jabber:x:data"
	nsSID  = "urn:xmpp:sid:0"
)

// archive stores a message between two agents of the portal and stamps
// the recipient's copy with its stanza id.
func (s *session) archive(el *Element, t target) *Element {
	body := el.ChildText(nsClient, "body")
	if body == "" || t.agent.Key() == s.agent.Key() {
		return el
	}
	if typ := el.Get("type"); typ != "" && typ != "chat" && typ != "normal" {
		return el
	}
	id := randomID()
	out := el.Copy()
	out.RemoveChildren(func(c *Element) bool { return c.Space == nsSID && c.Local == "stanza-id" })
	out.Add(NewElement(nsSID, "stanza-id", "id", id, "by", t.bare))
	var stanza []byte // a plain message is rebuilt from its body on replay
	if !plainMessage(el) {
		stanza = el.Bytes()
	}
	err := s.srv.archive.Add(s.agent.Portal, s.agent.Key(), t.agent.Key(), s.bare, t.bare, id, body, stanza, time.Now())
	if err != nil {
		s.log.Error("archive a message", "err", err)
		return el
	}
	s.mu.Lock()
	s.archivePending = true // acknowledgements wait for it (see ackWhenArchived)
	s.mu.Unlock()
	return out
}

// mamIQ answers archive queries on the agent's own archive.
func (s *session) mamIQ(el, q *Element) error {
	if el.Get("type") == "get" {
		// The query form (XEP-0313 §6.1.1).
		form := NewElement(nsData, "x", "type", "form").Add(
			NewElement(nsData, "field", "var", "FORM_TYPE", "type", "hidden").Add(NewElement(nsData, "value").AddText(nsMAM)),
			NewElement(nsData, "field", "var", "with", "type", "jid-single"),
			NewElement(nsData, "field", "var", "start", "type", "text-single"),
			NewElement(nsData, "field", "var", "end", "type", "text-single"),
		)
		s.send(iqResult(el).Add(NewElement(nsMAM, "query").Add(form)))
		return nil
	}
	query := store.ArchiveQuery{Portal: s.agent.Portal, Owner: s.agent.Key()}
	if x := q.Child(nsData, "x"); x != nil {
		for _, f := range x.Children() {
			v := f.ChildText(nsData, "value")
			switch f.Get("var") {
			case "with":
				if c, ok := address.ParseChatJID(v, s.agent.Portal, s.srv.domain); ok {
					query.WithChat = c.Number
				} else {
					query.With = v
				}
			case "start", "end":
				tm, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return errBadRequest.withText(f.Get("var") + " must be a date and time like 2026-11-21T09:00:00Z")
				}
				if f.Get("var") == "start" {
					query.Start = &tm
				} else {
					query.End = &tm
				}
			}
		}
	}
	if set := q.Child(nsRSM, "set"); set != nil {
		if m := set.ChildText(nsRSM, "max"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil || n < 0 {
				return errBadRequest.withText("<max/> must be a number")
			}
			query.Max = n
		}
		query.After = set.ChildText(nsRSM, "after")
		if b := set.Child(nsRSM, "before"); b != nil {
			query.Before, query.BeforeSet = b.Text(), true
		}
	}
	// What was routed before the query is in it.
	if err := s.srv.archive.Flush(); err != nil {
		s.log.Error("archive write before a query", "err", err)
	}
	page, err := s.srv.store.QueryArchive(s.ctx(), query)
	var ue *store.UserError
	if errors.As(err, &ue) {
		if errors.Is(err, store.ErrNotFound) {
			return errItemNotFound.withText(ue.Msg)
		}
		return errBadRequest.withText(ue.Msg)
	}
	if err != nil {
		return err
	}
	qid := q.Get("queryid")
	owner := s.srv.agentBare(s.agent.Portal, s.agent.Key())
	for _, m := range page.Messages {
		s.send(NewElement(nsClient, "message", "to", s.full).Add(
			NewElement(nsMAM, "result", "queryid", qid, "id", m.ID).Add(
				NewElement(nsForward, "forwarded").Add(
					NewElement(nsDelay, "delay", "stamp", m.At.UTC().Format(nsDelayStamp)),
					s.srv.archivedMessage(s.agent.Portal, owner, m)))))
	}
	set := NewElement(nsRSM, "set")
	if page.First != "" {
		set.Add(NewElement(nsRSM, "first").AddText(page.First), NewElement(nsRSM, "last").AddText(page.Last))
	}
	set.Add(NewElement(nsRSM, "count").AddText(strconv.Itoa(page.Count)))
	fin := NewElement(nsMAM, "fin")
	if page.Complete {
		fin.Set("complete", "true")
	}
	s.send(iqResult(el).Add(fin.Add(set)))
	return nil
}

// archivedMessage is the forwarded message of an archive result, in the
// archive of owner (a bare JID) of portal.
func (srv *Server) archivedMessage(portal, owner string, m store.ArchivedMessage) *Element {
	with := m.With
	if m.Chat != 0 {
		with = address.Chat{Portal: portal, Number: m.Chat}.JID(srv.domain)
	}
	from, to := with, owner
	if m.Outgoing {
		from, to = owner, with
	}
	if m.Stanza != nil {
		if el := parseStored(m.Stanza); el != nil {
			el.Set("from", from)
			el.Set("to", to)
			return el
		}
	}
	body := m.Body
	switch {
	case m.FromVisitor:
		body = bridge.Unforgeable(m.Text)
	case m.Colleague != "":
		body = bridge.CopyOf(m.Colleague, m.Text)
	}
	return NewElement(nsClient, "message", "from", from, "to", to, "type", "chat").
		Add(NewElement(nsClient, "body").AddText(body))
}

// plainMessage reports whether a message carries nothing an archive
// replay would lose by rebuilding it from its body: only a body, a
// thread, chat states and ids.
func plainMessage(el *Element) bool {
	for _, c := range el.Children() {
		switch {
		case c.Space == nsClient && (c.Local == "body" || c.Local == "thread"),
			c.Space == nsChatSt, c.Space == nsSID, c.Space == nsReceipts:
		default:
			return false
		}
	}
	return true
}
