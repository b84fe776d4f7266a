package xmppd

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/stream"

	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

const (
	nsTLS  = "urn:ietf:params:xml:ns:xmpp-tls"
	nsBind = "urn:ietf:params:xml:ns:xmpp-bind"
)

// conn is one client connection, from accept to close.
type conn struct {
	srv *Server
	id  uint64
	raw net.Conn   // the TCP connection
	nc  *limitConn // what the XML stream reads and writes (TLS once secure)
	lim *readLimit
	ip  string // the client's address
	key string // the client's address key (limit.Key): what per-address limits count
	log *slog.Logger

	// headerSent: our stream header for the current stream is out, so a
	// stream error needs none in front of it.
	headerSent bool
	pending    store.Agent // the agent a SASL exchange is about, until it succeeds
	agent      store.Agent // the signed-in agent
	resource   string      // the bound resource
	resumed    *session    // the session a stream resumption takes over
	resumeH    uint32      // what the resuming client acknowledged

	mu      sync.Mutex
	session *session // set once negotiation is done
	stopped *streamError
}

// handle negotiates a new connection's stream. A negotiated session then
// runs on a goroutine of its own: the negotiation's stack (TLS handshake,
// SASL) ends with this one, and an idle session's goroutine holds so
// little that the runtime shrinks its stack to the minimum.
func (srv *Server) handle(raw net.Conn, directTLS bool) {
	c := srv.admit(raw)
	if c == nil {
		return
	}
	if !c.negotiate(directTLS) {
		c.release()
		return
	}
	go func() {
		defer c.release()
		c.serveSession()
	}()
}

// admit registers a new connection, or refuses it (closed, nil) when its
// address has too many.
func (srv *Server) admit(raw net.Conn) *conn {
	ip, _, _ := net.SplitHostPort(raw.RemoteAddr().String())
	c := &conn{srv: srv, id: srv.nextID.Add(1), raw: raw, lim: &readLimit{}, ip: ip, key: limit.KeyOf(ip)}
	c.log = srv.log.With("conn", c.id)
	if !srv.ipConns.Acquire(c.key) {
		c.log.Warn("too many connections from one address; refused", "remote", ip)
		_ = raw.Close() // a failed close loses nothing
		srv.connWG.Done()
		return nil
	}
	srv.mu.Lock()
	srv.conns[c] = struct{}{}
	srv.mu.Unlock()
	srv.metrics.connections.Add(1)
	return c
}

// release undoes admit once the connection is over.
func (c *conn) release() {
	srv := c.srv
	_ = c.raw.Close() // a failed close loses nothing
	srv.mu.Lock()
	delete(srv.conns, c)
	srv.mu.Unlock()
	srv.metrics.connections.Add(-1)
	srv.ipConns.Release(c.key)
	srv.connWG.Done()
}

// negotiate runs TLS, SASL and resource binding (or a stream resumption);
// it reports whether a session may start.
func (c *conn) negotiate(directTLS bool) bool {
	srv, raw := c.srv, c.raw
	c.lim.reset(srv.limits.StanzaSizePreAuth)
	c.lim.negotiating.Store(true)
	// The whole negotiation (TLS, SASL, binding) must fit in AuthTimeout.
	// The connection's deadline enforces it: a context deadline would not,
	// as mellium clears the connection's deadline when its context ends.
	_ = raw.SetDeadline(time.Now().Add(srv.limits.AuthTimeout)) // fails only on a closed connection, which the negotiation reports
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var state xmpp.SessionState
	var base net.Conn = raw
	if directTLS {
		tc := tls.Server(raw, srv.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.log.Debug("TLS handshake failed", "remote", c.ip, "err", err)
			return false
		}
		base, state = tc, xmpp.Secure
	}
	c.nc = &limitConn{Conn: base, lim: c.lim}
	c.log.Debug("connected", "remote", c.ip, "direct_tls", directTLS)
	// Mellium's session is only needed to negotiate: the stanzas that
	// follow are read from c.nc directly (see streamReader).
	if _, err := xmpp.ReceiveSession(ctx, c.nc, state, c.negotiator()); err != nil {
		c.failNegotiation(err)
		return false
	}
	_ = raw.SetDeadline(time.Time{}) // fails only on a closed connection, which the read loop reports
	c.lim.negotiating.Store(false)
	return true
}

