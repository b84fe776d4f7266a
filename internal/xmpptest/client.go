// Package xmpptest is an XMPP test client on mellium.im/xmpp: it signs in
// over real TCP and TLS, records every stanza it receives and lets tests
// wait for the one they expect. Tests poll for conditions through Expect;
// they never sleep and hope.
package xmpptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// Timeout is how long Expect waits by default.
const Timeout = 10 * time.Second

// Node is a received element, decoded generically.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []Node     `xml:",any"`
	// Received is when the client read the stanza (top level only).
	Received time.Time `xml:"-"`
}

// Attr returns an attribute's value.
func (n Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Child returns the first child with that local name (any namespace).
func (n Node) Child(local string) (Node, bool) {
	for _, c := range n.Nodes {
		if c.XMLName.Local == local {
			return c, true
		}
	}
	return Node{}, false
}

// Find follows a path of local names ("query/item") and returns every
// match.
func (n Node) Find(path string) []Node {
	cur := []Node{n}
	for _, name := range strings.Split(path, "/") {
		var next []Node
		for _, c := range cur {
			for _, cc := range c.Nodes {
				if cc.XMLName.Local == name {
					next = append(next, cc)
				}
			}
		}
		cur = next
	}
	return cur
}

// Body returns the text of <body/>.
func (n Node) Body() string {
	b, _ := n.Child("body")
	return b.Text
}

// Options of a sign-in.
type Options struct {
	DirectTLS bool           // TLS from the first byte instead of STARTTLS
	Mechanism sasl.Mechanism // default SCRAM-SHA-256
	RootCAs   *x509.CertPool // nil: skip certificate verification
	Domain    string         // TLS server name; default the JID's domain
	// ResumeID, when set, resumes that stream (XEP-0198) instead of binding
	// a resource; ResumeH is what the client acknowledges. Dial fails if
	// the server refuses, unless BindIfNotResumed: then the client binds
	// the JID's resource (or one the server makes up) on the same stream,
	// as XEP-0198 §5 lets it, and Client.NotResumed says why.
	ResumeID         string
	ResumeH          uint32
	BindIfNotResumed bool
	// LocalAddr is the address to connect from (such as 127.0.0.2), for
	// tests of per-address limits; "" lets the system choose.
	LocalAddr string
	// Silent signs in and then never reads again, like a client whose
	// network went away without a word: nothing is received or answered.
	Silent bool
}

// Client is a signed-in test client.
type Client struct {
	t   testing.TB
	S   *xmpp.Session
	JID jid.JID
	// Raw is the TCP connection under TLS (STARTTLS clients only): closing
	// it cuts the connection without closing the stream.
	Raw net.Conn
	// NotResumed is the condition of the <failed/> that refused a
	// resumption (Options.BindIfNotResumed), such as "item-not-found".
	NotResumed string

	mu       sync.Mutex
	smOn     bool   // stream management enabled: count handled stanzas
	handled  uint32 // stanzas received since <enabled/> (XEP-0198 h)
	received []Node
	next     int // first stanza not yet taken by Expect
	changed  chan struct{}
	done     chan struct{}
	err      error
	resume   chan struct{} // not nil while paused: closed by Resume
}

// Pause stops reading from the server (after the stanza being read), like
// a client that does not keep up; Resume reads on.
func (c *Client) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resume == nil {
		c.resume = make(chan struct{})
	}
}

// Resume reads on after Pause.
func (c *Client) Resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resume != nil {
		close(c.resume)
		c.resume = nil
	}
}

// Dial signs in as account (a full or bare JID) with password on addr.
func Dial(ctx context.Context, addr, account, password string, o Options) (*Client, error) {
	j, err := jid.Parse(account)
	if err != nil {
		return nil, err
	}
	if o.Mechanism.Name == "" {
		o.Mechanism = sasl.ScramSha256
	}
	if o.Domain == "" {
		o.Domain = j.Domainpart()
	}
	tc := &tls.Config{ServerName: o.Domain, RootCAs: o.RootCAs, InsecureSkipVerify: o.RootCAs == nil, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	d := net.Dialer{Timeout: 5 * time.Second}
	if o.LocalAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.LocalAddr)}
	}
	if o.DirectTLS {
		conn, err = tls.DialWithDialer(&d, "tcp", addr, tc)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	bind := xmpp.BindResource()
	if j.Resourcepart() != "" {
		bind = bindResource(j.Resourcepart())
	}
	var notResumed string
	if o.ResumeID != "" {
		var orBind *xmpp.StreamFeature
		if o.BindIfNotResumed {
			b := bind
			orBind = &b
		}
		bind = resumeFeature(o.ResumeID, o.ResumeH, orBind, &notResumed)
	}
	features := []xmpp.StreamFeature{xmpp.SASL("", password, o.Mechanism), bind}
	if !o.DirectTLS {
		features = append([]xmpp.StreamFeature{xmpp.StartTLS(tc)}, features...)
	}
	s, err := xmpp.NewClientSession(ctx, j, conn, features...)
	if err != nil {
		_ = conn.Close() // the session's error is the one to report
		return nil, err
	}
	c := &Client{S: s, JID: s.LocalAddr(), NotResumed: notResumed, changed: make(chan struct{}), done: make(chan struct{})}
	if !o.DirectTLS {
		c.Raw = conn
	}
	if !o.Silent {
		go c.serve()
	}
	return c, nil
}

