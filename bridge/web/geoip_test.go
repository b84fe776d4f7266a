package web

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeCountryDB writes a one-network GeoIP2-Country database.
func writeCountryDB(t *testing.T, cidr, iso string) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-Country", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, network, _ := net.ParseCIDR(cidr)
	if err := w.Insert(network, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(iso)}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGeoIPCountry(t *testing.T) {
	g, err := OpenGeoIP(writeCountryDB(t, "81.2.69.0/24", "GB"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got := g.Country(netip.MustParseAddr("81.2.69.160")); got != "GB" {
		t.Errorf("got %q, want GB", got)
	}
	if got := g.Country(netip.MustParseAddr("203.0.113.7")); got != "unknown" {
		t.Errorf("address outside the database: %q", got)
	}
	if _, err := OpenGeoIP(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("a missing file must be an error")
	}
}
