package bench

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Stanza is a received top-level element, with the few things the bench
// looks at. Its byte slices are only valid during the handler call.
type Stanza struct {
	Name string // "message", "presence", "iq", or another local name
	Raw  []byte
	// Start is the element's start tag, for Attr.
	Start []byte
	// At is when the client finished reading it, relative to the run's
	// clock (see Clock).
	At int64
}

// Attr returns the value of an attribute of the start tag, unescaped; nil
// if absent.
func (s *Stanza) Attr(name string) []byte { return attr(s.Start, name) }

// Body returns the text of the first <body/>, unescaped.
func (s *Stanza) Body() []byte { return body(s.Raw) }

// attr finds name='value' or name="value" in a start tag.
func attr(start []byte, name string) []byte {
	for k := 0; ; {
		i := bytes.Index(start[k:], []byte(name))
		if i < 0 {
			return nil
		}
		i += k
		k = i + len(name)
		if i == 0 || !isSpace(start[i-1]) {
			continue
		}
		j := k
		for j < len(start) && isSpace(start[j]) {
			j++
		}
		if j >= len(start) || start[j] != '=' {
			continue
		}
		j++
		for j < len(start) && isSpace(start[j]) {
			j++
		}
		if j >= len(start) || start[j] != '\'' && start[j] != '"' {
			continue
		}
		q := start[j]
		end := bytes.IndexByte(start[j+1:], q)
		if end < 0 {
			return nil
		}
		return unescape(start[j+1 : j+1+end])
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// body returns the content of the first <body> element of raw (any
// namespace prefix is not looked for: servers send <body>).
func body(raw []byte) []byte {
	for k := 0; ; {
		i := bytes.Index(raw[k:], []byte("<body"))
		if i < 0 {
			return nil
		}
		i += k + len("<body")
		k = i
		if i >= len(raw) {
			return nil
		}
		switch raw[i] {
		case '/':
			return []byte{}
		case '>', ' ', '\t', '\n', '\r':
		default:
			continue // <bodyx>
		}
		gt := bytes.IndexByte(raw[i:], '>')
		if gt < 0 {
			return nil
		}
		if raw[i+gt-1] == '/' {
			return []byte{}
		}
		text := raw[i+gt+1:]
		end := bytes.Index(text, []byte("</body>"))
		if end < 0 {
			return nil
		}
		return unescape(text[:end])
	}
}

// unescape replaces the five predefined entities, character references
// and CDATA sections. Text without any is returned as is.
func unescape(b []byte) []byte {
	if bytes.IndexByte(b, '&') < 0 && !bytes.Contains(b, []byte("<![CDATA[")) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		switch {
		case b[i] == '&':
			semi := bytes.IndexByte(b[i:], ';')
			if semi < 0 {
				out = append(out, b[i:]...)
				return out
			}
			ent := string(b[i+1 : i+semi])
			i += semi + 1
			switch ent {
			case "lt":
				out = append(out, '<')
			case "gt":
				out = append(out, '>')
			case "amp":
				out = append(out, '&')
			case "quot":
				out = append(out, '"')
			case "apos":
				out = append(out, '\'')
			default:
				var n uint64
				var err error
				if strings.HasPrefix(ent, "#x") {
					n, err = strconv.ParseUint(ent[2:], 16, 32)
				} else if strings.HasPrefix(ent, "#") {
					n, err = strconv.ParseUint(ent[1:], 10, 32)
				} else {
					err = strconv.ErrSyntax
				}
				if err != nil {
					out = append(out, '&')
					out = append(out, ent...)
					out = append(out, ';')
				} else {
					out = utf8.AppendRune(out, rune(n))
				}
			}
		case bytes.HasPrefix(b[i:], []byte("<![CDATA[")):
			end := bytes.Index(b[i+9:], []byte("]]>"))
			if end < 0 {
				out = append(out, b[i+9:]...)
				return out
			}
			out = append(out, b[i+9:i+9+end]...)
			i += 9 + end + 3
		default:
			out = append(out, b[i])
			i++
		}
	}
	return out
}

// escape makes s safe inside an XML attribute value or text.
func escape(s string) string {
	if !strings.ContainsAny(s, "<>&'\"") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&apos;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// bare strips the resource of a JID.
func bare(jid []byte) []byte {
	if i := bytes.IndexByte(jid, '/'); i >= 0 {
		return jid[:i]
	}
	return jid
}

// fields splits b at spaces into at most n fields without allocating more
// than the result slice.
func fields(b []byte, out [][]byte) [][]byte {
	out = out[:0]
	for len(b) > 0 && len(out) < cap(out) {
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		if len(b) == 0 {
			break
		}
		i := bytes.IndexByte(b, ' ')
		if i < 0 {
			i = len(b)
		}
		out = append(out, b[:i])
		b = b[i:]
	}
	return out
}

// atoi parses a non-negative decimal integer; ok is false otherwise.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
