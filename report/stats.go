package report

import (
	"math"
	"slices"
	"time"
)

// samples collects times (in seconds) or counts to summarise.
type samples []float64

func (s *samples) add(v float64) { *s = append(*s, v) }

func (s *samples) addDuration(d time.Duration) {
	if d < 0 {
		d = 0 // clocks of two machines, or a store edited by hand
	}
	s.add(d.Seconds())
}

// summary is the count, mean and nearest-rank 50th and 90th percentiles
// (docs/REPORTS.md §3), rounded to milliseconds. It sorts s.
func (s samples) summary() (n int, mean, p50, p90 float64) {
	if len(s) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return len(s), round(sum / float64(len(s))), round(s.percentile(50)), round(s.percentile(90))
}

// percentile is the nearest-rank percentile of sorted samples: the
// smallest value with at least p% of the samples at or below it.
func (s samples) percentile(p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func (s samples) durations() Durations {
	n, mean, p50, p90 := s.summary()
	return Durations{Count: n, Mean: mean, P50: p50, P90: p90}
}

func (s samples) numbers() Numbers {
	n, mean, p50, p90 := s.summary()
	return Numbers{Count: n, Mean: mean, P50: p50, P90: p90}
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// emptyBins are the histogram's bins: under 10 s, 10–30 s, 30 s–1 min,
// 1–2, 2–5, 5–10, 10–30 min, and 30 min or more.
func emptyBins() []Bin {
	return []Bin{
		{Label: "<10s", From: 0, To: 10}, {Label: "10–30s", From: 10, To: 30}, {Label: "30s–1m", From: 30, To: 60},
		{Label: "1–2m", From: 60, To: 120}, {Label: "2–5m", From: 120, To: 300}, {Label: "5–10m", From: 300, To: 600},
		{Label: "10–30m", From: 600, To: 1800}, {Label: "≥30m", From: 1800},
	}
}

// histogram counts samples into the bins.
func (s samples) histogram() []Bin {
	bins := emptyBins()
	for _, v := range s {
		i := len(bins) - 1
		for i > 0 && v < bins[i].From {
			i--
		}
		bins[i].Count++
	}
	return bins
}

// acc accumulates the measures of one set of chats.
type acc struct {
	chats                                               Chats
	assignment, firstResponse, response, duration, msgs samples
}

func (a *acc) measures() Measures {
	return Measures{
		Chats: a.chats, Assignment: a.assignment.durations(), FirstResponse: a.firstResponse.durations(),
		Response: a.response.durations(), Duration: a.duration.durations(), Messages: a.msgs.numbers(),
	}
}
