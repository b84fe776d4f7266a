package xmppd

import (
	"errors"
	"strconv"

	"jabberdesk/address"
	"jabberdesk/store"
)

// XEP-0363 HTTP File Upload: agents send pictures and files to visitors
// and colleagues. The service is upload.DOMAIN; it hands out slots (a PUT
// and a GET URL on the HTTP listener, which stores the file under the
// data directory). Size, type and per-agent quota are checked here, when
// the slot is made.

const nsUpload = "urn:xmpp:http:upload:0"

// uploadJID is the upload service's address.
func (srv *Server) uploadJID() string { return address.UploadHost(srv.domain) }

// uploadInfo describes the service (XEP-0363 §2).
func (srv *Server) uploadInfo() *Element {
	lim := srv.uploads.Limits.WithDefaults()
	q := NewElement(nsDiscoInf, "query").Add(
		NewElement(nsDiscoInf, "identity", "category", "store", "type", "file", "name", "HTTP File Upload"),
		NewElement(nsDiscoInf, "feature", "var", nsUpload),
	)
	if lim.MaxFileSize > 0 {
		q.Add(NewElement(nsData, "x", "type", "result").Add(
			NewElement(nsData, "field", "var", "FORM_TYPE", "type", "hidden").Add(NewElement(nsData, "value").AddText(nsUpload)),
			NewElement(nsData, "field", "var", "max-file-size").Add(NewElement(nsData, "value").AddText(strconv.FormatInt(lim.MaxFileSize, 10))),
		))
	}
	return q
}

// uploadIQ answers IQs to the upload service.
func (s *session) uploadIQ(el, payload *Element) error {
	get := el.Get("type") == "get"
	switch {
	case payload.Space == nsDiscoInf && get:
		s.send(iqResult(el).Add(s.srv.uploadInfo()))
		return nil
	case payload.Space == nsPing && get:
		s.send(iqResult(el))
		return nil
	case payload.Space != nsUpload || payload.Local != "request" || !get:
		return errServiceUnavailable
	}
	size, err := strconv.ParseInt(payload.Get("size"), 10, 64)
	if err != nil || size <= 0 {
		return errBadRequest.withText("size must be the file's size in bytes")
	}
	slot, err := s.srv.store.CreateUploadSlot(s.ctx(), s.agent.Portal, s.agent.Key(), payload.Get("filename"), size,
		payload.Get("content-type"), s.srv.uploads.Limits)
	var ue *store.UserError
	switch {
	case errors.Is(err, store.ErrTooLarge):
		lim := s.srv.uploads.Limits.WithDefaults()
		e := errorReply(el, stanzaError{Type: "modify", Cond: "not-acceptable", Text: ue2msg(err)})
		if e != nil {
			e.FirstChild().Add(NewElement(nsUpload, "file-too-large").Add(
				NewElement(nsUpload, "max-file-size").AddText(strconv.FormatInt(lim.MaxFileSize, 10))))
			s.send(e)
		}
		return nil
	case errors.Is(err, store.ErrQuota):
		return stanzaError{Type: "wait", Cond: "resource-constraint", Text: ue2msg(err)}
	case errors.As(err, &ue):
		return errBadRequest.withText(ue.Msg)
	case err != nil:
		return err
	}
	url := s.srv.uploads.URL(slot.ID, slot.Filename)
	s.send(iqResult(el).Add(NewElement(nsUpload, "slot").Add(
		NewElement(nsUpload, "put", "url", url),
		NewElement(nsUpload, "get", "url", url),
	)))
	return nil
}

func ue2msg(err error) string {
	var ue *store.UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return err.Error()
}

// Uploads configures the upload service; a nil URL turns it off.
type Uploads struct {
	Limits store.UploadLimits
	// URL builds the PUT and GET URL of a slot on the HTTP listener.
	URL func(id, filename string) string
}