// failNegotiation reports a failed negotiation to the client if it can.
func (c *conn) failNegotiation(err error) {
	var ms stream.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, os.ErrDeadlineExceeded):
		err = streamError{"connection-timeout", "sign-in took too long"}
	case errors.As(err, &ms):
		// Raised by mellium's negotiator: ours to send.
		err = streamError{Cond: ms.Err}
	}
	c.log.Info("stream negotiation failed", "remote", c.ip, "err", err)
	if se, ok := streamErrorFor(err); ok {
		// RFC 6120 §4.9.1.2: a stream error goes after our stream header,
		// then the stream is closed.
		var b []byte
		if !c.headerSent {
			b = ourStreamHeader(c.srv.domain)
		}
		b = append(append(b, se.bytes()...), "</stream:stream>"...)
		// The connection ends either way: a stream error that cannot be
		// sent has nobody to read it.
		_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.nc.Write(b)
	}
}

// negotiator negotiates STARTTLS, SASL and resource binding (or a stream
// resumption). Other features are listed for information only. Each
// stream header the client sends is read and checked first (header.go).
func (c *conn) negotiator() xmpp.Negotiator {
	features := []xmpp.StreamFeature{
		c.startTLSFeature(),
		c.saslFeature(),
		c.smFeature(),
		c.bindFeature(),
		infoFeature(nsSession, "session", xmpp.Authn, "<session xmlns='"+nsSession+"'><optional/></session>"),
		infoFeature(nsRosterV, "ver", xmpp.Authn, "<ver xmlns='"+nsRosterV+"'/>"),
		infoFeature(nsCSI, "csi", xmpp.Authn, "<csi xmlns='"+nsCSI+"'/>"),
	}
	neg := xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Lang: "en", Features: features}
	})
	restart := true // a new stream header is due
	return func(ctx context.Context, in, out *stream.Info, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, any, error) {
		if restart {
			c.headerSent = false
			if err := c.readStreamHeader(); err != nil {
				return 0, nil, data, err
			}
			// mellium answers a header that passed our checks with its own.
			c.headerSent = true
		}
		mask, rw, cache, err := neg(ctx, in, out, s, data)
		restart = rw != nil
		return mask, rw, cache, err
	}
}

func skipFeature(_ context.Context, d *xml.Decoder, _ *xml.StartElement) (bool, any, error) {
	return false, nil, d.Skip()
}

// infoFeature is a stream feature listed for clients' information only.
func infoFeature(space, local string, necessary xmpp.SessionState, raw string) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: space, Local: local},
		Necessary:  necessary,
		Prohibited: xmpp.Ready,
		List: func(_ context.Context, e xmlstream.TokenWriter, _ xml.StartElement) (bool, error) {
			return false, writeRaw(e, raw)
		},
		Parse: skipFeature,
	}
}

// writeRaw writes a small piece of XML through an encoder.
func writeRaw(e xmlstream.TokenWriter, raw string) error {
	d := xml.NewDecoder(strings.NewReader(raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if start, ok := tok.(xml.StartElement); ok {
			// The encoder declares the namespace itself.
			start.Attr = nil
			tok = start
		}
		if err := e.EncodeToken(tok); err != nil {
			return err
		}
	}
}

// startTLSFeature upgrades the plain-text port to TLS (RFC 6120 §5); it
// is required before SASL is offered.
func (c *conn) startTLSFeature() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsTLS, Local: "starttls"},
		Prohibited: xmpp.Secure,
		List: func(_ context.Context, e xmlstream.TokenWriter, start xml.StartElement) (bool, error) {
			return true, writeRaw(e, "<starttls xmlns='"+nsTLS+"'><required/></starttls>")
		},
		Parse: skipFeature,
		Negotiate: func(ctx context.Context, session *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			r := session.TokenReader()
			el, err := c.readNegotiation(r)
			_ = r.Close() // done reading: closing loses nothing
			if err != nil {
				return 0, nil, err
			}
			if el.Local != "starttls" {
				return 0, nil, streamError{"policy-violation", "expected <starttls/>"}
			}
			if _, err := io.WriteString(c.nc, "<proceed xmlns='"+nsTLS+"'/>"); err != nil {
				return 0, nil, err
			}
			tc := tls.Server(c.raw, c.srv.tls)
			if err := tc.HandshakeContext(ctx); err != nil {
				return 0, nil, err
			}
			c.nc = &limitConn{Conn: tc, lim: c.lim}
			return xmpp.Secure, c.nc, nil
		},
	}
}

