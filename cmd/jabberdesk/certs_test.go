package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/config"
	"jabberdesk/internal/tlsutil"
)

// writeRSACertificate writes a self-signed RSA-2048 certificate for
// localhost and its key.
func writeRSACertificate(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeBothCertificates writes ecdsa.pem/ecdsa.key (P-256) and
// rsa.pem/rsa.key (RSA-2048) in dir.
func writeBothCertificates(t *testing.T, dir string) {
	t.Helper()
	if err := tlsutil.GenerateSelfSigned(filepath.Join(dir, "ecdsa.pem"), filepath.Join(dir, "ecdsa.key"), []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	writeRSACertificate(t, filepath.Join(dir, "rsa.pem"), filepath.Join(dir, "rsa.key"))
}

// loadConfigIn parses an [xmpp] table written to dir/jabberdesk.toml.
func loadConfigIn(t *testing.T, dir, xmpp string) *config.Config {
	t.Helper()
	file := filepath.Join(dir, "jabberdesk.toml")
	if err := os.WriteFile(file, []byte("[xmpp]\n"+xmpp), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, true)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Client kinds and the key type of the certificate each must be given.
var certClients = []struct {
	name string
	tls  *tls.Config
	want x509.PublicKeyAlgorithm
}{
	{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, x509.ECDSA},
	{"TLS 1.2, any suite", &tls.Config{MaxVersion: tls.VersionTLS12}, x509.ECDSA},
	{"TLS 1.2, ECDHE-ECDSA suites only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, x509.ECDSA},
	{"TLS 1.2, ECDHE-RSA suites only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}}, x509.RSA},
}

// clientGets is the key type of the certificate a client configured as c
// is given over conn (already past STARTTLS, if any).
func clientGets(t *testing.T, conn net.Conn, c *tls.Config) x509.PublicKeyAlgorithm {
	t.Helper()
	c = c.Clone()
	c.InsecureSkipVerify, c.ServerName = true, "localhost"
	defer conn.Close()
	tc := tls.Client(conn, c)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm
}

// With an ECDSA and an RSA certificate, in either order, each client is
// given ECDSA unless it supports only RSA.
func TestCertPairsPerClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeBothCertificates(t, dir)
	for _, order := range []string{
		"cert_file = [\"ecdsa.pem\", \"rsa.pem\"]\nkey_file = [\"ecdsa.key\", \"rsa.key\"]\n",
		"cert_file = [\"rsa.pem\", \"ecdsa.pem\"]\nkey_file = [\"rsa.key\", \"ecdsa.key\"]\n",
	} {
		src, err := newCertSource(loadConfigIn(t, dir, order), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		server := &tls.Config{GetCertificate: src.get}
		for _, c := range certClients {
			a, b := net.Pipe()
			go func() {
				tls.Server(a, server).Handshake()
				a.Close()
			}()
			if got := clientGets(t, b, c.tls); got != c.want {
				t.Errorf("%s, %s: given %v, want %v", strings.Fields(order)[2], c.name, got, c.want)
			}
		}
		if p, _ := pem.Decode(src.pem()); p == nil {
			t.Fatal("no PEM")
		} else if cert, _ := x509.ParseCertificate(p.Bytes); cert == nil || cert.PublicKeyAlgorithm != x509.ECDSA {
			t.Errorf("GET /certificate.pem is not the ECDSA certificate")
		}
	}
}

// A key that does not go with its certificate, or two certificates with
// the same key type, are refused with the key and its line.
func TestCertPairsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeBothCertificates(t, dir)
	if err := tlsutil.GenerateSelfSigned(filepath.Join(dir, "other.pem"), filepath.Join(dir, "other.key"), []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "jabberdesk.toml")
	for _, c := range []struct{ xmpp, want string }{
		{"cert_file = [\"ecdsa.pem\", \"rsa.pem\"]\nkey_file = [\"rsa.key\", \"ecdsa.key\"]\n",
			file + ":2: xmpp.cert_file: " + filepath.Join(dir, "ecdsa.pem") + " with its key " + filepath.Join(dir, "rsa.key") + ": tlsutil: load certificate: tls: private key type does not match public key type"},
		{"cert_file = [\"ecdsa.pem\", \"other.pem\"]\nkey_file = [\"ecdsa.key\", \"other.key\"]\n",
			file + ":2: xmpp.cert_file: " + filepath.Join(dir, "ecdsa.pem") + " and " + filepath.Join(dir, "other.pem") + " both have ECDSA keys (give one certificate per key type, such as one ECDSA and one RSA)"},
		{"cert_file = [\"ecdsa.pem\", \"missing.pem\"]\nkey_file = [\"ecdsa.key\", \"rsa.key\"]\n",
			file + ":2: xmpp.cert_file: " + filepath.Join(dir, "missing.pem") + " with its key " + filepath.Join(dir, "rsa.key") + ": tlsutil: stat " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
	} {
		_, err := newCertSource(loadConfigIn(t, dir, c.xmpp), slog.New(slog.DiscardHandler))
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.xmpp, err, c.want)
		}
	}
}

// startTLSConn opens an XMPP stream on addr and asks for STARTTLS: the
// connection is ready for the TLS handshake.
func startTLSConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	readUntil := func(s string) {
		var got strings.Builder
		for !strings.Contains(got.String(), s) {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("waiting for %s: %v after %q", s, err, got.String())
			}
			got.WriteByte(b)
		}
	}
	io.WriteString(conn, "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
	readUntil("</stream:features>")
	io.WriteString(conn, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	readUntil("/>") // <proceed .../>
	conn.SetDeadline(time.Time{})
	return conn
}

// Both XMPP listeners serve the two certificates side by side.
func TestCertPairsServedByListeners(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeBothCertificates(t, dir)
	r := startRunningIn(t, dir, `xmpp.cert_file = ["rsa.pem", "ecdsa.pem"]`, `xmpp.key_file = ["rsa.key", "ecdsa.key"]`)
	for _, c := range certClients {
		conn, err := net.DialTimeout("tcp", r.directTLS, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := clientGets(t, conn, c.tls); got != c.want {
			t.Errorf("direct TLS, %s: given %v, want %v", c.name, got, c.want)
		}
		if got := clientGets(t, startTLSConn(t, r.startTLS), c.tls); got != c.want {
			t.Errorf("STARTTLS, %s: given %v, want %v", c.name, got, c.want)
		}
	}
}