// MustDial is Dial that fails the test on error and closes the client at
// the end of the test.
func MustDial(t testing.TB, addr, account, password string, o Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := Dial(ctx, addr, account, password, o)
	if err != nil {
		t.Fatalf("sign in as %s: %v", account, err)
	}
	c.t = t
	t.Cleanup(func() { c.Close() })
	return c
}

func (c *Client) serve() {
	err := c.S.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		// The decoder must see the start tag itself, or it takes the end
		// tag for an unbalanced one.
		d := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), r))
		tok, err := d.Token()
		if err != nil {
			return err
		}
		st := tok.(xml.StartElement)
		var n Node
		if err := d.DecodeElement(&n, &st); err != nil {
			return err
		}
		n.Received = time.Now()
		c.mu.Lock()
		for c.resume != nil {
			wait := c.resume
			c.mu.Unlock()
			<-wait
			c.mu.Lock()
		}
		switch n.XMLName.Local {
		case "enabled":
			c.smOn, c.handled = true, 0
		case "message", "presence", "iq":
			if c.smOn {
				c.handled++
			}
		}
		c.received = append(c.received, n)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		if n.XMLName.Local == "iq" && (n.Attr("type") == "set" || n.Attr("type") == "get") {
			// Acknowledge pushes and pings like a real client.
			if _, ok := n.Child("query"); ok || n.Attr("type") == "get" {
				return xmlEncode(r, `<iq type='result' id='`+xmlEscape(n.Attr("id"))+`'/>`)
			}
		}
		return nil
	}))
	c.mu.Lock()
	c.err = err
	close(c.done)
	c.mu.Unlock()
}

func xmlEncode(w xmlstream.TokenWriter, raw string) error {
	d := xml.NewDecoder(strings.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil
		}
		if err := w.EncodeToken(xml.CopyToken(tok)); err != nil {
			return err
		}
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // into a strings.Builder: it cannot fail
	return b.String()
}

// Handled is the number of stanzas received since stream management was
// enabled: the h this client would acknowledge.
func (c *Client) Handled() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handled
}

// Send sends raw XML (one stanza).
func (c *Client) Send(raw string) {
	if c.t != nil {
		c.t.Helper()
	}
	// No deadline: mellium sets a past write deadline on the connection
	// when the context ends, which can hit a write already under way.
	if err := c.S.Send(context.Background(), xml.NewDecoder(strings.NewReader(raw))); err != nil && c.t != nil {
		c.t.Fatalf("%s: send %s: %v", c.JID, raw, err)
	}
}

// SendRaw writes bytes as they are to the stream (TLS included), for
// tests of what a misbehaving client sends.
func (c *Client) SendRaw(raw string) {
	if c.t != nil {
		c.t.Helper()
	}
	if _, err := c.S.Conn().Write([]byte(raw)); err != nil && c.t != nil {
		c.t.Fatalf("%s: send raw %q: %v", c.JID, raw, err)
	}
}

// Expect waits for a received stanza (not yet taken) that match accepts,
// takes it and returns it; the test fails after Timeout.
func (c *Client) Expect(what string, match func(Node) bool) Node {
	c.t.Helper()
	n, ok := c.Wait(Timeout, match)
	if !ok {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		c.t.Fatalf("%s: no %s within %v (stream error: %v); received:\n%s", c.JID, what, Timeout, err, c.Dump())
	}
	return n
}

// Wait is Expect without failing: ok is false after timeout.
func (c *Client) Wait(timeout time.Duration, match func(Node) bool) (Node, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for closed := false; ; {
		c.mu.Lock()
		for i := c.next; i < len(c.received); i++ {
			if match(c.received[i]) {
				n := c.received[i]
				c.received = append(c.received[:i:i], c.received[i+1:]...)
				c.mu.Unlock()
				return n, true
			}
		}
		ch, done := c.changed, c.done
		c.mu.Unlock()
		if closed {
			return Node{}, false // the stream is over; what came is all there is
		}
		select {
		case <-ch:
		case <-done:
			closed = true
		case <-deadline.C:
			return Node{}, false
		}
	}
}

