package xmppd

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"jabberdesk/address"
	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

const nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"

// maxAuthAttempts is how many failed SASL exchanges one connection gets
// before it is closed with a not-authorized stream error (RFC 6120 §6.4.5).
const maxAuthAttempts = 3

// mechanismNames in order of preference.
var mechanismNames = []string{store.ScramSHA256, store.ScramSHA1, "PLAIN"}

// saslFeature is the SASL stream feature (RFC 6120 §6) for one connection.
// xmpp.SASLServer cannot verify SCRAM against stored keys, so this feature
// runs mellium.im/sasl negotiators with our own mechanisms: SCRAM from
// StoredKey/ServerKey (scramServer) and PLAIN checked against the same
// keys. It is offered only on a secure stream.
func (c *conn) saslFeature() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsSASL, Local: "mechanisms"},
		Necessary:  xmpp.Secure,
		Prohibited: xmpp.Authn,
		List: func(ctx context.Context, e xmlstream.TokenWriter, start xml.StartElement) (bool, error) {
			if err := e.EncodeToken(start); err != nil {
				return true, err
			}
			m := xml.StartElement{Name: xml.Name{Local: "mechanism"}}
			for _, name := range mechanismNames {
				for _, t := range []xml.Token{m, xml.CharData(name), m.End()} {
					if err := e.EncodeToken(t); err != nil {
						return true, err
					}
				}
			}
			return true, e.EncodeToken(start.End())
		},
		Parse: func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			return true, nil, d.Skip()
		},
		Negotiate: c.negotiateSASL,
	}
}

func (c *conn) mechanism(name string) (sasl.Mechanism, bool) {
	switch name {
	case "PLAIN":
		return sasl.Plain, true
	case store.ScramSHA1, store.ScramSHA256:
		h := store.HashFor(name)
		lookup := func(user string) (store.Credential, bool) {
			a, creds, ok := c.lookupLogin(user)
			if !ok {
				return store.Credential{}, false
			}
			for _, cr := range creds {
				if cr.Mechanism == name {
					c.pending = a
					return cr, true
				}
			}
			return store.Credential{}, false
		}
		return scramServer(name, h, lookup, c.srv.fakeSecret, c.srv.iterations), true
	}
	return sasl.Mechanism{}, false
}

// lookupLogin resolves a SASL user name ("portal|user", "portal\user", or
// either followed by "@domain") to an agent and credentials.
func (c *conn) lookupLogin(user string) (store.Agent, []store.Credential, bool) {
	portal, username, ok := address.ParseLogin(user, c.srv.domain)
	if !ok {
		return store.Agent{}, nil, false
	}
	a, creds, err := c.srv.store.Login(context.Background(), portal, username)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Error("login lookup failed", "err", err)
		}
		return store.Agent{}, nil, false
	}
	return a, creds, true
}

func (c *conn) plainPermissions(n *sasl.Negotiator) bool {
	user, pass, authz := n.Credentials()
	a, creds, ok := c.lookupLogin(string(user))
	if len(authz) > 0 && !strings.EqualFold(string(authz), string(user)) {
		ok = false
	}
	for _, cr := range creds {
		// Either hash proves the password; SHA-256 is the one kept longest.
		if cr.Mechanism == store.ScramSHA256 {
			if cr.VerifyPassword(string(pass)) && ok {
				c.pending = a
				return true
			}
			return false
		}
	}
	// Unknown user: spend the same work as a real check.
	store.SaltedKeys(store.HashFor(store.ScramSHA256), string(pass), c.srv.fakeSecret[:16], c.srv.iterations)
	return false
}

