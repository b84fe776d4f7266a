package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
	now := time.Now()
	ensure := func(hosts []string, at time.Time) string {
		t.Helper()
		why, err := EnsureCertificate(certFile, keyFile, hosts, at)
		if err != nil {
			t.Fatal(err)
		}
		return why
	}
	if why := ensure([]string{"chat.example.com"}, now); why != "there was none" {
		t.Fatalf("first EnsureCertificate: %q", why)
	}
	before, _ := os.ReadFile(certFile)
	if why := ensure([]string{"chat.example.com"}, now.Add(Validity-RenewBefore-time.Hour)); why != "" {
		t.Fatalf("a good certificate was replaced: %q", why)
	}
	if after, _ := os.ReadFile(certFile); string(before) != string(after) {
		t.Error("existing certificate was replaced")
	}

	// Close to expiry, or for another name, it is made again.
	if why := ensure([]string{"chat.example.com"}, now.Add(Validity-RenewBefore+time.Hour)); !strings.HasPrefix(why, "the old one expires ") {
		t.Errorf("near expiry: %q", why)
	}
	if why := ensure([]string{"chat.example.com", "xmpp.example.com"}, now); why != "the old one does not name xmpp.example.com" {
		t.Errorf("new host: %q", why)
	}
	if why := ensure([]string{"xmpp.example.com"}, now); why != "" {
		t.Errorf("a certificate naming more hosts was replaced: %q", why)
	}

	// A missing key means a new pair.
	os.Remove(keyFile)
	if why := ensure([]string{"localhost"}, now); why != "there was none" {
		t.Fatalf("EnsureCertificate without key: %q", why)
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

// The generated certificate is one that libpurple (GnuTLS), OpenSSL-based
// clients and Android offer to trust: a self-signed CA for the server's
// names. GnuTLS and OpenSSL themselves check it, when installed (CI
// installs both; libpurple validates with GnuTLS on Debian).
func TestSelfSignedIsATrustableCA(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := GenerateSelfSigned(certFile, keyFile, []string{"chat.example.com"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	cert, err := readCertificate(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.MaxPathLen != 0 || !cert.MaxPathLenZero {
		t.Errorf("basic constraints: valid %v, CA %v, path length %d", cert.BasicConstraintsValid, cert.IsCA, cert.MaxPathLen)
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("key usage %b lacks keyCertSign or digitalSignature", cert.KeyUsage)
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("extended key usage %v lacks serverAuth", cert.ExtKeyUsage)
	}
	if len(cert.SubjectKeyId) == 0 {
		t.Error("no subject key identifier")
	}
	// Trusted as a root, it verifies itself for the server's name.
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "chat.example.com", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("does not verify against itself: %v", err)
	}
	for _, tool := range []struct {
		name string
		args []string
	}{
		{"openssl", []string{"verify", "-x509_strict", "-purpose", "sslserver", "-verify_hostname", "chat.example.com", "-CAfile", certFile, certFile}},
		{"certtool", []string{"--verify", "--verify-hostname", "chat.example.com", "--load-ca-certificate", certFile, "--infile", certFile}},
	} {
		path, err := exec.LookPath(tool.name)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: .ci/run installs it", tool.name)
			}
			t.Logf("SKIPPED the %s check: not installed (apt-get install openssl gnutls-bin)", tool.name)
			continue
		}
		if out, err := exec.Command(path, tool.args...).CombinedOutput(); err != nil {
			t.Errorf("%s refuses the certificate: %v\n%s", tool.name, err, out)
		}
	}
	fp, err := Fingerprint(certFile)
	if err != nil || len(fp) != 32*3-1 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q %v", fp, err)
	}
}

// A self-signed leaf made by an older version is replaced.
func TestEnsureCertificateReplacesALeaf(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	why, err := EnsureCertificate(certFile, keyFile, []string{"localhost"}, time.Now())
	if err != nil || !strings.Contains(why, "not a certificate authority") {
		t.Fatalf("an old leaf was kept: %q %v", why, err)
	}
	if why, err := EnsureCertificate(certFile, keyFile, []string{"localhost"}, time.Now()); err != nil || why != "" {
		t.Fatalf("a good certificate was replaced: %q %v", why, err)
	}
}