// bindFeature binds a resource (RFC 6120 §7): the client's choice if it is
// a valid resourcepart, else a generated one.
func (c *conn) bindFeature() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(_ context.Context, e xmlstream.TokenWriter, _ xml.StartElement) (bool, error) {
			return true, writeRaw(e, "<bind xmlns='"+nsBind+"'/>")
		},
		Parse: skipFeature,
		Negotiate: func(ctx context.Context, session *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			r := session.TokenReader()
			defer func() { _ = r.Close() }() // done reading: closing loses nothing
			mask, err := c.bindAttempts(r)
			return mask, nil, err
		},
	}
}

// bindAttempts reads resource binding IQs until one succeeds; a client
// gets five tries.
func (c *conn) bindAttempts(r xml.TokenReader) (xmpp.SessionState, error) {
	for attempt := 0; attempt < 5; attempt++ {
		iq, err := c.readNegotiation(r)
		if err != nil {
			return 0, err
		}
		if mask, err := c.bind(iq); mask != 0 || err != nil {
			return mask, err
		}
	}
	return 0, streamError{"policy-violation", "too many failed resource binding attempts"}
}

// bind answers a resource binding IQ: Ready, or an IQ error (mask 0, nil
// error) after which the client may try again.
func (c *conn) bind(iq *Element) (xmpp.SessionState, error) {
	bind := iq.Child(nsBind, "bind")
	if iq.Local != "iq" || iq.Get("type") != "set" || bind == nil {
		return 0, streamError{"policy-violation", "expected a resource binding IQ"}
	}
	full, err := c.agentJID(bind.ChildText(nsBind, "resource"))
	if err != nil {
		reply := errorReply(iq, errBadRequest.withText("the resource is not valid: "+err.Error()))
		_, err := c.nc.Write(reply.Bytes())
		return 0, err
	}
	c.resource = full.Resourcepart()
	result := NewElement(nsClient, "iq", "type", "result", "id", iq.Get("id")).
		Add(NewElement(nsBind, "bind").Add(NewElement(nsBind, "jid").AddText(full.String())))
	if _, err := c.nc.Write(result.Bytes()); err != nil {
		return 0, err
	}
	return xmpp.Ready, nil
}

// stop ends the connection with a stream error, from any goroutine.
func (c *conn) stop(se streamError) {
	c.mu.Lock()
	s := c.session
	if c.stopped == nil {
		c.stopped = &se
	}
	c.mu.Unlock()
	if s != nil {
		s.end(se)
		return
	}
	// Still negotiating: cut it short.
	_ = c.raw.SetDeadline(time.Now()) // on a closed connection there is nothing left to cut short
}

func (c *conn) String() string { return "conn " + strconv.FormatUint(c.id, 10) }

// lingerTime bounds how long a closing connection waits for the client
// to read what was sent and close its side.
const lingerTime = 2 * time.Second

// closeWrite ends the outgoing direction (TLS close_notify, TCP FIN) so
// that the client reads everything sent before the close, a stream error
// above all.
func (c *conn) closeWrite() {
	// The connection is ending: each step is a courtesy to the client,
	// and one that fails leaves nothing to do.
	_ = c.raw.SetWriteDeadline(time.Now().Add(time.Second))
	if tc, ok := c.nc.Conn.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	if tcp, ok := c.raw.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
}

// linger discards what the client still sends, briefly, before closing:
// closing with unread input would reset the connection and could destroy
// the stream error on its way to the client.
func (c *conn) linger() {
	// What the client still sends is thrown away, and the connection is
	// closed whatever happens: errors here change nothing.
	_ = c.raw.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.raw, 1<<20))
	_ = c.raw.Close()
}
