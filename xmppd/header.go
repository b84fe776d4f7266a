package xmppd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"
)

// The client's stream headers (RFC 6120 §4.2, §4.3) are read here, before
// mellium's negotiator sees them, so that a bad one is answered the way
// RFC 6120 §4.9.1.2 asks: our own stream header (from our domain), then
// the stream error, then the closing tag — and never with features
// opened first. A good header is handed on to mellium in a normalized form
// (to our domain, version 1.0), so its own checks always pass.

// maxHeaderBytes bounds a stream header (the pre-authentication element
// limit counts it too).
const maxHeaderBytes = 4096

// readStreamHeader reads, checks and puts back the client's stream header.
func (c *conn) readStreamHeader() error {
	raw, err := scanStreamHeader(c.nc)
	if err != nil {
		return err
	}
	lang, err := checkStreamHeader(raw, c.srv.domain)
	if err != nil {
		return err
	}
	norm := "<stream:stream xmlns='" + nsClient + "' xmlns:stream='" + stream.NS +
		"' to='" + c.srv.domain + "' version='1.0'"
	if lang != "" {
		norm += " xml:lang='" + lang + "'"
	}
	c.nc.unread([]byte(norm + ">"))
	return nil
}

// scanStreamHeader reads bytes up to and including the '>' that ends the
// stream's start tag, with the XML declaration before it, if any.
// Comments, DTDs and processing instructions other than the declaration
// are refused (RFC 6120 §11.1).
func scanStreamHeader(r io.ByteReader) ([]byte, error) {
	var buf []byte
	next := func() (byte, error) {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if len(buf) >= maxHeaderBytes {
			return 0, streamError{"policy-violation", "the stream header is too long"}
		}
		buf = append(buf, b)
		return b, nil
	}
	for {
		b, err := next()
		if err != nil {
			return nil, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '<':
		default:
			return nil, streamError{"not-well-formed", "expected a stream header"}
		}
		b, err = next()
		if err != nil {
			return nil, err
		}
		switch b {
		case '!':
			return nil, streamError{"restricted-xml", "comments and DTDs are not allowed"}
		case '?':
			// The XML declaration (any other processing instruction is
			// refused when the header is parsed): up to "?>".
			prev := byte(0)
			for !(prev == '?' && b == '>') {
				prev = b
				if b, err = next(); err != nil {
					return nil, err
				}
			}
			continue
		}
		// The start tag: up to the first '>' outside quotes.
		var quote byte
		for {
			switch {
			case quote != 0 && b == quote:
				quote = 0
			case quote == 0 && (b == '\'' || b == '"'):
				quote = b
			case quote == 0 && b == '>':
				return buf, nil
			}
			if b, err = next(); err != nil {
				return nil, err
			}
		}
	}
}

// checkStreamHeader parses a header read by scanStreamHeader and returns
// its language, or the stream error that answers it.
func checkStreamHeader(raw []byte, domain string) (lang string, err error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	badEncoding := streamError{"unsupported-encoding", "streams are UTF-8"}
	d.CharsetReader = func(string, io.Reader) (io.Reader, error) { return nil, badEncoding }
	for {
		tok, err := d.Token()
		if errors.Is(err, badEncoding) {
			return "", badEncoding
		}
		if err != nil {
			return "", streamError{"not-well-formed", ""}
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" {
				return "", streamError{"restricted-xml", "processing instructions are not allowed"}
			}
		case xml.CharData:
			// Whitespace before the header.
		case xml.StartElement:
			return checkStreamStart(t, domain)
		default:
			return "", streamError{"restricted-xml", ""}
		}
	}
}

// checkStreamStart checks the stream element: its namespaces (§4.8), the
// version (§4.7.5) and the domain asked for (§4.7.2).
func checkStreamStart(t xml.StartElement, domain string) (lang string, err error) {
	if t.Name.Space != stream.NS || t.Name.Local != "stream" {
		return "", streamError{"invalid-namespace", "expected <stream:stream> in the " + stream.NS + " namespace"}
	}
	var content, version, to string
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			content = a.Value
		case a.Name.Space == "" && a.Name.Local == "version":
			version = a.Value
		case a.Name.Space == "" && a.Name.Local == "to":
			to = a.Value
		case a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace":
			if a.Name.Local == "lang" {
				lang = a.Value
			}
		}
	}
	if content != nsClient {
		return "", streamError{"invalid-namespace", "the content namespace must be " + nsClient}
	}
	if major, _, _ := strings.Cut(version, "."); major != "1" {
		return "", streamError{"unsupported-version", "this server speaks XMPP version 1.0"}
	}
	if to != "" {
		j, err := jid.Parse(to)
		if err != nil || j.Localpart() != "" || j.Resourcepart() != "" || !strings.EqualFold(j.Domainpart(), domain) {
			return "", streamError{"host-unknown", "this server serves " + domain}
		}
	}
	if !validLang(lang) {
		lang = ""
	}
	return lang, nil
}

// validLang accepts what looks like a BCP 47 language tag: letters,
// digits and hyphens, at most 35 characters.
func validLang(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// ourStreamHeader is the response header sent ahead of a stream error
// when the client's header could not be answered with one (RFC 6120
// §4.9.1.2).
func ourStreamHeader(domain string) []byte {
	return []byte("<?xml version='1.0'?><stream:stream xmlns='" + nsClient + "' xmlns:stream='" + stream.NS +
		"' from='" + domain + "' id='" + randomID() + "' version='1.0' xml:lang='en'>")
}
