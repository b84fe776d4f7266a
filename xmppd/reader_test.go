package xmppd

import (
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"mellium.im/xmpp/stream"
)

// readAll reads what the client wrote through a streamReader: the stanzas
// and the error that ended the read.
func readAll(t *testing.T, client string) ([]*Element, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		// Byte by byte: a stanza split over many reads reads the same.
		for i := range len(client) {
			if _, err := b.Write([]byte{client[i]}); err != nil {
				return
			}
		}
		b.Close()
	}()
	lim := &readLimit{}
	lim.reset(1 << 20)
	r := newStreamReader(&limitConn{Conn: a, lim: lim})
	var els []*Element
	for {
		tok, err := r.Token()
		if err != nil {
			return els, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			el, err := readElement(r, start, 16)
			if err != nil {
				return els, err
			}
			els = append(els, el)
		}
	}
}

func TestStreamReader(t *testing.T) {
	t.Parallel()
	els, err := readAll(t, "<message to='a@b'><body>hi</body></message> \n<presence/><iq xmlns='jabber:client' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>")
	if !errors.Is(err, io.EOF) {
		t.Fatalf("the end of the stream read as %v, want io.EOF", err)
	}
	if len(els) != 3 {
		t.Fatalf("%d stanzas, want 3", len(els))
	}
	for i, want := range []string{"message", "presence", "iq"} {
		if els[i].Space != nsClient || els[i].Local != want {
			t.Errorf("stanza %d is {%s}%s, want {%s}%s", i, els[i].Space, els[i].Local, nsClient, want)
		}
	}
	if got := els[0].ChildText(nsClient, "body"); got != "hi" {
		t.Errorf("body %q", got)
	}

	for _, tc := range []struct {
		client, cond string
	}{
		{"<presence/>hello", "bad-format"},
		{"<presence/><!-- a comment -->", "restricted-xml"},
		{"<?xml version='1.0'?>", "restricted-xml"},
		{"<stream:features/>", "unsupported-stanza-type"},
	} {
		_, err := readAll(t, tc.client)
		var se streamError
		if !errors.As(err, &se) || se.Cond != tc.cond {
			t.Errorf("%q: %v, want stream error %s", tc.client, err, tc.cond)
		}
	}

	_, err = readAll(t, "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>")
	var peer stream.Error
	if !errors.As(err, &peer) || peer.Err != "conflict" {
		t.Errorf("the client's stream error read as %v", err)
	}

	// The byte budget of a stanza still holds.
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		b.Write([]byte("<message><body>" + strings.Repeat("x", 4096) + "</body></message>"))
		b.Close()
	}()
	lim := &readLimit{}
	lim.reset(1024)
	r := newStreamReader(&limitConn{Conn: a, lim: lim})
	tok, _ := r.Token()
	_, err = readElement(r, tok.(xml.StartElement), 16)
	var tooBig errStanzaTooBig
	if !errors.As(err, &tooBig) {
		t.Errorf("an oversized stanza read as %v", err)
	}
}
