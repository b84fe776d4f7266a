package xmppd

import (
	"bytes"
	"encoding/xml"
	"io"

	"mellium.im/xmpp/stream"
)

// streamReader reads a negotiated stream's stanzas straight from the
// connection, without mellium's session: once negotiation is done, a
// session keeps only its connection (with its small read buffer) and this
// decoder. It applies RFC 6120 §4's rules for stream-level content: a
// stream error from the client or the end of its stream ends the read, and
// nothing but whitespace may sit between stanzas.
type streamReader struct {
	d     *xml.Decoder
	depth int // of the next token, below the stream element
}

// streamHeader puts the decoder where the negotiated stream is: inside
// <stream:stream> with jabber:client as the default namespace, as every
// c2s stream after resource binding is (RFC 6120 §4.8.3).
const streamHeader = "<stream:stream xmlns='" + nsClient + "' xmlns:stream='" + nsStream + "'>"

func newStreamReader(c *limitConn) *streamReader {
	d := xml.NewDecoder(&prefixedReader{prefix: streamHeader, c: c})
	_, _ = d.Token() // the header: read from the prefix, never from the connection, so it cannot fail
	return &streamReader{d: d}
}

// Token returns the next token of a stanza, or of whitespace between them.
func (r *streamReader) Token() (xml.Token, error) {
	tok, err := r.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		r.depth++
		if r.depth == 1 && t.Name.Space == stream.NS {
			if t.Name.Local == "error" {
				var se stream.Error
				if err := r.d.DecodeElement(&se, &t); err != nil {
					return nil, err
				}
				return nil, se
			}
			return nil, streamError{"unsupported-stanza-type", "unknown stream element <" + t.Name.Local + "/>"}
		}
	case xml.EndElement:
		r.depth--
		if r.depth < 0 {
			return nil, io.EOF // </stream:stream>
		}
	case xml.CharData:
		if r.depth == 0 && len(bytes.TrimLeft(t, " \t\r\n")) != 0 {
			return nil, streamError{"bad-format", "text between stanzas"}
		}
	case xml.ProcInst, xml.Comment, xml.Directive:
		return nil, streamError{"restricted-xml", "processing instructions, comments and DTDs are not allowed"}
	}
	return tok, nil
}

// prefixedReader reads prefix, then the connection. It is an
// io.ByteReader, so the decoder adds no buffer of its own.
type prefixedReader struct {
	prefix string
	c      *limitConn
}

func (p *prefixedReader) ReadByte() (byte, error) {
	if p.prefix != "" {
		b := p.prefix[0]
		p.prefix = p.prefix[1:]
		return b, nil
	}
	return p.c.ReadByte()
}

func (p *prefixedReader) Read(b []byte) (int, error) {
	if p.prefix != "" {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.c.Read(b)
}
