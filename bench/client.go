package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"mellium.im/sasl"
)

// Namespaces the client speaks.
const (
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// dialer signs clients in.
type dialer struct {
	directTLS bool
	domain    string
	tls       *tls.Config
	mechanism sasl.Mechanism
	timeout   time.Duration // the whole negotiation
	resource  string
}

// Client is one signed-in session. Writes go through a buffered writer
// under a mutex; one goroutine (started by start) reads.
type Client struct {
	JID  string // the bound full JID
	Bare string // the account's bare JID

	conn net.Conn // TLS
	sc   *scanner
	wmu  sync.Mutex
	w    *bufio.Writer

	done chan struct{}
	err  error // why reading ended; set before done is closed
}

// Handler receives the stanzas a client reads, on its reading goroutine.
type Handler func(c *Client, st *Stanza)

// dial connects to server (host:port), secures the stream, authenticates
// as account (a bare JID) and binds a resource. Nothing is read after
// binding until start.
func (d *dialer) dial(ctx context.Context, server, account, password string) (*Client, error) {
	local, _, _ := strings.Cut(account, "@")
	nd := net.Dialer{Timeout: d.timeout}
	raw, err := nd.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	// The negotiation as a whole is bounded by a deadline on the TCP
	// connection, cleared once the session is bound.
	// SetDeadline fails only on a closed connection, which the
	// negotiation reports; a connection given up on is closed without a
	// word, its failure being reported already.
	_ = raw.SetDeadline(time.Now().Add(d.timeout))
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	c := &Client{Bare: account, done: make(chan struct{})}
	if err := c.negotiate(d, raw, local, password); err != nil {
		_ = raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if !stop() {
		_ = raw.Close()
		return nil, ctx.Err()
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) negotiate(d *dialer, raw net.Conn, local, password string) error {
	var conn net.Conn = raw
	if d.directTLS {
		tc := tls.Client(raw, d.tls)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	c.setConn(conn)
	features, err := c.openStream(d.domain)
	if err != nil {
		return err
	}
	if !d.directTLS {
		if !bytes.Contains(features, []byte("<starttls")) {
			return errors.New("the server does not offer STARTTLS")
		}
		if err := c.write("<starttls xmlns='" + nsTLS + "'/>"); err != nil {
			return err
		}
		el, err := c.expect()
		if err != nil {
			return err
		}
		if string(el.name()) != "proceed" {
			return fmt.Errorf("STARTTLS refused: <%s/>", el.name())
		}
		tc := tls.Client(raw, d.tls)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		c.setConn(tc)
		if features, err = c.openStream(d.domain); err != nil {
			return err
		}
	}
	if err := c.authenticate(d.mechanism, features, local, password); err != nil {
		return err
	}
	c.sc.restart(nil)
	if features, err = c.openStream(d.domain); err != nil {
		return err
	}
	if !bytes.Contains(features, []byte("<bind")) {
		return errors.New("the server does not offer resource binding")
	}
	res := ""
	if d.resource != "" {
		res = "<resource>" + escape(d.resource) + "</resource>"
	}
	if err := c.write("<iq type='set' id='bind1'><bind xmlns='" + nsBind + "'>" + res + "</bind></iq>"); err != nil {
		return err
	}
	el, err := c.expectIQ("bind1")
	if err != nil {
		return err
	}
	if t := string(attr(el.start, "type")); t != "result" {
		return fmt.Errorf("resource binding failed: %s", stanzaErrorText(el.raw))
	}
	jid := children(el.raw, "jid")
	if len(jid) == 0 {
		return errors.New("resource binding: no JID in the result")
	}
	c.JID = jid[0]
	c.Bare = string(bare([]byte(c.JID)))
	// RFC 3921 sessions, for servers that still insist on them.
	if i := bytes.Index(features, []byte(nsSession)); i >= 0 && !bytes.Contains(features[i:], []byte("<optional")) {
		if err := c.write("<iq type='set' id='sess1'><session xmlns='" + nsSession + "'/></iq>"); err != nil {
			return err
		}
		el, err := c.expectIQ("sess1")
		if err != nil {
			return err
		}
		if t := string(attr(el.start, "type")); t != "result" {
			return fmt.Errorf("session establishment failed: %s", stanzaErrorText(el.raw))
		}
	}
	return nil
}

// setConn reads and writes through conn from now on.
func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	br := bufio.NewReaderSize(conn, 4096)
	if c.sc == nil {
		c.sc = newScanner(br)
	} else {
		c.sc.restart(br)
	}
	c.w = bufio.NewWriterSize(conn, 2048)
}

// openStream sends a stream header and returns the features the server
// announces.
func (c *Client) openStream(domain string) ([]byte, error) {
	err := c.write("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" +
		escape(domain) + "' version='1.0'>")
	if err != nil {
		return nil, err
	}
	el, err := c.sc.next()
	if err != nil {
		return nil, readError(err)
	}
	if !el.header || string(el.name()) != "stream" {
		return nil, fmt.Errorf("expected a stream header, got <%s>", el.name())
	}
	el, err = c.expect()
	if err != nil {
		return nil, err
	}
	if string(el.name()) != "features" {
		return nil, fmt.Errorf("expected stream features, got <%s>", el.name())
	}
	return bytes.Clone(el.raw), nil
}

// expect reads the next element; a stream error is returned as an error.
func (c *Client) expect() (element, error) {
	el, err := c.sc.next()
	if err != nil {
		return el, readError(err)
	}
	if string(el.name()) == "error" && bytes.HasPrefix(el.start, []byte("<stream:")) {
		return el, fmt.Errorf("stream error: %s", streamErrorText(el.raw))
	}
	return el, nil
}

// expectIQ reads until the IQ with that id, skipping anything else.
func (c *Client) expectIQ(id string) (element, error) {
	for {
		el, err := c.expect()
		if err != nil {
			return el, err
		}
		if string(el.name()) == "iq" && string(attr(el.start, "id")) == id {
			return el, nil
		}
	}
}

// authenticate runs SASL with mech (RFC 6120 §6).
func (c *Client) authenticate(mech sasl.Mechanism, features []byte, local, password string) error {
	offered := children(features, "mechanism")
	found := false
	for _, m := range offered {
		found = found || m == mech.Name
	}
	if !found {
		return fmt.Errorf("the server does not offer SASL %s (it offers %s)", mech.Name, strings.Join(offered, ", "))
	}
	neg := sasl.NewClient(mech,
		sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(local), []byte(password), nil }),
		sasl.RemoteMechanisms(offered...))
	more, resp, err := neg.Step(nil)
	if err != nil {
		return fmt.Errorf("SASL: %w", err)
	}
	if err := c.write("<auth xmlns='" + nsSASL + "' mechanism='" + mech.Name + "'>" + encode64(resp) + "</auth>"); err != nil {
		return err
	}
	for {
		el, err := c.expect()
		if err != nil {
			return err
		}
		var data []byte
		name := string(el.name())
		switch name {
		case "challenge", "success":
			text := el.raw[len(el.start):]
			if i := bytes.LastIndexByte(text, '<'); i >= 0 {
				text = text[:i]
			}
			if text = bytes.TrimSpace(text); string(text) != "=" {
				data, err = base64.StdEncoding.DecodeString(string(text))
			}
			if err != nil {
				return fmt.Errorf("SASL: bad base64 in <%s/>", name)
			}
		case "failure":
			return fmt.Errorf("SASL %s: %s", mech.Name, streamErrorText(el.raw))
		default:
			return fmt.Errorf("SASL: unexpected <%s/>", name)
		}
		if name == "success" {
			if more && len(data) > 0 {
				// SCRAM: the server's final message proves it knew the key.
				if _, _, err := neg.Step(data); err != nil {
					return fmt.Errorf("SASL %s: the server's signature: %w", mech.Name, err)
				}
			}
			return nil
		}
		if more, resp, err = neg.Step(data); err != nil {
			return fmt.Errorf("SASL: %w", err)
		}
		if err := c.write("<response xmlns='" + nsSASL + "'>" + encode64(resp) + "</response>"); err != nil {
			return err
		}
	}
}

func encode64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

// readError says what a failed read means.
func readError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the server closed the connection")
	}
	return err
}

