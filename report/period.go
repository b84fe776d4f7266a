package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Grouping is what a report's groups are: days, hours, agents,
// departments or channels.
type Grouping string

// The groupings.
const (
	ByDay        Grouping = "day"
	ByHour       Grouping = "hour"
	ByAgent      Grouping = "agent"
	ByDepartment Grouping = "department"
	ByChannel    Grouping = "channel"
)

// ParseGrouping checks a grouping's name.
func ParseGrouping(s string) (Grouping, error) {
	switch g := Grouping(strings.ToLower(s)); g {
	case ByDay, ByHour, ByAgent, ByDepartment, ByChannel:
		return g, nil
	}
	return "", fmt.Errorf("%q is not one of day, hour, agent, department, channel", s)
}

// Keys of groups that have no agent, department or channel.
const (
	NoAgent      = "(none)"
	NoDepartment = "(none)"
	WebChannel   = "web" // a chat from the website widget
)

// ParseTime reads a point in time as the CLI takes it: a date
// (2026-12-01, midnight in loc), a date and time (RFC 3339, or
// 2026-12-01T15:04 in loc), or a duration back from now (7d, 24h, 90m,
// 1h30m).
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if d, err := parseAgo(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-12-01), a time (RFC 3339) or a duration (7d, 24h)", s)
}

// parseAgo reads a duration in Go's units plus days (d) and weeks (w).
func parseAgo(s string) (time.Duration, error) {
	var d time.Duration
	for _, unit := range []struct {
		suffix string
		size   time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if n, rest, ok := leadingCount(s, unit.suffix); ok {
			d += time.Duration(n) * unit.size
			s = rest
		}
	}
	if s != "" {
		more, err := time.ParseDuration(s)
		if err != nil {
			return 0, err
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("a duration back from now must be positive")
	}
	return d, nil
}

// leadingCount takes "N"+suffix from the start of s.
func leadingCount(s, suffix string) (int, string, bool) {
	i := strings.Index(s, suffix)
	if i <= 0 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 0 {
		return 0, s, false
	}
	return n, s[i+len(suffix):], true
}

// bucketStart is the start of the day or hour holding t, in loc.
func bucketStart(t time.Time, unit Grouping, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	if unit == ByHour {
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, loc)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// nextBucket is the start of the day or hour after the one starting at
// start. An hour that a change of clocks repeats is one bucket.
func nextBucket(start time.Time, unit Grouping, loc *time.Location) time.Time {
	y, m, d := start.Date()
	if unit == ByDay {
		return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	for h := 1; ; h++ {
		next := time.Date(y, m, d, start.Hour()+h, 0, 0, 0, loc)
		if next.After(start) && !bucketStart(next, ByHour, loc).Equal(start) {
			return next
		}
	}
}

// bucketKey names a day or hour bucket.
func bucketKey(start time.Time, unit Grouping) string {
	if unit == ByHour {
		return start.Format("2006-01-02 15:00")
	}
	return start.Format("2006-01-02")
}

// buckets lists the days or hours that [since, until) touches.
func buckets(since, until time.Time, unit Grouping, loc *time.Location) []time.Time {
	var out []time.Time
	for b := bucketStart(since, unit, loc); b.Before(until); b = nextBucket(b, unit, loc) {
		out = append(out, b)
	}
	return out
}

// volumeUnit is the bucket of the volume series: hours for periods of up
// to two days, else days.
func volumeUnit(since, until time.Time) Grouping {
	if until.Sub(since) <= 48*time.Hour {
		return ByHour
	}
	return ByDay
}
