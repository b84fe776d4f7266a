package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},                    // not a proxy: header ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},                      // one trusted hop
		{"10.1.2.3:5000", "192.0.2.9, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // rightmost untrusted
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
		{"[::ffff:203.0.113.7]:80", "", "203.0.113.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.clientIP(r).String(); got != tc.want {
			t.Errorf("%s %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestParseUserAgent(t *testing.T) {
	b, os := parseUserAgent("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
	if b != "Firefox 120" || os != "Linux x86_64" {
		t.Errorf("got %q %q", b, os)
	}
	b, os = parseUserAgent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
	if b != "Safari 17" || os == "" {
		t.Errorf("got %q %q", b, os)
	}
	if b, os := parseUserAgent(""); b != "" || os != "" {
		t.Errorf("empty: %q %q", b, os)
	}
}

func TestNoGeoIPIsUnknown(t *testing.T) {
	var none *GeoIP
	if none.Country(netip.MustParseAddr("1.2.3.4")) != "unknown" {
		t.Fatal("no GeoIP database must mean unknown")
	}
}