// children returns the texts of every <name>…</name> in raw.
func children(raw []byte, name string) []string {
	var out []string
	open, shut := []byte("<"+name+">"), []byte("</"+name+">")
	for {
		i := bytes.Index(raw, open)
		if i < 0 {
			return out
		}
		raw = raw[i+len(open):]
		j := bytes.Index(raw, shut)
		if j < 0 {
			return out
		}
		out = append(out, string(unescape(raw[:j])))
		raw = raw[j+len(shut):]
	}
}

// streamErrorText names the condition of a stream error or SASL failure,
// with its text if any: "not-authorized (bad password)".
func streamErrorText(raw []byte) string {
	inner := raw
	if i := bytes.IndexByte(inner, '>'); i >= 0 {
		inner = inner[i+1:]
	}
	cond := ""
	for len(inner) > 0 {
		i := bytes.IndexByte(inner, '<')
		if i < 0 || i+1 >= len(inner) || inner[i+1] == '/' {
			break
		}
		n := string(tagName(inner[i:]))
		inner = inner[i+1:]
		if n != "text" {
			cond = n
			break
		}
	}
	if cond == "" {
		cond = "unknown condition"
	}
	if t := children(raw, "text"); len(t) > 0 && t[0] != "" {
		return cond + " (" + t[0] + ")"
	}
	if i := bytes.Index(raw, []byte("<text ")); i >= 0 {
		rest := raw[i:]
		if j := bytes.IndexByte(rest, '>'); j >= 0 {
			if k := bytes.Index(rest, []byte("</text>")); k > j {
				return cond + " (" + string(unescape(rest[j+1:k])) + ")"
			}
		}
	}
	return cond
}

