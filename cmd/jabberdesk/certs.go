package main

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"jabberdesk/internal/config"
	"jabberdesk/internal/tlsutil"
)

// certSource is where the server's TLS certificate comes from: files
// (the configured ones or the generated self-signed one), reloaded when
// they change, or an ACME authority.
type certSource struct {
	get func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// pem is the certificate in service, for GET /certificate.pem; nil
	// when clients trust it anyway (ACME).
	pem func() []byte
	// challenge answers the ACME authority's HTTP-01 requests under
	// /.well-known/acme-challenge/; nil without ACME.
	challenge http.Handler
	// alpn are the protocols the direct TLS listener negotiates (XEP-0368's
	// xmpp-client, and with ACME the TLS-ALPN-01 challenge's): nil for
	// none.
	alpn []string
}

// newCertSource sets up the certificate the configuration asks for.
func newCertSource(cfg *config.Config, log *slog.Logger) (*certSource, error) {
	if cfg.XMPP.ACME {
		return acmeCertSource(cfg, log), nil
	}
	pairs, err := loadCertPairs(cfg, func(err error) {
		log.Error("TLS certificate not reloaded", "err", err)
	})
	if err != nil {
		return nil, err
	}
	if len(pairs) == 1 {
		return &certSource{get: pairs[0].GetCertificate, pem: pairs[0].PEM}, nil
	}
	return &certSource{get: pairs.get, pem: pairs.pem}, nil
}

// certPairs are the configured certificates, one per key type, each
// reloaded when its files change.
type certPairs []*tlsutil.FileCertificate

// loadCertPairs loads every certificate of xmpp.cert_file with its key:
// each key must go with its certificate, and no two certificates may have
// keys of the same type (a client could only ever be given the first).
// onError hears of reloads that failed.
func loadCertPairs(cfg *config.Config, onError func(error)) (certPairs, error) {
	certs, keys, _ := cfg.CertPairs()
	var pairs certPairs
	types := map[x509.PublicKeyAlgorithm]string{}
	for i := range certs {
		fc, err := tlsutil.LoadFileCertificate(certs[i], keys[i], onError)
		if err != nil {
			return nil, cfg.KeyError("xmpp.cert_file", fmt.Sprintf("%s with its key %s: %v", certs[i], keys[i], err))
		}
		alg := keyAlgorithm(fc.Current())
		if other, ok := types[alg]; ok {
			return nil, cfg.KeyError("xmpp.cert_file", fmt.Sprintf("%s and %s both have %s keys (give one certificate per key type, such as one ECDSA and one RSA)", other, certs[i], alg))
		}
		types[alg] = certs[i]
		pairs = append(pairs, fc)
	}
	return pairs, nil
}

// keyAlgorithm is the type of c's key.
func keyAlgorithm(c *tls.Certificate) x509.PublicKeyAlgorithm {
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return x509.UnknownPublicKeyAlgorithm
		}
	}
	return leaf.PublicKeyAlgorithm
}

// current are the certificates in service, the preferred first: ECDSA
// (and Ed25519) before RSA, whose handshakes cost the server much more.
func (p certPairs) current() []*tls.Certificate {
	certs := make([]*tls.Certificate, len(p))
	for i, fc := range p {
		certs[i] = fc.Current()
	}
	slices.SortStableFunc(certs, func(a, b *tls.Certificate) int {
		return cmp.Compare(rank(a), rank(b))
	})
	return certs
}

func rank(c *tls.Certificate) int {
	if keyAlgorithm(c) == x509.RSA {
		return 1
	}
	return 0
}

// get gives each client the first certificate, in order of preference,
// that it supports: an RSA one only to clients that cannot use the
// others. A client that supports none gets the preferred one, and the
// handshake fails as it would with that one alone.
func (p certPairs) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	certs := p.current()
	if hello != nil {
		for _, c := range certs {
			if hello.SupportsCertificate(c) == nil {
				return c, nil
			}
		}
	}
	return certs[0], nil
}

// pem is the chain of the preferred certificate, the one modern clients
// are given.
func (p certPairs) pem() []byte {
	var b bytes.Buffer
	for _, der := range p.current()[0].Certificate {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der}) // a bytes.Buffer does not fail
	}
	return b.Bytes()
}

// acmeHosts are the names certificates are asked for.
func acmeHosts(cfg *config.Config) []string {
	return uniq([]string{cfg.Domain, cfg.PublicHostName()})
}

// acmeCertSource gets and renews certificates with
// golang.org/x/crypto/acme/autocert (RFC 8555), kept in DATA_DIR/acme.
// The authority checks each name with HTTP-01 on the HTTP listener: the
// visitor API's port is the one usually published behind port 80 (or a
// proxy that forwards /.well-known/acme-challenge/). TLS-ALPN-01 (RFC
// 8737) is answered too, on the direct TLS listener, for deployments that
// publish it on port 443; autocert tries it first.
func acmeCertSource(cfg *config.Config, log *slog.Logger) *certSource {
	hosts := acmeHosts(cfg)
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Join(cfg.DataDir, "acme")),
		HostPolicy: autocert.HostWhitelist(hosts...),
		Email:      cfg.XMPP.ACMEEmail,
		Client:     &acme.Client{DirectoryURL: cfg.XMPP.ACMEDirectory},
	}
	get := func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if !slices.Contains(hosts, hello.ServerName) {
			// No SNI, or an address: the domain's certificate.
			h := *hello
			h.ServerName = cfg.Domain
			hello = &h
		}
		return m.GetCertificate(hello)
	}
	// HTTPHandler before any order: it is what makes autocert offer
	// HTTP-01 (it otherwise only tries TLS-ALPN-01).
	answer := m.HTTPHandler(nil)
	// The authority asks on port 80, but the listener may be reached on
	// another port (a test authority, a forwarding proxy): autocert checks
	// the Host header against the names, so the port goes.
	challenge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r = r.Clone(r.Context())
			r.Host = host
		}
		answer.ServeHTTP(w, r)
	})
	// Get the certificate now, not during the first client's handshake.
	go func() {
		for _, h := range hosts {
			// An ECDSA suite: the certificate clients will mostly be given.
			hello := &tls.ClientHelloInfo{ServerName: h, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
			if _, err := m.GetCertificate(hello); err != nil {
				log.Error("ACME: no certificate yet", "host", h, "directory", cfg.XMPP.ACMEDirectory, "err", err)
				continue
			}
			log.Info("ACME: certificate ready", "host", h)
		}
	}()
	return &certSource{get: get, pem: func() []byte { return nil }, challenge: challenge, alpn: []string{"xmpp-client", acme.ALPNProto}}
}
