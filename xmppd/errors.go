package xmppd

import (
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"

	"mellium.im/xmpp/stream"
)

// streamError is an RFC 6120 §4.9 stream error: the session ends with it.
type streamError struct {
	Cond string // defined condition, e.g. "policy-violation"
	Text string // optional human-readable text
}

func (e streamError) Error() string {
	if e.Text != "" {
		return "stream error " + e.Cond + ": " + e.Text
	}
	return "stream error " + e.Cond
}

func (e streamError) bytes() []byte {
	b := []byte("<stream:error>")
	b = NewElement(nsStreams, e.Cond).AppendXML(b, "")
	if e.Text != "" {
		b = NewElement(nsStreams, "text").AddText(e.Text).AppendXML(b, "")
	}
	return append(b, "</stream:error>"...)
}

// streamErrorFor maps what ended a session to the stream error to send,
// or ok=false when nothing should be sent (the peer is gone).
func streamErrorFor(err error) (streamError, bool) {
	var se streamError
	var tooBig errStanzaTooBig
	var syntax *xml.SyntaxError
	var ms stream.Error
	var netErr net.Error
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return streamError{}, false
	case errors.As(err, &se):
		return se, true
	case errors.As(err, &tooBig):
		return streamError{"policy-violation", "stanza too big"}, true
	case errors.Is(err, errTooDeep):
		return streamError{"policy-violation", "elements nested too deep"}, true
	case errors.As(err, &syntax):
		if syntax.Msg == "unexpected EOF" {
			return streamError{}, false // the client hung up without closing the stream
		}
		return streamError{"not-well-formed", ""}, true
	case errors.As(err, &ms):
		return streamError{}, false // the peer sent a stream error: it is leaving
	case errors.Is(err, os.ErrDeadlineExceeded):
		return streamError{"connection-timeout", ""}, true
	case errors.As(err, &netErr):
		return streamError{}, false
	}
	return streamError{"not-well-formed", ""}, true
}

// clientFault reports whether a read ended because the client broke a
// rule (a limit, well-formedness, restricted XML): such a session ends for
// good with its stream error, resumable or not. Lost connections and
// timeouts are not faults: a resumable session waits for its client.
func clientFault(err error) bool {
	se, ok := streamErrorFor(err)
	return ok && se.Cond != "connection-timeout"
}

// stanzaError is an RFC 6120 §8.3 stanza error. XMPP handlers return it;
// it is turned into an error reply in one place (errorReply).
type stanzaError struct {
	Type string // cancel, continue, modify, auth, wait
	Cond string // defined condition, e.g. "service-unavailable"
	Text string
	// AppSpace and AppLocal name an application-specific condition
	// element (RFC 6120 §8.3.4), if any: <blocked/> of XEP-0191, say.
	AppSpace, AppLocal string
}

func (e stanzaError) Error() string { return "stanza error " + e.Cond + ": " + e.Text }

var (
	errServiceUnavailable = stanzaError{Type: "cancel", Cond: "service-unavailable"}
	// errNoFederation answers a stanza for a domain this server does not
	// serve (RFC 6120 §8.3.3.15), at once: it talks to no other server.
	errNoFederation    = stanzaError{Type: "cancel", Cond: "remote-server-not-found", Text: "this server does not exchange stanzas with other servers"}
	errItemNotFound    = stanzaError{Type: "cancel", Cond: "item-not-found"}
	errNotAllowed      = stanzaError{Type: "cancel", Cond: "not-allowed"}
	errNotAcceptable   = stanzaError{Type: "modify", Cond: "not-acceptable"}
	errForbidden       = stanzaError{Type: "auth", Cond: "forbidden"}
	errBadRequest      = stanzaError{Type: "modify", Cond: "bad-request"}
	errInternal        = stanzaError{Type: "wait", Cond: "internal-server-error"}
	errForbiddenCarbon = stanzaError{Type: "cancel", Cond: "forbidden", Text: "only the server sends carbon copies (XEP-0280)"}
)

func (e stanzaError) withText(text string) stanzaError {
	e.Text = text
	return e
}

// errorReply answers a stanza with an error: to and from swapped, the
// same id, type "error" (RFC 6120 §8.3.1). An error to an error stanza
// is never sent (nil).
func errorReply(orig *Element, e stanzaError) *Element {
	if orig.Get("type") == "error" {
		return nil
	}
	r := &Element{Space: orig.Space, Local: orig.Local}
	r.Set("id", orig.Get("id"))
	r.Set("type", "error")
	r.Set("to", orig.Get("from"))
	r.Set("from", orig.Get("to"))
	errEl := NewElement(nsClient, "error", "type", e.Type).Add(NewElement(nsStanzas, e.Cond))
	if e.Text != "" {
		errEl.Add(NewElement(nsStanzas, "text").AddText(e.Text))
	}
	if e.AppLocal != "" {
		errEl.Add(NewElement(e.AppSpace, e.AppLocal))
	}
	return r.Add(errEl)
}
