package web

import (
	"net"
	"net/netip"
	"strings"

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
