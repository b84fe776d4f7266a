package tlsutil

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A renewal (new files in place) is served without a restart; a pair
// that does not load leaves the previous certificate in service.
func TestFileCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := GenerateSelfSigned(certFile, keyFile, []string{"chat.example.com"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var errs []error
	f, err := LoadFileCertificate(certFile, keyFile, func(err error) { errs = append(errs, err) })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f.now = func() time.Time { return now }
	first := f.Current()
	served := func() *tls.Certificate {
		now = now.Add(2 * reloadCheckInterval)
		c, _ := f.GetCertificate(nil)
		return c
	}
	if served() != first {
		t.Fatal("the certificate changed without its files changing")
	}
	// The renewal: new files in place.
	renewed := filepath.Join(dir, "renewed")
	if err := GenerateSelfSigned(filepath.Join(renewed, "cert.pem"), filepath.Join(renewed, "key.pem"), []string{"chat.example.com"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"key.pem", "cert.pem"} {
		if err := os.Rename(filepath.Join(renewed, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	second := served()
	if second == first || bytes.Equal(second.Certificate[0], first.Certificate[0]) {
		t.Fatal("the renewed certificate is not served")
	}
	if !bytes.Contains(f.PEM(), []byte("BEGIN CERTIFICATE")) {
		t.Fatal("no PEM")
	}
	// A broken renewal: the previous one stays, and it is reported.
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if served() != second || len(errs) != 1 {
		t.Fatalf("after a broken renewal: errors %v", errs)
	}
}
