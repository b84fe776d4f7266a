package forwarded

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

var proxies = Proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"a client's own header is not believed", "203.0.113.7:4000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"a proxy's last hop", "10.1.2.3:4000", []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"},
		{"proxies in a row", "10.1.2.3:4000", []string{"203.0.113.9", "10.9.9.9"}, "203.0.113.9"},
		{"what a client forged stays left", "10.1.2.3:4000", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"a proxy without a header", "10.1.2.3:4000", nil, "10.1.2.3"},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"nonsense, 10.4.4.4"}, "10.4.4.4"},
		{"IPv6 proxy, mapped client", "[::1]:4000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := proxies.ClientIP(r).String(); got != tc.want {
			t.Errorf("%s: ClientIP = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name, peer, proto string
		tls               bool
		want              bool
	}{
		{"plain", "203.0.113.7:4000", "", false, false},
		{"TLS", "203.0.113.7:4000", "", true, true},
		{"a client's own header is not believed", "203.0.113.7:4000", "https", false, false},
		{"a trusted proxy says https", "10.1.2.3:4000", "https", false, true},
		{"a trusted proxy says http", "10.1.2.3:4000", "http", false, false},
		{"the nearest proxy's word counts", "10.1.2.3:4000", "https, http", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := proxies.HTTPS(r); got != tc.want {
			t.Errorf("%s: HTTPS = %v, want %v", tc.name, got, tc.want)
		}
	}
}
