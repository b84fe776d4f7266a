package limit

import (
	"net"
	"net/netip"
)

// Key is the key under which an address's use is counted: an IPv4
// address as it is, an IPv6 address by its /64 (one customer's network,
// in which a client can pick any address). IPv4-mapped IPv6 addresses
// count as IPv4.
func Key(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.String()
}

// KeyOf is Key of a "host:port" or bare address as net.Conn.RemoteAddr
// gives it; what does not parse is its own key.
func KeyOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	return Key(a)
}
