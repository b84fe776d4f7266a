package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/report"
)

// reportFlags are report's options as typed.
type reportFlags struct {
	since, until, tz string
	by               report.Grouping
	csv              bool
	html             string
}

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report PORTAL",
		Short: "Measure a portal's chats over a period: volume, times, agents, ratings",
		Long: `Report measures the chats that started in a period [--since, --until):
how many started, were answered (accepted by an agent), missed, ended,
resolved (ended after an agent wrote), transferred, reopened (#reopen)
and converted to tickets; the assignment time (accepted − started), the first response
time (first agent message − started), the response time (each customer
message while the chat is active to the next agent message), the chat's
duration and its messages, each as mean, median and 90th percentile;
new and returning contacts and those waiting now; per agent their chats,
offers accepted, declined and timed out, their times and the time they
spent available, away, busy and offline; and the visitors' ratings.
docs/REPORTS.md defines each measure and the JSON fields.

Times are a date (2026-12-01, midnight), a date and time (2026-12-01T09:00
or RFC 3339), or a duration back from now (7d, 24h, 1w); dates and days
are in --tz (default: $TZ, else this machine's zone). --by groups the
measures by day, hour, agent, department or channel (web chats are
"web").

Without --json or --csv it prints tables. --html FILE also writes one
self-contained HTML page with charts (volume over time, the distributions
of assignment and first-response times) and the agents' table.`,
		Example: `  jabberdesk report acme
  jabberdesk report acme --since 2026-12-01 --until 2027-01-01 --by day --tz Europe/Berlin
  jabberdesk report acme --since 24h --by hour --json
  jabberdesk report acme --since 30d --by agent --csv > agents.csv
  jabberdesk report acme --since 2026-11-01 --html november.html`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd, e, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "7d", "start of the period: a date, a time or a duration back from now")
	fl.StringVar(&f.until, "until", "", "end of the period, not included (default: now)")
	fl.StringVar(&f.tz, "tz", "", "time `ZONE` of dates, days and hours, such as Europe/Berlin or UTC (default: local)")
	choiceVar(fl, &f.by, "by", "grouping", report.ParseGrouping, "group by day, hour, agent, department or channel")
	fl.BoolVar(&f.csv, "csv", false, "print one CSV table (a row per group, then the total)")
	fl.StringVar(&f.html, "html", "", "also write the report as a self-contained HTML page to `FILE`")
	return cmd
}

// reportOptions reads the period and zone of report's flags.
func reportOptions(portal string, f reportFlags, now time.Time) (report.Options, error) {
	o := report.Options{Portal: portal, By: f.by, Location: time.Local, Now: now, Until: now}
	if tz := os.Getenv("TZ"); f.tz == "" && tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			o.Location = loc // the local zone by its name
		}
	}
	if f.tz != "" {
		loc, err := time.LoadLocation(f.tz)
		if err != nil {
			return o, usagef("--tz %q is not a time zone (try Europe/Berlin, America/New_York or UTC)", f.tz)
		}
		o.Location = loc
	}
	var err error
	if o.Since, err = report.ParseTime(f.since, now, o.Location); err != nil {
		return o, usagef("--since: %v", err)
	}
	if f.until != "" {
		if o.Until, err = report.ParseTime(f.until, now, o.Location); err != nil {
			return o, usagef("--until: %v", err)
		}
	}
	if !o.Until.After(o.Since) {
		return o, usagef("the period is empty: --until (%s) is not after --since (%s)",
			o.Until.In(o.Location).Format(time.RFC3339), o.Since.In(o.Location).Format(time.RFC3339))
	}
	return o, nil
}

