package xmppd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"jabberdesk/store"
)

// vCards (XEP-0054, vcard-temp). Everyone in the roster has one: a
// colleague's shows the directory (name, email, role, departments) and
// the nickname and photo the colleague set; a visitor's shows the
// visitor's name and question; the board and the desk have their names.
// Agents set only their own nickname and photo; the rest belongs to the
// administrators.

var (
	errVCardForbidden     = stanzaError{Type: "auth", Cond: "forbidden"}
	errVCardNotAcceptable = stanzaError{Type: "modify", Cond: "not-acceptable"}
)

// vcardIQ answers a vCard get or set (el) addressed to t. The agent's
// own vCard is addressed with no "to", or to the own bare JID: t is then
// the agent itself (targetAgent with the session's bare JID) or
// targetServer.
func (s *session) vcardIQ(el, payload *Element, t target) error {
	self := t.kind == targetServer || t.kind == targetAgent && t.bare == s.bare
	switch el.Get("type") {
	case "set":
		if !self {
			return errVCardForbidden.withText("you can only change your own vCard")
		}
		return s.setOwnVCard(el, payload)
	case "get":
	default:
		return errBadRequest
	}
	var card *Element
	switch {
	case self:
		a := s.agent
		if dir, err := s.srv.dir.get(s.ctx(), s.agent.Portal); err == nil {
			if cur, ok := dir.agent(s.agent.Key()); ok {
				a = cur // changes made with the admin CLI since sign-in
			}
		}
		var err error
		if card, err = s.agentVCard(a); err != nil {
			return err
		}
	case t.kind == targetAgent:
		var err error
		if card, err = s.agentVCard(t.agent); err != nil {
			return err
		}
	case t.kind == targetVisitor:
		for _, c := range s.srv.visitorContacts(s.agent.Portal, s.agent.Key()) {
			if c.Local == t.name {
				card = NewElement(nsVCard, "vCard").Add(vcardText("FN", c.Name))
				if c.Status != "" {
					card.Add(vcardText("NOTE", c.Status))
				}
				break
			}
		}
		if card == nil {
			return errItemNotFound.withText("there is no visitor " + t.name + " in your roster")
		}
	case t.kind == targetBoard:
		card = NewElement(nsVCard, "vCard").Add(vcardText("FN", "Message board"), vcardText("JABBERID", t.bare))
	case t.kind == targetDesk:
		card = NewElement(nsVCard, "vCard").Add(vcardText("FN", "Desk"), vcardText("JABBERID", t.bare))
	default:
		return errServiceUnavailable
	}
	s.send(iqResult(el).Add(card))
	return nil
}

// agentVCard is an agent's vCard: the directory's details with the
// nickname and photo the agent set.
func (s *session) agentVCard(a store.Agent) (*Element, error) {
	v, err := s.srv.store.VCard(s.ctx(), a.Portal, a.Key())
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	card := NewElement(nsVCard, "vCard").Add(vcardText("FN", a.DisplayName))
	if v.Nickname != "" {
		card.Add(vcardText("NICKNAME", v.Nickname))
	}
	if len(v.Photo) > 0 {
		card.Add(NewElement(nsVCard, "PHOTO").Add(
			vcardText("TYPE", v.PhotoType),
			vcardText("BINVAL", base64.StdEncoding.EncodeToString(v.Photo)),
		))
	}
	if a.Email != "" {
		card.Add(NewElement(nsVCard, "EMAIL").Add(NewElement(nsVCard, "INTERNET"), NewElement(nsVCard, "PREF"), vcardText("USERID", a.Email)))
	}
	card.Add(vcardText("JABBERID", s.srv.agentBare(a.Portal, a.Key())))
	if a.Role != "" {
		card.Add(vcardText("ROLE", string(a.Role)))
	}
	org := NewElement(nsVCard, "ORG").Add(vcardText("ORGNAME", a.Portal))
	for _, d := range a.Departments {
		org.Add(vcardText("ORGUNIT", d))
	}
	return card.Add(org), nil
}

// maxPhotoBase64 is the longest BINVAL that can decode to a photo within
// the limit.
var maxPhotoBase64 = base64.StdEncoding.EncodedLen(store.VCardPhotoMax)

// setOwnVCard stores the nickname and photo of a vCard set. As in
// XEP-0054 the set replaces the whole vCard: what it leaves out (the
// photo, say) is cleared. The name, email, role and departments are the
// directory's and are not changed.
func (s *session) setOwnVCard(el, card *Element) error {
	if card.Local != "vCard" {
		return errBadRequest.withText("a vCard set carries <vCard xmlns='vcard-temp'/>")
	}
	v := store.VCard{Nickname: card.ChildText(nsVCard, "NICKNAME")}
	if p := card.Child(nsVCard, "PHOTO"); p != nil {
		bin := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, p.ChildText(nsVCard, "BINVAL"))
		if bin != "" {
			if len(bin) > maxPhotoBase64 {
				return errVCardNotAcceptable.withText(fmt.Sprintf("the photo is too large (at most %d KiB): use a smaller image", store.VCardPhotoMax/1024))
			}
			data, err := base64.StdEncoding.DecodeString(bin)
			if err != nil {
				data, err = base64.RawStdEncoding.DecodeString(bin)
			}
			if err != nil {
				return errBadRequest.withText("the photo (PHOTO/BINVAL) is not valid base64")
			}
			if len(data) > store.VCardPhotoMax {
				return errVCardNotAcceptable.withText(fmt.Sprintf("the photo is too large (%d KiB, at most %d KiB): use a smaller image",
					(len(data)+1023)/1024, store.VCardPhotoMax/1024))
			}
			v.Photo = data
			if v.PhotoType = strings.TrimSpace(p.ChildText(nsVCard, "TYPE")); v.PhotoType == "" {
				v.PhotoType = http.DetectContentType(data)
			}
		}
	}
	err := s.srv.store.SetVCard(s.ctx(), s.agent.Portal, s.agent.Key(), v)
	var ue *store.UserError
	switch {
	case errors.As(err, &ue) && errors.Is(err, store.ErrInvalid):
		return errVCardNotAcceptable.withText(ue.Msg)
	case err != nil:
		return err
	}
	s.send(iqResult(el))
	return nil
}

// vcardText is a vcard-temp element with text.
func vcardText(name, text string) *Element {
	return NewElement(nsVCard, name).AddText(text)
}
