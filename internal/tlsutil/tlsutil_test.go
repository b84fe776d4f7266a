package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestGenerateSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := GenerateSelfSigned(certFile, keyFile, []string{"chat.example.com", "", "CHAT.example.com", "192.0.2.7"}, now); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("private key is %T, want ECDSA P-256", pair.PrivateKey)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"chat.example.com", "localhost"}; !slices.Equal(cert.DNSNames, want) {
		t.Errorf("DNS names = %q, want %q", cert.DNSNames, want)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"192.0.2.7", "127.0.0.1", "::1"}; !slices.Equal(ips, want) {
		t.Errorf("IP addresses = %q, want %q", ips, want)
	}
	if got := cert.NotAfter.Sub(now); got != Validity {
		t.Errorf("valid for %v after now, want %v", got, Validity)
	}
	for _, h := range []string{"chat.example.com", "localhost", "127.0.0.1", "::1"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("VerifyHostname(%q): %v", h, err)
		}
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}

	for path, want := range map[string]os.FileMode{keyFile: 0o600, certFile: 0o644, dir: 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}

func TestEnsureCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	created, err := EnsureCertificate(certFile, keyFile, []string{"localhost"})
	if err != nil || !created {
		t.Fatalf("first EnsureCertificate = %v, %v; want true, nil", created, err)
	}
	before, _ := os.ReadFile(certFile)
	created, err = EnsureCertificate(certFile, keyFile, []string{"localhost"})
	if err != nil || created {
		t.Fatalf("second EnsureCertificate = %v, %v; want false, nil", created, err)
	}
	after, _ := os.ReadFile(certFile)
	if string(before) != string(after) {
		t.Error("existing certificate was replaced")
	}

	// A missing key means a new pair.
	os.Remove(keyFile)
	created, err = EnsureCertificate(certFile, keyFile, []string{"localhost"})
	if err != nil || !created {
		t.Fatalf("EnsureCertificate without key = %v, %v; want true, nil", created, err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
}

func TestCertHosts(t *testing.T) {
	got := certHosts([]string{"[::1]", "Example.COM.", " ", "example.com"})
	want := []string{"::1", "example.com", "localhost", "127.0.0.1"}
	if !slices.Equal(got, want) {
		t.Errorf("certHosts = %q, want %q", got, want)
	}
	if net.ParseIP(got[0]) == nil {
		t.Errorf("%q is not an IP", got[0])
	}
}
