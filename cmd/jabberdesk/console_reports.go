package main

import (
	"context"
	"io"
	"time"

	"jabberdesk/console"
	"jabberdesk/report"
	"jabberdesk/store"
)

// consoleReports draws the console's Reports page with package report:
// the same measures and charts as `jabberdesk report --html`.
type consoleReports struct{ st *store.Store }

func (c consoleReports) WriteReport(ctx context.Context, w io.Writer, q console.ReportQuery) error {
	by, err := report.ParseGrouping(q.Group)
	if err != nil {
		return err
	}
	r, err := report.Build(ctx, c.st, report.Options{Portal: q.Portal, Since: q.From, Until: q.To, By: by, Location: q.Location, Now: time.Now()})
	if err != nil {
		return err
	}
	return report.WriteFragment(w, r)
}