// Closed waits until the server ended the stream and returns Serve's error.
func (c *Client) Closed(timeout time.Duration) (error, bool) {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	select {
	case <-done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Dump lists everything received and not yet taken, for failure messages.
func (c *Client) Dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, n := range c.received[c.next:] {
		out, _ := xml.Marshal(n)
		b.Write(out)
		b.WriteByte('\n')
	}
	return b.String()
}

// Close ends the session.
func (c *Client) Close() {
	// A test's client going away: a failed close leaves nothing to do.
	_ = c.S.Close()
	_ = c.S.Conn().Close()
}

// Matchers.

// Message matches a message from (bare or full JID prefix) whose body
// contains text.
func Message(from, text string) func(Node) bool {
	return func(n Node) bool {
		return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), from) && strings.Contains(n.Body(), text)
	}
}

// Presence matches a presence from (prefix) of the type ("" = available).
func Presence(from, typ string) func(Node) bool {
	return func(n Node) bool {
		return n.XMLName.Local == "presence" && strings.HasPrefix(n.Attr("from"), from) && n.Attr("type") == typ
	}
}

// IQ matches the response to the IQ with that id.
func IQ(id string) func(Node) bool {
	return func(n Node) bool { return n.XMLName.Local == "iq" && n.Attr("id") == id }
}

// bindResource is the client side of resource binding (RFC 6120 §7) that
// asks for a particular resource.
func bindResource(resource string) xmpp.StreamFeature {
	f := xmpp.BindResource()
	f.Negotiate = func(ctx context.Context, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
		w := s.TokenWriter()
		req := `<iq type='set' id='bind-1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` +
			xmlEscape(resource) + `</resource></bind></iq>`
		err := xmlEncode(w, req)
		if err == nil {
			err = w.Flush()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, nil, err
		}
		r := s.TokenReader()
		defer func() { _ = r.Close() }() // done reading: closing loses nothing
		d := xml.NewTokenDecoder(r)
		var resp struct {
			Type string `xml:"type,attr"`
			Bind struct {
				JID string `xml:"jid"`
			} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
			Error *Node `xml:"error"`
		}
		for {
			tok, err := d.Token()
			if err != nil {
				return 0, nil, err
			}
			if start, ok := tok.(xml.StartElement); ok {
				if err := d.DecodeElement(&resp, &start); err != nil {
					return 0, nil, err
				}
				break
			}
		}
		if resp.Type != "result" {
			return 0, nil, fmt.Errorf("resource binding failed: %+v", resp.Error)
		}
		j, err := jid.Parse(resp.Bind.JID)
		if err != nil {
			return 0, nil, err
		}
		s.UpdateAddr(j)
		return xmpp.Ready, nil, nil
	}
	return f
}

// resumeFeature is the client side of a stream resumption (XEP-0198 §5),
// negotiated in place of resource binding. When the server refuses, the
// condition goes to *failed and, with orBind, the client binds instead.
func resumeFeature(id string, h uint32, orBind *xmpp.StreamFeature, failed *string) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name: xml.Name{Space: "urn:xmpp:sm:3", Local: "sm"},
		// Required, or mellium's negotiator would carry on past a failure.
		Parse: func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			return true, nil, d.Skip()
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			w := s.TokenWriter()
			err := xmlEncode(w, fmt.Sprintf("<resume xmlns='urn:xmpp:sm:3' previd='%s' h='%d'/>", xmlEscape(id), h))
			if err == nil {
				err = w.Flush()
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return 0, nil, err
			}
			r := s.TokenReader()
			defer func() { _ = r.Close() }() // done reading: closing loses nothing
			d := xml.NewTokenDecoder(r)
			for {
				tok, err := d.Token()
				if err != nil {
					return 0, nil, err
				}
				if start, ok := tok.(xml.StartElement); ok {
					var n Node
					if err := d.DecodeElement(&n, &start); err != nil {
						return 0, nil, err
					}
					if start.Name.Local == "resumed" {
						return xmpp.Ready, nil, nil
					}
					if len(n.Nodes) > 0 {
						*failed = n.Nodes[0].XMLName.Local
					}
					if start.Name.Local != "failed" || orBind == nil {
						return 0, nil, fmt.Errorf("resumption refused: <%s/> (%s)", start.Name.Local, *failed)
					}
					_ = r.Close() // done reading the answer: closing loses nothing
					return orBind.Negotiate(ctx, s, nil)
				}
			}
		},
	}
}
