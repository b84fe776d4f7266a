package report

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"jabberdesk/report/reporttest"
	"jabberdesk/store"
)

// BenchmarkReportYear measures a year of 100 chats a day (36,500 chats,
// 20 events each, five agents changing presence four times a day),
// inserted through the store, then reported in one go, grouped by day.
// The figure is in BENCHMARKS.md.
func BenchmarkReportYear(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(b.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddPortal(ctx, "acme", "bench"); err != nil {
		b.Fatal(err)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	reporttest.Year(b, st, "acme", start)
	o := Options{Portal: "acme", Since: start, Until: start.AddDate(1, 0, 0), By: ByDay, Location: time.UTC}
	cpu := cpuTime(b)
	for b.Loop() {
		r, err := Build(ctx, st, o)
		if err != nil {
			b.Fatal(err)
		}
		if r.Totals.Chats.Started != reporttest.Days*reporttest.ChatsPerDay {
			b.Fatalf("%d chats", r.Totals.Chats.Started)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64((cpuTime(b)-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the processor time the process has used, which a busy
// machine inflates less than the time on the clock.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
