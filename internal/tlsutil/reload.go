package tlsutil

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
	"time"
)

// FileCertificate serves the certificate of a pair of PEM files and
// reloads it when they change (a renewal by certbot, say), without a
// restart. The files are looked at, at most once a second, when a TLS
// handshake asks for the certificate; a pair that does not load (a
// renewal half written) leaves the previous certificate in service and is
// reported to onError once.
type FileCertificate struct {
	certFile, keyFile string
	onError           func(error)
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp // of certFile and keyFile, as last loaded (or tried)
	checked time.Time
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	mod  time.Time
	size int64
}

// reloadCheckInterval is how often the files are looked at, at most.
const reloadCheckInterval = time.Second

// LoadFileCertificate loads a certificate and its key; onError (may be
// nil) hears of reloads that failed.
func LoadFileCertificate(certFile, keyFile string, onError func(error)) (*FileCertificate, error) {
	f := &FileCertificate{certFile: certFile, keyFile: keyFile, onError: onError, now: time.Now}
	stamp, err := f.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: load certificate: %w", err)
	}
	f.cert, f.stamp, f.checked = &cert, stamp, f.now()
	return f, nil
}

func (f *FileCertificate) stat() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, p := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return s, fmt.Errorf("tlsutil: %w", err)
		}
		s[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return s, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (f *FileCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.Current(), nil
}

// Current returns the certificate in service, reloading it first if the
// files changed.
func (f *FileCertificate) Current() *tls.Certificate {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if now.Sub(f.checked) < reloadCheckInterval {
		return f.cert
	}
	f.checked = now
	stamp, err := f.stat()
	if err != nil || stamp == f.stamp {
		return f.cert // a file missing for a moment (being replaced) is not an error yet
	}
	f.stamp = stamp
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		if f.onError != nil {
			f.onError(fmt.Errorf("tlsutil: reload %s: %w (the previous certificate stays in service)", f.certFile, err))
		}
		return f.cert
	}
	f.cert = &cert
	return f.cert
}

// PEM is the certificate chain in service, PEM encoded.
func (f *FileCertificate) PEM() []byte {
	var b bytes.Buffer
	for _, der := range f.Current().Certificate {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der}) // a bytes.Buffer does not fail
	}
	return b.Bytes()
}
