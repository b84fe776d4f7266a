package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/tlsutil"
)

// servedCertificate is the certificate the XMPP direct TLS listener
// presents.
func servedCertificate(t *testing.T, addr string) []byte {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Raw
}

// Certificates given as files are served as they are renewed, without a
// restart; the certificate can be downloaded for clients that pin it.
func TestCertificateFilesAreReloaded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsutil.GenerateSelfSigned(certFile, keyFile, []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := startRunningIn(t, dir, `xmpp.cert_file = "cert.pem"`, `xmpp.key_file = "key.pem"`)
	first := servedCertificate(t, r.directTLS)
	res, err := http.Get(r.base + "/certificate.pem")
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := io.ReadAll(res.Body)
	res.Body.Close()
	onDisk, _ := os.ReadFile(certFile)
	if res.StatusCode != http.StatusOK || !bytes.Equal(pem, onDisk) {
		t.Fatalf("GET /certificate.pem: %d %q", res.StatusCode, pem)
	}
	// certbot renews: new files in place.
	renewed := filepath.Join(dir, "renewed")
	if err := tlsutil.GenerateSelfSigned(filepath.Join(renewed, "cert.pem"), filepath.Join(renewed, "key.pem"), []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(renewed, "key.pem"), keyFile)
	os.Rename(filepath.Join(renewed, "cert.pem"), certFile)
	testwait.For(t, "the renewed certificate to be served", func() bool {
		return !bytes.Equal(servedCertificate(t, r.directTLS), first)
	})
}
