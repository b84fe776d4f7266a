package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
)

// errStreamClosed is what the scanner returns at </stream:stream>.
var errStreamClosed = errors.New("the server closed the stream")

// maxElement bounds one top-level element, so that a runaway server
// cannot make the client buffer without end.
const maxElement = 4 << 20

// scanner cuts an XMPP stream into its top-level elements without parsing
// them into trees: it only finds where tags begin and end (attribute
// values may hold '>'), skips processing instructions and comments, keeps
// CDATA sections, and counts depth.
//
// It reads with ReadSlice('>'), so its buffer always ends at a '>' or at a
// full bufio buffer; since every element ends with a '>', nothing past the
// element returned has been read into it. That matters when the stream
// restarts over TLS after STARTTLS.
type scanner struct {
	r    *bufio.Reader
	buf  []byte
	open bool // the stream header has been read
}

func newScanner(r *bufio.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 0, 512)}
}

// element is one top-level element (or the stream header). Its bytes are
// valid until the next call of next.
type element struct {
	raw      []byte // the whole element
	start    []byte // its start tag
	header   bool   // the <stream:stream> start tag
	selfShut bool   // <x/>
}

// name returns the element's local name (without a prefix).
func (e element) name() []byte { return tagName(e.start) }

// restart expects a new stream header, after STARTTLS or SASL.
func (s *scanner) restart(r *bufio.Reader) {
	if r != nil {
		s.r = r
	}
	s.open = false
}

// fill appends the next chunk of input to buf.
func (s *scanner) fill() error {
	chunk, err := s.r.ReadSlice('>')
	s.buf = append(s.buf, chunk...)
	if errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	if err == nil && len(s.buf) > maxElement {
		return fmt.Errorf("an element is larger than %d bytes", maxElement)
	}
	return err
}

// next returns the next top-level element: first the stream header, then
// the stream's children. At </stream:stream> it returns errStreamClosed.
func (s *scanner) next() (element, error) {
	s.buf = s.buf[:0]
	i, depth, startEnd := 0, 0, 0
	for {
		for i >= len(s.buf) {
			if depth == 0 {
				// Nothing of an element yet: drop whitespace (keepalives).
				s.buf, i = s.buf[:0], 0
			}
			if err := s.fill(); err != nil {
				return element{}, err
			}
		}
		j := bytes.IndexByte(s.buf[i:], '<')
		if j < 0 {
			i = len(s.buf)
			continue
		}
		if depth == 0 && i+j > 0 {
			// Text between top-level elements: drop it.
			n := copy(s.buf, s.buf[i+j:])
			s.buf, i, j = s.buf[:n], 0, 0
		}
		t := i + j
		end, kind, err := s.tagEnd(t)
		if err != nil {
			return element{}, err
		}
		i = end
		switch kind {
		case tagSkip:
			n := copy(s.buf[t:], s.buf[end:])
			s.buf, i = s.buf[:t+n], t
		case tagText:
			// CDATA: text of the element.
		case tagClose:
			if depth == 0 {
				return element{}, errStreamClosed
			}
			depth--
			if depth == 0 {
				return element{raw: s.buf[:i], start: s.buf[:startEnd]}, nil
			}
		case tagOpen, tagEmpty:
			if !s.open {
				s.open = true
				return element{raw: s.buf[t:i], start: s.buf[t:i], header: true}, nil
			}
			if depth == 0 {
				startEnd = i
				if kind == tagEmpty {
					return element{raw: s.buf[:i], start: s.buf[:i], selfShut: true}, nil
				}
			}
			if kind == tagOpen {
				depth++
			}
		}
	}
}

// Kinds of markup.
const (
	tagOpen  = iota // <x ...>
	tagEmpty        // <x .../>
	tagClose        // </x>
	tagSkip         // <?...?> and <!--...--> and <!DOCTYPE>: dropped
	tagText         // <![CDATA[...]]>: kept
)

// need makes sure buf holds at least n bytes.
func (s *scanner) need(n int) error {
	for len(s.buf) < n {
		if err := s.fill(); err != nil {
			return err
		}
	}
	return nil
}

// find returns the index just past the first pat at or after from.
func (s *scanner) find(from int, pat string) (int, error) {
	for {
		if k := bytes.Index(s.buf[from:], []byte(pat)); k >= 0 {
			return from + k + len(pat), nil
		}
		if len(s.buf)-len(pat)+1 > from {
			from = len(s.buf) - len(pat) + 1
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}

// tagEnd finds the end of the markup that starts at buf[t] == '<'.
func (s *scanner) tagEnd(t int) (end, kind int, err error) {
	if err := s.need(t + 2); err != nil {
		return 0, 0, err
	}
	switch s.buf[t+1] {
	case '/':
		end, err = s.find(t+2, ">")
		return end, tagClose, err
	case '?':
		end, err = s.find(t+2, "?>")
		return end, tagSkip, err
	case '!':
		if err := s.need(t + 4); err != nil {
			return 0, 0, err
		}
		if string(s.buf[t+2:t+4]) == "--" {
			end, err = s.find(t+4, "-->")
			return end, tagSkip, err
		}
		if err := s.need(t + 9); err == nil && string(s.buf[t+2:t+9]) == "[CDATA[" {
			end, err = s.find(t+9, "]]>")
			return end, tagText, err
		}
		end, err = s.find(t+2, ">")
		return end, tagSkip, err
	}
	var quote byte
	for k := t + 1; ; k++ {
		for k >= len(s.buf) {
			if err := s.fill(); err != nil {
				return 0, 0, err
			}
		}
		switch c := s.buf[k]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if s.buf[k-1] == '/' {
				return k + 1, tagEmpty, nil
			}
			return k + 1, tagOpen, nil
		}
	}
}

// tagName is the local name of a start tag "<prefix:name ...>".
func tagName(start []byte) []byte {
	if len(start) < 2 {
		return nil
	}
	n := start[1:]
	for k, c := range n {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' || c == '>' {
			n = n[:k]
			break
		}
	}
	if k := bytes.IndexByte(n, ':'); k >= 0 {
		n = n[k+1:]
	}
	return n
}
