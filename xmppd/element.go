package xmppd

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Namespaces used across the package.
const (
	nsClient   = "jabber:client"
	nsStream   = "http://etherx.jabber.org/streams"
	nsStreams  = "urn:ietf:params:xml:ns:xmpp-streams"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsXML      = "http://www.w3.org/XML/1998/namespace"
	nsRoster   = "jabber:iq:roster"
	nsDiscoInf = "http://jabber.org/protocol/disco#info"
	nsDiscoIt  = "http://jabber.org/protocol/disco#items"
	nsPing     = "urn:xmpp:ping"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsVersion  = "jabber:iq:version"
	nsRosterV  = "urn:xmpp:features:rosterver"
	nsDelay    = "urn:xmpp:delay"
	nsChatSt   = "http://jabber.org/protocol/chatstates"
	nsVCard    = "vcard-temp"
	nsCSI      = "urn:xmpp:csi:0"
	nsCommands = "http://jabber.org/protocol/commands"
	nsReceipts = "urn:xmpp:receipts"       // XEP-0184
	nsMarkers  = "urn:xmpp:chat-markers:0" // XEP-0333
)

// Element is an XML element of a stanza, with its namespace resolved.
// Text and child elements keep their order (Nodes), so that mixed content
// such as XHTML-IM survives routing unchanged.
type Element struct {
	Space, Local string
	Attr         []xml.Attr
	Nodes        []Node
}

// Node is one piece of an element's content: a child element or text.
type Node struct {
	El   *Element
	Text string
}

// NewElement makes an element with attributes given as name, value pairs.
func NewElement(space, local string, attrs ...string) *Element {
	e := &Element{Space: space, Local: local}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] != "" {
			e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
		}
	}
	return e
}

// Get returns the value of an attribute without namespace.
func (e *Element) Get(name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// Set sets (or with value "", removes) an attribute without namespace.
func (e *Element) Set(name, value string) {
	for i, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			if value == "" {
				e.Attr = append(e.Attr[:i], e.Attr[i+1:]...)
			} else {
				e.Attr[i].Value = value
			}
			return
		}
	}
	if value != "" {
		e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: name}, Value: value})
	}
}

// Lang returns xml:lang.
func (e *Element) Lang() string {
	for _, a := range e.Attr {
		if a.Name.Local == "lang" && a.Name.Space == nsXML {
			return a.Value
		}
	}
	return ""
}

// Child returns the first child element with the name, or nil. An empty
// space matches any namespace.
func (e *Element) Child(space, local string) *Element {
	for _, n := range e.Nodes {
		if n.El != nil && n.El.Local == local && (space == "" || n.El.Space == space) {
			return n.El
		}
	}
	return nil
}

// FirstChild returns the first child element, or nil.
func (e *Element) FirstChild() *Element {
	for _, n := range e.Nodes {
		if n.El != nil {
			return n.El
		}
	}
	return nil
}

// Children returns the child elements.
func (e *Element) Children() []*Element {
	var out []*Element
	for _, n := range e.Nodes {
		if n.El != nil {
			out = append(out, n.El)
		}
	}
	return out
}

// Text returns the element's own text (not that of its children).
func (e *Element) Text() string {
	if len(e.Nodes) == 1 {
		return e.Nodes[0].Text
	}
	var b strings.Builder
	for _, n := range e.Nodes {
		b.WriteString(n.Text)
	}
	return b.String()
}

// ChildText returns the text of the first child with that name.
func (e *Element) ChildText(space, local string) string {
	if c := e.Child(space, local); c != nil {
		return c.Text()
	}
	return ""
}

// Add appends child elements and returns e.
func (e *Element) Add(children ...*Element) *Element {
	for _, c := range children {
		e.Nodes = append(e.Nodes, Node{El: c})
	}
	return e
}

// AddText appends text and returns e.
func (e *Element) AddText(s string) *Element {
	if s != "" {
		e.Nodes = append(e.Nodes, Node{Text: s})
	}
	return e
}

// RemoveChildren removes child elements for which drop returns true.
func (e *Element) RemoveChildren(drop func(*Element) bool) {
	out := e.Nodes[:0]
	for _, n := range e.Nodes {
		if n.El == nil || !drop(n.El) {
			out = append(out, n)
		}
	}
	e.Nodes = out
}