// negotiateSASL runs SASL exchanges until one succeeds or the client has
// failed maxAuthAttempts times.
func (c *conn) negotiateSASL(ctx context.Context, session *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
	r := session.TokenReader()
	defer func() { _ = r.Close() }() // done reading: closing loses nothing
	w := session.Conn()
	for failures := 0; failures < maxAuthAttempts; {
		el, err := c.readNegotiation(r)
		if err != nil {
			return 0, nil, err
		}
		if el.Space != nsSASL || el.Local != "auth" {
			if el.Space == nsSASL && el.Local == "abort" {
				writeSASLFailure(w, "aborted")
				continue
			}
			writeSASLFailure(w, "malformed-request")
			return 0, nil, streamError{"policy-violation", "expected SASL <auth/>"}
		}
		mech, ok := c.mechanism(el.Get("mechanism"))
		if !ok {
			writeSASLFailure(w, "invalid-mechanism")
			failures++
			continue
		}
		user, err := c.runSASL(ctx, r, w, session, mech, el.Text())
		if err == nil {
			c.log.Info("signed in", "user", user, "mechanism", mech.Name)
			c.lim.reset(c.srv.limits.StanzaSize)
			return xmpp.Authn, session.Conn(), nil
		}
		var netErr interface{ Timeout() bool }
		if errors.As(err, &netErr) || errors.Is(err, io.EOF) {
			return 0, nil, err
		}
		failures++
		if errors.Is(err, errSignInLater) {
			continue // logged by runSASL; no password was checked
		}
		c.srv.metrics.loginFailures.Add(1)
		c.log.Warn("sign-in failed", "remote", c.ip, "user", user, "mechanism", mech.Name, "err", err)
	}
	return 0, nil, streamError{"not-authorized", "too many failed sign-in attempts"}
}

// errSignInLater: the guard refused the attempt without a password check.
var errSignInLater = errors.New("xmppd: too many failed sign-ins; try again later")

// runSASL runs one exchange; it returns the SASL user name it saw. The
// sign-in guard (limit.Guard) decides, once the user name is known and
// before any proof is checked, whether the attempt waits or is refused.
func (c *conn) runSASL(ctx context.Context, r xml.TokenReader, w io.Writer, session *xmpp.Session, mech sasl.Mechanism, initial string) (user string, err error) {
	c.pending = store.Agent{}
	opts := []sasl.Option{}
	if cs := session.ConnectionState(); cs.Version != 0 {
		opts = append(opts, sasl.TLSState(cs))
	}
	neg := sasl.NewServer(mech, c.plainPermissions, opts...)
	payload, err := decodeSASLPayload(initial)
	if err != nil {
		writeSASLFailure(w, "incorrect-encoding")
		return "", err
	}
	if len(payload) == 0 {
		// No initial response: ask for it with an empty challenge.
		if _, err = io.WriteString(w, "<challenge xmlns='"+nsSASL+"'>=</challenge>"); err != nil {
			return "", err
		}
		if payload, err = c.readSASLResponse(r, w); err != nil {
			return "", err
		}
	}
	user = saslUser(mech.Name, payload)
	att, err := c.waitGuard(ctx, user)
	if att != nil {
		defer func() { att.Done(err == nil) }()
	}
	if err != nil {
		if errors.Is(err, errSignInLater) {
			writeSASLFailure(w, "temporary-auth-failure")
		}
		return user, err
	}
	more, resp, err := neg.Step(payload)
	for err == nil && more {
		if _, err = io.WriteString(w, "<challenge xmlns='"+nsSASL+"'>"+encodeSASLPayload(resp)+"</challenge>"); err != nil {
			return user, err
		}
		if payload, err = c.readSASLResponse(r, w); err != nil {
			return user, err
		}
		more, resp, err = neg.Step(payload)
	}
	if err == nil && c.pending.ID == 0 {
		err = sasl.ErrAuthn
	}
	if err != nil {
		cond := "not-authorized"
		switch {
		case errors.Is(err, errSCRAMMalformed), errors.Is(err, sasl.ErrInvalidChallenge), errors.Is(err, errSCRAMBinding):
			cond = "malformed-request"
		case errors.Is(err, errSCRAMAuthzID):
			cond = "invalid-authzid"
		}
		writeSASLFailure(w, cond)
		return user, err
	}
	c.agent = c.pending
	_, err = io.WriteString(w, "<success xmlns='"+nsSASL+"'>"+encodeSASLPayload(resp)+"</success>")
	return user, err
}

