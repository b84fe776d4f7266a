package report

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-12-01":                time.Date(2026, 12, 1, 0, 0, 0, 0, loc),
		"2026-12-01T08:30":          time.Date(2026, 12, 1, 8, 30, 0, 0, loc),
		"2026-12-01 08:30":          time.Date(2026, 12, 1, 8, 30, 0, 0, loc),
		"2026-12-01T08:30:00+01:00": time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"24h":                       now.Add(-24 * time.Hour),
		"1w2d":                      now.Add(-9 * 24 * time.Hour),
		"1d12h":                     now.Add(-36 * time.Hour),
		" 90m ":                     now.Add(-90 * time.Minute),
	} {
		got, err := ParseTime(in, now, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "0d", "-5h", "5x", "d"} {
		if got, err := ParseTime(bad, now, loc); err == nil {
			t.Errorf("ParseTime(%q) = %v", bad, got)
		}
	}
}

func TestParseGrouping(t *testing.T) {
	for _, s := range []string{"day", "HOUR", "agent", "department", "channel"} {
		if _, err := ParseGrouping(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseGrouping("week"); err == nil {
		t.Error("week accepted")
	}
}

// Days and hours follow the zone's clocks: the day clocks go back has 25
// hours, and the hour that repeats is one group.
func TestBucketsAcrossAChangeOfClocks(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	since, until := time.Date(2026, 10, 25, 0, 0, 0, 0, loc), time.Date(2026, 10, 26, 0, 0, 0, 0, loc)
	if days := buckets(since, until, ByDay, loc); len(days) != 1 {
		t.Errorf("days %v", days)
	}
	hours := buckets(since, until, ByHour, loc)
	if len(hours) != 24 || bucketKey(hours[2], ByHour) != "2026-10-25 02:00" || bucketKey(hours[3], ByHour) != "2026-10-25 03:00" {
		t.Errorf("%d hours: %v", len(hours), hours)
	}
	// Both 02:30s (summer and winter time) are in the 02:00 group.
	summer, winter := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)
	if bucketKey(bucketStart(summer, ByHour, loc), ByHour) != "2026-10-25 02:00" || bucketKey(bucketStart(winter, ByHour, loc), ByHour) != "2026-10-25 02:00" {
		t.Errorf("02:30 twice: %v %v", bucketStart(summer, ByHour, loc), bucketStart(winter, ByHour, loc))
	}
	// In spring 02:00 does not exist.
	spring := buckets(time.Date(2026, 3, 29, 0, 0, 0, 0, loc), time.Date(2026, 3, 30, 0, 0, 0, 0, loc), ByHour, loc)
	if len(spring) != 23 {
		t.Errorf("spring day of %d hours", len(spring))
	}
	if volumeUnit(since, since.Add(48*time.Hour)) != ByHour || volumeUnit(since, since.Add(49*time.Hour)) != ByDay {
		t.Error("volume unit")
	}
}

func TestPercentilesAndHistogram(t *testing.T) {
	s := samples{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	if n, mean, p50, p90 := s.summary(); n != 10 || mean != 5.5 || p50 != 5 || p90 != 9 {
		t.Errorf("summary %d %v %v %v", n, mean, p50, p90)
	}
	if (samples{42}).durations() != (Durations{1, 42, 42, 42}) || (samples{}).durations() != (Durations{}) {
		t.Error("one sample or none")
	}
	var d samples
	d.addDuration(-time.Second)
	d.addDuration(1800 * time.Second)
	d.addDuration(59999 * time.Millisecond)
	bins := d.histogram()
	if bins[0].Count != 1 || bins[2].Count != 1 || bins[7].Count != 1 || bins[7].To != 0 || bins[6].To != 1800 {
		t.Errorf("bins %+v", bins)
	}
}
