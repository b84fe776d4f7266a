// Package tlsutil creates the self-signed TLS certificate that jabberdesk
// uses when no certificate is configured.
//
// The certificate is its own certification authority (basic constraints
// CA:TRUE, path length 0, key usage digitalSignature and keyCertSign,
// extended key usage serverAuth): a self-signed leaf (CA:FALSE) cannot
// sign itself in the eyes of GnuTLS, so libpurple (Pidgin, finch) calls
// such a chain invalid and offers no way to accept it, where it offers to
// trust a self-signed CA like any other unknown certificate; OpenSSL-,
// GnuTLS- and Android-based clients (profanity, Gajim, Conversations)
// prompt for both. A leaf made by an older version is replaced, and so is
// a certificate that no longer names every host or expires within
// RenewBefore (clients then see a new fingerprint).
//
// The key is ECDSA P-256 (cheap handshakes on busy servers and slow
// phones); the certificate is valid for 825 days, the longest lifetime
// that Apple platforms accept for a server certificate, and names every
// host clients may connect to plus localhost, 127.0.0.1 and ::1. Files are
// written atomically (temporary file, then rename): the key with mode 0600,
// the certificate with mode 0644, in directories created with mode 0700.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity is the lifetime of a generated certificate.
const Validity = 825 * 24 * time.Hour

// RenewBefore is how long before its expiry a generated certificate is
// replaced.
const RenewBefore = 30 * 24 * time.Hour

// alwaysHosts are the names every generated certificate covers, so that
// local clients and tests can connect.
var alwaysHosts = []string{"localhost", "127.0.0.1", "::1"}

// GenerateSelfSigned writes a new self-signed certificate and its private
// key, valid from now for Validity, for hosts (DNS names or IP addresses;
// empty entries are skipped) and always also localhost, 127.0.0.1 and ::1.
// Existing files are replaced.
func GenerateSelfSigned(certFile, keyFile string, hosts []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tlsutil: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("tlsutil: serial number: %w", err)
	}
	names := certHosts(hosts)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"jabberdesk (self-signed)"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clients whose clock is a little behind
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // see the package comment
		MaxPathLenZero:        true,
	}
	for _, h := range names {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tlsutil: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tlsutil: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a certificate on disk without its key is useless.
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(certFile, certPEM, 0o644)
}

// EnsureCertificate generates a self-signed certificate (see
// GenerateSelfSigned) unless both files exist and the certificate is one
// that clients can accept at now. It replaces a self-signed leaf made by
// an older version, a certificate that does not name every host, and one
// that expires within RenewBefore. why is empty when the files were kept,
// else the reason they were (re)made.
func EnsureCertificate(certFile, keyFile string, hosts []string, now time.Time) (why string, err error) {
	certOK, err := exists(certFile)
	if err != nil {
		return "", err
	}
	keyOK, err := exists(keyFile)
	if err != nil {
		return "", err
	}
	switch {
	case !certOK || !keyOK:
		why = "there was none"
	default:
		why = staleReason(certFile, hosts, now)
		if why == "" {
			return "", nil
		}
	}
	if err := GenerateSelfSigned(certFile, keyFile, hosts, now); err != nil {
		return "", err
	}
	return why, nil
}

// staleReason says why the generated certificate in certFile must be
// replaced, or returns "" if it can stay.
func staleReason(certFile string, hosts []string, now time.Time) string {
	cert, err := readCertificate(certFile)
	switch {
	case err != nil:
		return "the old one could not be read"
	case selfSignedLeaf(cert):
		return "the old one was not a certificate authority, which libpurple refuses"
	case !now.Add(RenewBefore).Before(cert.NotAfter):
		return "the old one expires " + cert.NotAfter.UTC().Format(time.DateOnly)
	}
	for _, h := range certHosts(hosts) {
		if cert.VerifyHostname(h) != nil {
			return "the old one does not name " + h
		}
	}
	return ""
}

// selfSignedLeaf reports whether cert is a self-signed certificate that
// is not a CA, which libpurple refuses outright.
func selfSignedLeaf(cert *x509.Certificate) bool {
	return !cert.IsCA && cert.CheckSignatureFrom(cert) != nil &&
		cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil
}

// readCertificate reads the first certificate of a PEM file.
func readCertificate(certFile string) (*x509.Certificate, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: %w", err)
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("tlsutil: %s holds no certificate", certFile)
		}
		if b.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("tlsutil: %s: %w", certFile, err)
			}
			return cert, nil
		}
	}
}

// Fingerprint is the SHA-256 fingerprint of the first certificate in a
// PEM file, as clients show it: 32 uppercase hex bytes separated by
// colons.
func Fingerprint(certFile string) (string, error) {
	cert, _, err := Fingerprints(certFile)
	return cert, err
}

// Fingerprints are the SHA-256 fingerprints of the first certificate in a
// PEM file and of its public key (SubjectPublicKeyInfo, which some
// clients pin, as it outlives renewals with the same key), formatted as
// Fingerprint.
func Fingerprints(certFile string) (cert, publicKey string, err error) {
	c, err := readCertificate(certFile)
	if err != nil {
		return "", "", err
	}
	return colonHex(sha256.Sum256(c.Raw)), colonHex(sha256.Sum256(c.RawSubjectPublicKeyInfo)), nil
}

func colonHex(sum [sha256.Size]byte) string {
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hexes, ":")
}

// certHosts returns hosts without empty entries and duplicates (ignoring
// case), followed by the always-present local names; never empty.
func certHosts(hosts []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range append(append([]string(nil), hosts...), alwaysHosts...) {
		h = strings.TrimSuffix(strings.TrimSpace(h), ".")
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			h = ip.String()
		} else {
			h = strings.ToLower(h)
		}
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("tlsutil: %w", err)
}

// writeFile replaces path with data atomically, creating its directory
// (mode 0700) if needed.
func writeFile(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tlsutil: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tlsutil: %w", err)
	}
	tmp := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp) // the write's error is the one to report
		return fmt.Errorf("tlsutil: write %s: %w", path, err)
	}
	return nil
}