// readSASLResponse reads a <response/>; an <abort/> ends the exchange.
func (c *conn) readSASLResponse(r xml.TokenReader, w io.Writer) ([]byte, error) {
	el, err := c.readNegotiation(r)
	if err != nil {
		return nil, err
	}
	switch {
	case el.Space == nsSASL && el.Local == "response":
		return decodeSASLPayload(el.Text())
	case el.Space == nsSASL && el.Local == "abort":
		writeSASLFailure(w, "aborted")
		return nil, errors.New("sasl: aborted by client")
	}
	writeSASLFailure(w, "malformed-request")
	return nil, errors.New("sasl: unexpected " + el.Local)
}

// readNegotiation reads the next element during stream negotiation,
// within the pre-authentication size limit.
func (c *conn) readNegotiation(r xml.TokenReader) (*Element, error) {
	c.lim.reset(c.srv.limits.StanzaSizePreAuth)
	r = negotiationReader{r}
	for {
		tok, err := r.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return readElement(r, start, 4)
		}
	}
}

// negotiationReader works around mellium's stream reader during feature
// negotiation: it is created after the feature's start tag was read, so it
// takes the text inside that element for text at the top of the stream.
type negotiationReader struct{ r xml.TokenReader }

func (n negotiationReader) Token() (xml.Token, error) {
	tok, err := n.r.Token()
	if _, ok := tok.(xml.CharData); ok && err != nil && err.Error() == "xmpp: unexpected stream-level chardata" {
		err = nil
	}
	return tok, err
}

// waitGuard begins an attempt with the sign-in guard and waits for its
// turn, or says it is refused. The attempt is nil when there is nothing
// to Done.
func (c *conn) waitGuard(ctx context.Context, user string) (*limit.Attempt, error) {
	att, err := c.srv.guard.Await(ctx, address.LoginAccount(user, c.srv.domain), c.key)
	switch {
	case errors.Is(err, limit.ErrRefused):
		c.log.Warn("sign-in refused without a password check after repeated failures", "remote", c.ip, "user", user, "by", att.By)
		return att, errSignInLater
	case err == nil && att.Wait > 0:
		c.log.Info("slowed down sign-in after repeated failures", "remote", c.ip, "user", user, "by", att.By, "delay", att.Wait)
	}
	return att, err
}

func saslUser(mech string, payload []byte) string {
	if mech == "PLAIN" {
		parts := strings.SplitN(string(payload), "\x00", 3)
		if len(parts) == 3 {
			return parts[1]
		}
		return ""
	}
	for _, attr := range strings.Split(string(payload), ",") {
		if strings.HasPrefix(attr, "n=") {
			return attr[2:]
		}
	}
	return ""
}

func decodeSASLPayload(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

func encodeSASLPayload(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// writeSASLFailure tells the client why its authentication failed. The
// caller returns that failure; a client that cannot be told is gone.
func writeSASLFailure(w io.Writer, condition string) {
	_, _ = io.WriteString(w, "<failure xmlns='"+nsSASL+"'><"+condition+"/></failure>")
}

// knownAddresses lets the sign-in guard remember, in the store, the
// addresses each agent signed in from (limit.KnownAddresses).
type knownAddresses struct {
	st  *store.Store
	log *slog.Logger
}

func (k knownAddresses) KnownAddress(account, addr string) bool {
	portal, username, ok := address.SplitLocal(account)
	if !ok {
		return false
	}
	known, err := k.st.KnownSignInAddress(context.Background(), portal, username, addr)
	if err != nil {
		k.log.Error("look up a sign-in address", "err", err)
	}
	return known
}

func (k knownAddresses) RememberAddress(account, addr string, at time.Time) {
	portal, username, ok := address.SplitLocal(account)
	if !ok {
		return
	}
	if err := k.st.RememberSignInAddress(context.Background(), portal, username, addr, at); err != nil && !errors.Is(err, store.ErrNotFound) {
		k.log.Error("remember a sign-in address", "err", err)
	}
}