// Copy returns a deep copy of e.
func (e *Element) Copy() *Element {
	c := &Element{Space: e.Space, Local: e.Local, Attr: append([]xml.Attr(nil), e.Attr...)}
	if len(e.Nodes) > 0 {
		c.Nodes = make([]Node, len(e.Nodes))
		for i, n := range e.Nodes {
			c.Nodes[i] = n
			if n.El != nil {
				c.Nodes[i].El = n.El.Copy()
			}
		}
	}
	return c
}

// errTooDeep is returned when a stanza nests deeper than allowed.
var errTooDeep = errors.New("xmppd: element nesting too deep")

// readElement reads the rest of the element that start opened.
func readElement(r xml.TokenReader, start xml.StartElement, maxDepth int) (*Element, error) {
	root := fromStart(start)
	stack := []*Element{root}
	for len(stack) > 0 {
		tok, err := r.Token()
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errTooDeep
			}
			child := fromStart(t)
			top.Nodes = append(top.Nodes, Node{El: child})
			stack = append(stack, child)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if n := len(top.Nodes); n > 0 && top.Nodes[n-1].El == nil {
				top.Nodes[n-1].Text += string(t)
			} else {
				top.Nodes = append(top.Nodes, Node{Text: string(t)})
			}
		}
	}
	return root, nil
}

// fromStart converts a start tag, dropping namespace declarations (they
// are written anew on output).
func fromStart(t xml.StartElement) *Element {
	e := &Element{Space: t.Name.Space, Local: t.Name.Local}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			continue
		}
		e.Attr = append(e.Attr, a)
	}
	return e
}

// Bytes serializes e as a top-level element of a jabber:client stream.
func (e *Element) Bytes() []byte {
	return e.AppendXML(make([]byte, 0, 256), nsClient)
}

// String serializes e like Bytes.
func (e *Element) String() string { return string(e.Bytes()) }

// AppendXML appends e to b; parentNS is the default namespace in scope.
func (e *Element) AppendXML(b []byte, parentNS string) []byte {
	b = append(b, '<')
	b = append(b, e.Local...)
	if e.Space != parentNS {
		b = append(b, " xmlns='"...)
		b = appendEscaped(b, e.Space, true)
		b = append(b, '\'')
	}
	prefixes := 0
	for _, a := range e.Attr {
		b = append(b, ' ')
		switch a.Name.Space {
		case "":
		case nsXML:
			b = append(b, "xml:"...)
		default:
			p := "a" + strconv.Itoa(prefixes)
			prefixes++
			b = append(b, "xmlns:"+p+"='"...)
			b = appendEscaped(b, a.Name.Space, true)
			b = append(b, "' "+p+":"...)
		}
		b = append(b, a.Name.Local...)
		b = append(b, "='"...)
		b = appendEscaped(b, a.Value, true)
		b = append(b, '\'')
	}
	if len(e.Nodes) == 0 {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	for _, n := range e.Nodes {
		if n.El != nil {
			b = n.El.AppendXML(b, e.Space)
		} else {
			b = appendEscaped(b, n.Text, false)
		}
	}
	b = append(b, "</"...)
	b = append(b, e.Local...)
	return append(b, '>')
}

// appendEscaped appends s with XML special characters escaped; characters
// not allowed in XML 1.0 are replaced with U+FFFD.
func appendEscaped(b []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		width := 1
		switch {
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '&':
			esc = "&amp;"
		case c == '\'' && attr:
			esc = "&apos;"
		case c == '"' && attr:
			esc = "&quot;"
		case (c == '\n' || c == '\r' || c == '\t') && attr:
			esc = "&#" + strconv.Itoa(int(c)) + ";"
		case c == '\r':
			esc = "&#13;"
		case c < 0x20 && c != '\n' && c != '\t':
			esc = "\uFFFD"
		case c >= utf8.RuneSelf:
			r, w := utf8.DecodeRuneInString(s[i:])
			width = w
			if r == utf8.RuneError && w == 1 || r == 0xFFFE || r == 0xFFFF {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			last = i + width
		}
		i += width
	}
	return append(b, s[last:]...)
}
