package bench

import (
	"bufio"
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/sasl"

	"jabberdesk/internal/tlsutil"
)

// fakeServer is a minimal XMPP server for the bench's own tests: STARTTLS
// or direct TLS, SASL PLAIN and SCRAM-SHA-256 against "password" + the
// account's number, binding, and message routing between its sessions
// (and those of the other fake servers it shares its routes with). A
// drop function may swallow messages, so that the tests can check that
// the bench notices.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	direct bool
	tls    *tls.Config
	drop   func(n int64) bool // n counts routed messages from 1
	routes *fakeRoutes

	bound  atomic.Int64 // sessions bound here
	routed atomic.Int64
	wg     sync.WaitGroup
}

// fakeRoutes are the sessions of one or more fake servers, which route
// messages to each other's sessions as the nodes of a cluster do.
type fakeRoutes struct {
	mu       sync.Mutex
	sessions map[string]*fakeSession // by bare JID
	crossed  atomic.Int64            // messages routed to another server's session
}

type fakeSession struct {
	mu   sync.Mutex
	srv  *fakeServer
	conn net.Conn
	w    *bufio.Writer
}

func (s *fakeSession) write(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(b)
	s.w.Flush()
}

func startFakeServer(t *testing.T, direct bool, drop func(int64) bool) *fakeServer {
	t.Helper()
	return startFakeServerOn(t, &fakeRoutes{sessions: map[string]*fakeSession{}}, direct, drop)
}

// startFakeServers starts n fake servers (STARTTLS) that route messages
// between each other's sessions.
func startFakeServers(t *testing.T, n int) []*fakeServer {
	t.Helper()
	routes := &fakeRoutes{sessions: map[string]*fakeSession{}}
	srvs := make([]*fakeServer, n)
	for i := range srvs {
		srvs[i] = startFakeServerOn(t, routes, false, nil)
	}
	return srvs
}

func startFakeServerOn(t *testing.T, routes *fakeRoutes, direct bool, drop func(int64) bool) *fakeServer {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsutil.GenerateSelfSigned(cert, key, []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, direct: direct, tls: &tls.Config{Certificates: []tls.Certificate{pair}}, drop: drop,
		routes: routes}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.routes.mu.Lock()
		for _, ss := range s.routes.sessions {
			if ss.srv == s {
				ss.conn.Close()
			}
		}
		s.routes.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

const fakeHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>"

func (s *fakeServer) serve(raw net.Conn) {
	conn := raw
	if s.direct {
		conn = tls.Server(raw, s.tls)
	}
	sess := &fakeSession{srv: s, conn: conn, w: bufio.NewWriter(conn)}
	sc := newScanner(bufio.NewReader(conn))
	next := func() (element, bool) {
		el, err := sc.next()
		return el, err == nil
	}
	open := func(features string) bool {
		if el, ok := next(); !ok || !el.header {
			return false
		}
		sess.write([]byte(fakeHeader + "<stream:features>" + features + "</stream:features>"))
		return true
	}
	if !s.direct {
		if !open("<starttls xmlns='" + nsTLS + "'><required/></starttls>") {
			return
		}
		if el, ok := next(); !ok || string(el.name()) != "starttls" {
			return
		}
		sess.write([]byte("<proceed xmlns='" + nsTLS + "'/>"))
		tc := tls.Server(raw, s.tls)
		sess.conn, sess.w = tc, bufio.NewWriter(tc)
		sc.restart(bufio.NewReader(tc))
	}
	if !open("<mechanisms xmlns='" + nsSASL + "'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-256</mechanism></mechanisms>") {
		return
	}
	user, ok := s.authenticate(sess, next)
	if !ok {
		return
	}
	sc.restart(nil)
	if !open("<bind xmlns='" + nsBind + "'/>") {
		return
	}
	el, ok := next()
	if !ok || !bytes.Contains(el.raw, []byte("<bind")) {
		return
	}
	jid := user + "@localhost/bench"
	// Routable before the client hears that it is bound.
	s.routes.mu.Lock()
	s.routes.sessions[user+"@localhost"] = sess
	s.routes.mu.Unlock()
	s.bound.Add(1)
	sess.write([]byte("<iq type='result' id='" + string(attr(el.start, "id")) + "'><bind xmlns='" + nsBind + "'><jid>" + jid + "</jid></bind></iq>"))
	for {
		el, ok := next()
		if !ok {
			sess.write([]byte("</stream:stream>"))
			return
		}
		if string(el.name()) != "message" {
			continue
		}
		n := s.routed.Add(1)
		if s.drop != nil && s.drop(n) {
			continue
		}
		s.routes.mu.Lock()
		dst := s.routes.sessions[string(bare(attr(el.start, "to")))]
		s.routes.mu.Unlock()
		if dst == nil {
			continue
		}
		if dst.srv != s {
			s.routes.crossed.Add(1)
		}
		out := append([]byte("<message from='"+jid+"'"), el.raw[len("<message"):]...)
		dst.write(out)
	}
}

// authenticate runs the server side of SASL; the password of agentN is
// passwordN.
func (s *fakeServer) authenticate(sess *fakeSession, next func() (element, bool)) (string, bool) {
	el, ok := next()
	if !ok || string(el.name()) != "auth" {
		return "", false
	}
	data := func(el element) []byte {
		text := el.raw[len(el.start):]
		if i := bytes.LastIndexByte(text, '<'); i >= 0 {
			text = text[:i]
		}
		b, _ := base64.StdEncoding.DecodeString(string(text))
		return b
	}
	fail := func() (string, bool) {
		sess.write([]byte("<failure xmlns='" + nsSASL + "'><not-authorized/><text>bad password</text></failure>"))
		return "", false
	}
	password := func(user []byte) string {
		return "password" + strings.TrimPrefix(string(user), "agent")
	}
	var user string
	mech := sasl.Plain
	if string(attr(el.start, "mechanism")) == "SCRAM-SHA-256" {
		mech = sasl.ScramSha256
	}
	srv := sasl.NewServer(mech, func(n *sasl.Negotiator) bool {
		u, p, _ := n.Credentials()
		user = string(u)
		return string(p) == password(u)
	}, sasl.SaltedCredentials(func(u, _ []byte, _ string) ([]byte, []byte, int64, error) {
		user = string(u)
		salt := []byte("fake salt 123456")
		key, err := pbkdf2.Key(sha256.New, password(u), salt, 4096, sha256.Size)
		return salt, key, 4096, err
	}))
	challenge := data(el)
	for {
		more, resp, err := srv.Step(challenge)
		if err != nil {
			return fail()
		}
		if !more {
			sess.write([]byte("<success xmlns='" + nsSASL + "'>" + encode64(resp) + "</success>"))
			return user, true
		}
		sess.write([]byte("<challenge xmlns='" + nsSASL + "'>" + encode64(resp) + "</challenge>"))
		el, ok := next()
		if !ok || string(el.name()) != "response" {
			return "", false
		}
		challenge = data(el)
	}
}
