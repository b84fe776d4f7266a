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
// colleague's shows the directory (name, email, role, departments) with
// everything else the colleague set (nickname, photo, and whatever else
// their client keeps there); a visitor's shows the visitor's name and
// question; the board and the desk have their names. An agent sets only
// their own vCard; the directory's fields are the administrators': a set
// may repeat them but not change them (not-allowed, saying which), and
// everything else it carries is kept as sent, within a size limit, or
// refused — never answered with success while dropped.

var errVCardForbidden = stanzaError{Type: "auth", Cond: "forbidden"}

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
		for _, c := range s.srv.desk.Contacts(s.agent.Portal, s.agent.Key()) {
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

// agentVCard is an agent's vCard: the directory's details with what the
// agent set.
func (s *session) agentVCard(a store.Agent) (*Element, error) {
	v, err := s.srv.store.VCard(s.ctx(), a.Portal, a.Key())
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	card := NewElement(nsVCard, "vCard")
	for _, d := range s.directoryFields(a) {
		card.Add(d)
	}
	if v.Nickname != "" {
		card.Add(vcardText("NICKNAME", v.Nickname))
	}
	if len(v.Photo) > 0 {
		card.Add(NewElement(nsVCard, "PHOTO").Add(
			vcardText("TYPE", v.PhotoType),
			vcardText("BINVAL", base64.StdEncoding.EncodeToString(v.Photo)),
		))
	}
	if extra := parseStored(v.Extra); extra != nil {
		card.Add(extra.Children()...)
	}
	return card, nil
}

// directoryFields are the vCard fields the administrators own: name,
// email, address, role, portal and departments.
func (s *session) directoryFields(a store.Agent) []*Element {
	fields := []*Element{vcardText("FN", a.DisplayName)}
	if a.Email != "" {
		fields = append(fields, NewElement(nsVCard, "EMAIL").Add(NewElement(nsVCard, "INTERNET"), NewElement(nsVCard, "PREF"), vcardText("USERID", a.Email)))
	}
	fields = append(fields, vcardText("JABBERID", s.srv.agentBare(a.Portal, a.Key())))
	if a.Role != "" {
		fields = append(fields, vcardText("ROLE", string(a.Role)))
	}
	org := NewElement(nsVCard, "ORG").Add(vcardText("ORGNAME", a.Portal))
	for _, d := range a.Departments {
		org.Add(vcardText("ORGUNIT", d))
	}
	return append(fields, org)
}

// maxPhotoBase64 is the longest BINVAL that can decode to a photo within
// the limit.
var maxPhotoBase64 = base64.StdEncoding.EncodedLen(store.VCardPhotoMax)

// setOwnVCard stores a vCard set. As in XEP-0054 the set replaces the
// whole vCard: what it leaves out (the photo, say) is cleared. The
// directory's fields may be repeated as they are, not changed.
func (s *session) setOwnVCard(el, card *Element) error {
	if card.Local != "vCard" || card.Space != nsVCard {
		return errBadRequest.withText("a vCard set carries <vCard xmlns='vcard-temp'/>")
	}
	v := store.VCard{}
	extra := NewElement(nsVCard, "vCard")
	for _, f := range card.Children() {
		switch {
		case f.Space != nsVCard:
			extra.Add(f)
		case f.Local == "NICKNAME":
			v.Nickname = f.Text()
		case f.Local == "PHOTO":
			if err := vcardPhoto(f, &v); err != nil {
				return err
			}
		case f.Local == "FN" || f.Local == "JABBERID" || f.Local == "ROLE" || f.Local == "ORG" || f.Local == "EMAIL":
			same, err := s.directoryField(f)
			if err != nil {
				return err
			}
			if !same { // another email address than the directory's: the agent's own
				extra.Add(f)
			}
		default:
			extra.Add(f)
		}
	}
	if len(extra.Children()) > 0 {
		v.Extra = extra.Bytes()
	}
	err := s.srv.store.SetVCard(s.ctx(), s.agent.Portal, s.agent.Key(), v)
	var ue *store.UserError
	switch {
	case errors.As(err, &ue) && errors.Is(err, store.ErrInvalid):
		return errNotAcceptable.withText(ue.Msg)
	case err != nil:
		return err
	}
	s.send(iqResult(el))
	return nil
}

// directoryField checks a field of a vCard set against the directory: the
// same is fine (same reports it), a different one is refused; an email
// address besides the directory's is the agent's own (same false).
func (s *session) directoryField(f *Element) (same bool, err error) {
	a := s.agent
	if dir, err := s.srv.dir.get(s.ctx(), a.Portal); err == nil {
		if cur, ok := dir.agent(a.Key()); ok {
			a = cur
		}
	}
	norm := func(x *Element) string { return strings.Join(strings.Fields(flatText(x)), " ") }
	var want *Element
	for _, d := range s.directoryFields(a) {
		if d.Local == f.Local {
			want = d
		}
	}
	if f.Local == "EMAIL" {
		return want != nil && strings.EqualFold(strings.TrimSpace(f.ChildText(nsVCard, "USERID")), a.Email), nil
	}
	if want != nil && strings.EqualFold(norm(f), norm(want)) {
		return true, nil
	}
	what := map[string]string{"FN": "your name", "JABBERID": "your address", "ROLE": "your role", "ORG": "your portal and departments"}[f.Local]
	shown := ""
	if want != nil {
		shown = " (" + norm(want) + ")"
	}
	return false, errNotAllowed.withText(fmt.Sprintf("%s is %s in the directory%s: your administrators change it; leave it out or as it is", f.Local, what, shown))
}

// vcardPhoto takes a vCard's PHOTO (XEP-0153): a declared image type is
// believed; without one the data is looked at; only what is clearly not
// an image (text, PDF, an archive…) is refused, saying so.
func vcardPhoto(p *Element, v *store.VCard) error {
	bin := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, p.ChildText(nsVCard, "BINVAL"))
	if bin == "" {
		return nil // EXTVAL or nothing: no photo kept here
	}
	if len(bin) > maxPhotoBase64 {
		return errNotAcceptable.withText(fmt.Sprintf("the photo is too large (at most %d KiB): use a smaller image", store.VCardPhotoMax/1024))
	}
	data, err := base64.StdEncoding.DecodeString(bin)
	if err != nil {
		data, err = base64.RawStdEncoding.DecodeString(bin)
	}
	if err != nil {
		return errBadRequest.withText("the photo (PHOTO/BINVAL) is not valid base64")
	}
	if len(data) > store.VCardPhotoMax {
		return errNotAcceptable.withText(fmt.Sprintf("the photo is too large (%d KiB, at most %d KiB): use a smaller image",
			(len(data)+1023)/1024, store.VCardPhotoMax/1024))
	}
	declared := strings.ToLower(strings.TrimSpace(p.ChildText(nsVCard, "TYPE")))
	sniffed, _, _ := strings.Cut(http.DetectContentType(data), ";")
	clearlyNot := sniffed != "application/octet-stream" && !strings.HasPrefix(sniffed, "image/")
	switch {
	case declared != "" && !strings.HasPrefix(declared, "image/"):
		return errNotAcceptable.withText(fmt.Sprintf("PHOTO/TYPE %q is not an image type (like image/png or image/jpeg)", declared))
	case clearlyNot:
		return errNotAcceptable.withText(fmt.Sprintf("the photo is not an image: its data looks like %s", sniffed))
	case declared != "":
		v.PhotoType = declared
	case strings.HasPrefix(sniffed, "image/"):
		v.PhotoType = sniffed
	default:
		v.PhotoType = "application/octet-stream" // an image format not recognised here
	}
	v.Photo = data
	return nil
}

// flatText is the text of an element and its children, each child's
// after its name: "ORGNAME acme ORGUNIT Sales".
func flatText(e *Element) string {
	parts := []string{e.Text()}
	for _, c := range e.Children() {
		parts = append(parts, c.Local, flatText(c))
	}
	return strings.Join(parts, " ")
}

// vcardText is a vcard-temp element with text.
func vcardText(name, text string) *Element {
	return NewElement(nsVCard, name).AddText(text)
}