// stanzaErrorText names the condition of a stanza's <error/>.
func stanzaErrorText(raw []byte) string {
	i := bytes.Index(raw, []byte("<error"))
	if i < 0 {
		return "no error given"
	}
	return streamErrorText(raw[i:])
}

// write sends raw XML and flushes it.
func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.WriteString(s); err != nil {
		return err
	}
	return c.w.Flush()
}

// Send sends one stanza (raw XML) and flushes it.
func (c *Client) Send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	return c.w.Flush()
}

// start reads stanzas on a new goroutine and hands them to h; IQ requests
// (pings, roster pushes) are answered first. onEnd is called when reading
// ends.
func (c *Client) start(clk *clock, h Handler, onEnd func(*Client, error)) {
	go func() {
		var err error
		var st Stanza
		for {
			var el element
			el, err = c.sc.next()
			if err != nil {
				break
			}
			st = Stanza{Raw: el.raw, Start: el.start, At: clk.now()}
			switch name := el.name(); string(name) {
			case "message":
				st.Name = "message"
			case "presence":
				st.Name = "presence"
			case "iq":
				st.Name = "iq"
				c.answerIQ(el)
			case "error":
				err = fmt.Errorf("stream error: %s", streamErrorText(el.raw))
			default:
				st.Name = string(name)
			}
			if err != nil {
				break
			}
			if h != nil {
				h(c, &st)
			}
		}
		c.err = readError(err)
		close(c.done)
		if onEnd != nil {
			onEnd(c, c.err)
		}
	}()
}

// answerIQ answers requests like a client that supports little: pings
// (XEP-0199) and roster pushes get a result, anything else
// service-unavailable (RFC 6120 §8.4).
func (c *Client) answerIQ(el element) {
	typ := string(attr(el.start, "type"))
	if typ != "get" && typ != "set" {
		return
	}
	id := escape(string(attr(el.start, "id")))
	to := ""
	if from := attr(el.start, "from"); len(from) > 0 {
		to = " to='" + escape(string(from)) + "'"
	}
	// A failed answer breaks the connection, which the reader reports.
	if bytes.Contains(el.raw, []byte("urn:xmpp:ping")) || typ == "set" && bytes.Contains(el.raw, []byte("jabber:iq:roster")) {
		_ = c.write("<iq type='result' id='" + id + "'" + to + "/>")
		return
	}
	_ = c.write("<iq type='error' id='" + id + "'" + to + "><error type='cancel'><service-unavailable xmlns='" + nsStanzas + "'/></error></iq>")
}

// Done is closed when the client stopped reading; Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why reading ended (valid after Done).
func (c *Client) Err() error { return c.err }

// Close ends the stream and closes the connection. A writer blocked on a
// server that does not read is released by the write deadline.
func (c *Client) Close() {
	// The client is done: a stream end that cannot be sent, or a failed
	// close, leaves nothing to do.
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.write("</stream:stream>")
	_ = c.conn.Close()
}
