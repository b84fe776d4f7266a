package web

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mssola/useragent"
	"github.com/oschwald/geoip2-golang"
)

// parseUserAgent names the browser (with its major version) and the
// operating system of a User-Agent header.
func parseUserAgent(s string) (browser, os string) {
	if s == "" {
		return "", ""
	}
	ua := useragent.New(s)
	name, version := ua.Browser()
	if major, _, _ := strings.Cut(version, "."); major != "" {
		name += " " + major
	}
	os = ua.OS()
	if ua.Bot() {
		name += " (bot)"
	}
	return name, os
}

// GeoIP finds countries in a MaxMind (GeoIP2/GeoLite2) database file.
type GeoIP struct{ db *geoip2.Reader }

// OpenGeoIP opens a GeoIP2 or GeoLite2 Country/City database file.
func OpenGeoIP(path string) (*GeoIP, error) {
	db, err := geoip2.Open(path)
	if err != nil {
		return nil, err
	}
	return &GeoIP{db: db}, nil
}

// Close closes the database.
func (g *GeoIP) Close() error {
	if g == nil {
		return nil
	}
	return g.db.Close()
}

// Country is the ISO code of ip's country, or "unknown".
func (g *GeoIP) Country(ip netip.Addr) string {
	if g == nil || !ip.IsValid() {
		return "unknown"
	}
	rec, err := g.db.Country(net.IP(ip.AsSlice()))
	if err != nil || rec.Country.IsoCode == "" {
		return "unknown"
	}
	return rec.Country.IsoCode
}

// rateLimiter is a token bucket per client address.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	return &rateLimiter{rate: perSecond, burst: float64(burst), buckets: make(map[string]*bucket)}
}

// allow takes a token for key if there is one.
func (l *rateLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