func runReport(cmd *cobra.Command, e *env, portal string, f reportFlags) error {
	if f.csv && e.jsonOut {
		return usagef("--csv and --json: choose one")
	}
	o, err := reportOptions(portal, f, time.Now())
	if err != nil {
		return err
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	r, err := report.Build(cmd.Context(), st, o)
	if err != nil {
		return err
	}
	if f.html != "" {
		var b bytes.Buffer
		if err := report.WriteHTML(&b, r); err != nil {
			return err
		}
		if err := os.WriteFile(f.html, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the HTML report: %w", err)
		}
	}
	if f.csv {
		return report.WriteCSV(cmd.OutOrStdout(), r)
	}
	return e.emit(cmd, r, func(w *textout.Writer) error {
		if err := printReport(w, r); err != nil {
			return err
		}
		if f.html != "" {
			w.Printf("\nHTML report written to %s.\n", f.html)
		}
		return nil
	})
}

// printReport prints the report's tables.
func printReport(w *textout.Writer, r *report.Report) error {
	w.Printf("Report of %s: %s to %s (%s)\n\n", r.Portal, r.Since.Format("2006-01-02 15:04"), r.Until.Format("2006-01-02 15:04"), r.TimeZone)
	tw := newTable(w)
	c := r.Totals.Chats
	tw.Println("STARTED\tANSWERED\tMISSED\tENDED\tRESOLVED\tTRANSFERRED\tREOPENED\tCONVERTED")
	tw.Printf("%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", c.Started, c.Answered, c.Missed, c.Ended, c.Resolved, c.Transferred, c.Reopened, c.Converted)
	if err := tw.Flush(); err != nil {
		return err
	}
	w.Println()
	tw = newTable(w)
	tw.Println("TIME\tCOUNT\tMEAN\tMEDIAN\t90TH PERCENTILE")
	for _, d := range []struct {
		name string
		d    report.Durations
	}{{"assignment", r.Totals.Assignment}, {"first response", r.Totals.FirstResponse}, {"response", r.Totals.Response}, {"duration", r.Totals.Duration}} {
		tw.Printf("%s\t%d\t%s\t%s\t%s\n", d.name, d.d.Count, report.Seconds(d.d.Mean), report.Seconds(d.d.P50), report.Seconds(d.d.P90))
	}
	m := r.Totals.Messages
	tw.Printf("messages per chat\t%d\t%s\t%s\t%s\n", m.Count, number(m.Mean), number(m.P50), number(m.P90))
	if err := tw.Flush(); err != nil {
		return err
	}
	rt := r.Ratings
	w.Printf("\nContacts: %d new, %d returning, %d waiting now.\n", r.Contacts.New, r.Contacts.Returning, r.Contacts.WaitingNow)
	w.Printf("Ratings: %d, mean %s; 1 to 5 stars: %d %d %d %d %d.\n", rt.Count, number(rt.Mean),
		rt.Distribution[0], rt.Distribution[1], rt.Distribution[2], rt.Distribution[3], rt.Distribution[4])
	if len(r.Groups) > 0 {
		w.Println()
		if err := printGroups(w, r); err != nil {
			return err
		}
	}
	w.Println()
	return printAgents(w, r.Agents)
}

// printGroups prints the measures per group.
func printGroups(w *textout.Writer, r *report.Report) error {
	tw := newTable(w)
	tw.Printf("%s\tSTARTED\tANSWERED\tMISSED\tRESOLVED\tTRANSFERRED\tASSIGNMENT\tFIRST RESPONSE\tRESPONSE\n", strings.ToUpper(string(r.By)))
	for _, g := range r.Groups {
		c := g.Chats
		tw.Printf("%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", g.Key, c.Started, c.Answered, c.Missed, c.Resolved, c.Transferred,
			report.Seconds(g.Assignment.Mean), report.Seconds(g.FirstResponse.Mean), report.Seconds(g.Response.Mean))
	}
	return tw.Flush()
}

// printAgents prints the agents' table.
func printAgents(w *textout.Writer, agents []report.Agent) error {
	if len(agents) == 0 {
		w.Println("No agents.")
		return nil
	}
	tw := newTable(w)
	tw.Println("AGENT\tNAME\tCHATS\tACCEPTED\tDECLINED\tTIMED OUT\tASSIGNMENT\tFIRST RESPONSE\tRESPONSE\tAVAILABLE\tAWAY\tBUSY\tOFFLINE")
	for _, a := range agents {
		p := a.Presence
		tw.Printf("%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Username, a.Name, a.Handled, a.Accepted, a.Declined, a.TimedOut,
			report.Seconds(a.Assignment.Mean), report.Seconds(a.FirstResponse.Mean), report.Seconds(a.Response.Mean),
			report.Seconds(p.Available), report.Seconds(p.Away), report.Seconds(p.Busy), report.Seconds(p.Offline))
	}
	return tw.Flush()
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
