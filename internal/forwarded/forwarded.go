// Package forwarded reads what an HTTP request says of its client when it
// came through a reverse proxy: the client's address (X-Forwarded-For)
// and whether the client spoke HTTPS to the proxy (X-Forwarded-Proto).
// Both are believed only from the configured trusted proxies
// (http.trusted_proxies); from anyone else the connection is the truth.
//
// The package imports nothing of jabberdesk's.
package forwarded

import (
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies whose forwarding headers are believed.
type Proxies []netip.Prefix

// Trusted reports whether ip is one of the proxies.
func (p Proxies) Trusted(ip netip.Addr) bool {
	for _, pr := range p {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}

// peer is the address of the connection r came on (zero when it does not
// parse).
func peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ClientIP is the client's address: the connection's peer, or, when the
// peer is a trusted proxy, the rightmost address of X-Forwarded-For that
// is not one (the proxies append what they saw; what a client wrote
// there itself stands to the left and is not believed).
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	ip := peer(r)
	if !p.Trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !p.Trusted(a) {
			return a
		}
		ip = a
	}
	return ip
}

// HTTPS reports whether the client spoke HTTPS: the request came over
// TLS, or a trusted proxy says so in X-Forwarded-Proto (the last value,
// the one the proxy nearest to us wrote).
func (p Proxies) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !p.Trusted(peer(r)) {
		return false
	}
	vals := strings.Split(strings.Join(r.Header.Values("X-Forwarded-Proto"), ","), ",")
	return strings.EqualFold(strings.TrimSpace(vals[len(vals)-1]), "https")
}
