package xmppd

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/tlsutil"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

const (
	testDomain   = "chat.example.test"
	testPassword = "correct horse battery"
)

// testEnv is a real server on loopback ports with a real SQLite file.
type testEnv struct {
	t         testing.TB
	st        *store.Store
	srv       *Server
	startTLS  string // address of the STARTTLS listener
	directTLS string // address of the direct TLS listener
}

func newTestEnv(t testing.TB, tweak ...func(*Config)) *testEnv {
	t.Helper()
	return startTestEnv(t, openTestStore(t, newTestStore(t)), tweak...)
}

// newTestStore makes an SQLite file with the portals acme and globex and
// their agents, and returns its path.
func newTestStore(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jd.db")
	st := openTestStore(t, path)
	ctx := context.Background()
	for _, p := range []string{"acme", "globex"} {
		if _, err := st.AddPortal(ctx, p, "test"); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []store.NewAgent{
		{Portal: "acme", Username: "fiona.b", DisplayName: "Fiona", Email: "fiona@acme.example"},
		{Portal: "acme", Username: "george.w", DisplayName: "George", Email: "george@acme.example"},
		{Portal: "globex", Username: "hank.s", DisplayName: "Hank", Email: "hank@globex.example"},
	} {
		a.Password = testPassword
		if _, err := st.AddAgent(ctx, a, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// openTestStore opens the store at path until the end of the test.
func openTestStore(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startTestEnv starts a server on st with its own certificate and
// listeners, until the end of the test.
func startTestEnv(t testing.TB, st *store.Store, tweak ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsutil.GenerateSelfSigned(certFile, keyFile, []string{testDomain}, time.Now()); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if os.Getenv("JD_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	cfg := Config{
		Domain: testDomain,
		TLS:    &tls.Config{Certificates: []tls.Certificate{cert}},
		Store:  st,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		// Presence need not wait for company here.
		PresenceDelay: time.Millisecond,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, st: st, srv: srv}
	for _, direct := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if direct {
			env.directTLS = ln.Addr().String()
		} else {
			env.startTLS = ln.Addr().String()
		}
		go srv.Serve(ln, direct)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return env
}

// login signs in "user/resource" of portal acme over STARTTLS and sends
// initial presence when available is true.
func (e *testEnv) login(user, resource string, available bool) *xmpptest.Client {
	e.t.Helper()
	c := xmpptest.MustDial(e.t, e.startTLS, "acme|"+user+"@"+testDomain+"/"+resource, testPassword, xmpptest.Options{})
	if available {
		c.Send("<presence/>")
		c.Expect("own presence", xmpptest.Presence(c.JID.String(), ""))
	}
	return c
}

func jidOf(user string) string { return "acme|" + user + "@" + testDomain }

func TestSignInEveryMechanismPortAndSeparator(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, mech := range []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain} {
		for _, direct := range []bool{false, true} {
			for _, sep := range []string{"|", `\`} {
				name := fmt.Sprintf("%s/direct=%v/sep=%s", mech.Name, direct, sep)
				t.Run(name, func(t *testing.T) {
					addr := env.startTLS
					if direct {
						addr = env.directTLS
					}
					c := xmpptest.MustDial(t, addr, "acme"+sep+"Fiona.B@"+testDomain+"/phone", testPassword,
						xmpptest.Options{Mechanism: mech, DirectTLS: direct})
					if got, want := c.JID.String(), jidOf("fiona.b")+"/phone"; got != want {
						t.Fatalf("bound JID %q, want the canonical %q", got, want)
					}
				})
			}
		}
	}
}

func TestWrongPasswordIsNotAuthorized(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, mech := range []sasl.Mechanism{sasl.ScramSha256, sasl.Plain} {
		for _, account := range []string{"acme|fiona.b", "acme|nobody.here", "globex|fiona.b", "fiona.b"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := xmpptest.Dial(ctx, env.startTLS, account+"@"+testDomain, "wrong password", xmpptest.Options{Mechanism: mech})
			cancel()
			if err == nil || !strings.Contains(err.Error(), "not-authorized") {
				t.Errorf("%s %s: got %v, want not-authorized", mech.Name, account, err)
			}
		}
	}
	testwait.For(t, "8 login failures counted", func() bool { return env.srv.Stats().LoginFailures == 8 })
}

func TestSASLNeedsTLS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	conn, err := net.Dial("tcp", env.startTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", testDomain)
	got := readUntil(t, conn, "</stream:features>")
	if !strings.Contains(got, "<starttls") || !strings.Contains(got, "<required") || strings.Contains(got, "mechanisms") {
		t.Fatalf("features before TLS: %s", got)
	}
	// Trying to authenticate anyway ends the stream.
	fmt.Fprintf(conn, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFjbWV8ZmlvbmEuYgBjb3JyZWN0IGhvcnNlIGJhdHRlcnk=</auth>")
	got = readUntil(t, conn, "</stream:stream>")
	if !strings.Contains(got, "policy-violation") {
		t.Fatalf("auth before TLS answered %s", got)
	}
}

func TestUnknownHost(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	conn, err := net.Dial("tcp", env.startTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<stream:stream to='elsewhere.example' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
	if got := readUntil(t, conn, "</stream:stream>"); !strings.Contains(got, "host-unknown") {
		t.Fatalf("got %s", got)
	}
}

func TestUnauthenticatedSessionTimesOut(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) { c.Limits.AuthTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", env.startTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", testDomain)
	if got := readUntil(t, conn, "</stream:stream>"); !strings.Contains(got, "connection-timeout") {
		t.Fatalf("got %s", got)
	}
}

// readUntil reads from conn until the text contains marker or the
// connection ends.
func readUntil(t *testing.T, conn net.Conn, marker string) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(b.String(), marker) {
		n, err := conn.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, b.String())
		}
	}
	return b.String()
}

func TestOversizeBeforeAuthenticationIsPolicyViolation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	conn, err := tls.Dial("tcp", env.directTLS, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", testDomain)
	readUntil(t, conn, "</stream:features>")
	// 8 KiB is the limit before authentication; send 32 KiB.
	fmt.Fprintf(conn, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", strings.Repeat("A", 32<<10))
	if got := readUntil(t, conn, "</stream:stream>"); !strings.Contains(got, "policy-violation") {
		t.Fatalf("got %s", got)
	}
}
