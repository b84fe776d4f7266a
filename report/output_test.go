package report

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
)

func TestWriteHTMLLoadsNothing(t *testing.T) {
	h := newHistory(t)
	for _, by := range []Grouping{"", ByDay, ByAgent} {
		var b bytes.Buffer
		if err := WriteHTML(&b, h.build(t, by, h.loc)); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		if n := strings.Count(page, "<svg"); n != 3 {
			t.Errorf("by %q: %d charts", by, n)
		}
		external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|@import|<script|<link|url\(`)
		if m := external.FindString(page); m != "" {
			t.Errorf("by %q: the page loads something: %q", by, m)
		}
		for _, want := range []string{"Chat report: acme", "Ann (ann.kay)", "<table id=\"agents\">", "2026-03-01 00:00 to 2026-03-03 00:00 (Europe/Berlin)"} {
			if !strings.Contains(page, want) {
				t.Errorf("by %q: no %q", by, want)
			}
		}
		if (by != "") != strings.Contains(page, `<table id="groups">`) {
			t.Errorf("by %q: groups table", by)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	h := newHistory(t)
	var b bytes.Buffer
	if err := WriteCSV(&b, h.build(t, ByAgent, h.loc)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "agent" || rows[1][0] != "ann.kay" || rows[3][0] != NoAgent || rows[4][0] != "total" || rows[4][1] != "4" {
		t.Fatalf("rows %q", rows)
	}
	head := map[string]int{}
	for i, name := range rows[0] {
		head[name] = i
	}
	if rows[1][head["available_seconds"]] != "46800" || rows[2][head["offers_declined"]] != "1" || rows[4][head["response_p90_seconds"]] != "20" ||
		rows[4][head["assignment_mean_seconds"]] != "15" || rows[3][head["offers_accepted"]] != "" {
		t.Errorf("values %q", rows)
	}
	b.Reset()
	if err := WriteCSV(&b, h.build(t, "", h.loc)); err != nil {
		t.Fatal(err)
	}
	if rows, err := csv.NewReader(&b).ReadAll(); err != nil || len(rows) != 2 || rows[0][0] != "group" || len(rows[0]) != len(rows[1]) {
		t.Errorf("totals only: %q %v", rows, err)
	}
}

func TestSeconds(t *testing.T) {
	for v, want := range map[float64]string{0: "-", 0.25: "0.3s", 9.94: "9.9s", 45: "45s", 65: "1m 05s", 3599: "59m 59s", 7800: "2h 10m"} {
		if got := Seconds(v); got != want {
			t.Errorf("Seconds(%v) = %q, want %q", v, got, want)
		}
	}
}
