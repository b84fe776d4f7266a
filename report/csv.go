package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// WriteCSV writes the report as one table with one header row: a row
// per group (none without a grouping), then the row "total". Times are
// in seconds. Grouped by agent, the rows of the portal's agents also
// have their offers and presence.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	header := []string{string(r.By), "started", "answered", "missed", "ended", "resolved", "transferred", "reopened", "converted"}
	if r.By == "" {
		header[0] = "group"
	}
	for _, d := range []string{"assignment", "first_response", "response", "duration"} {
		header = append(header, d+"_count", d+"_mean_seconds", d+"_p50_seconds", d+"_p90_seconds")
	}
	header = append(header, "messages_mean", "messages_p50", "messages_p90")
	if r.By == ByAgent {
		header = append(header, "offers_accepted", "offers_declined", "offers_timed_out",
			"available_seconds", "away_seconds", "busy_seconds", "offline_seconds")
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	agents := map[string]Agent{}
	for _, a := range r.Agents {
		agents[a.Username] = a
	}
	for _, g := range append(slices.Clip(r.Groups), Group{Key: "total", Measures: r.Totals}) {
		row := csvMeasures(g.Key, g.Measures)
		if r.By == ByAgent {
			row = append(row, csvAgent(agents, g.Key)...)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	return nil
}

// csvMeasures is a group's row up to the messages.
func csvMeasures(key string, m Measures) []string {
	c := m.Chats
	row := []string{key}
	for _, n := range []int{c.Started, c.Answered, c.Missed, c.Ended, c.Resolved, c.Transferred, c.Reopened, c.Converted} {
		row = append(row, strconv.Itoa(n))
	}
	for _, d := range []Durations{m.Assignment, m.FirstResponse, m.Response, m.Duration} {
		row = append(row, strconv.Itoa(d.Count), csvFloat(d.Mean), csvFloat(d.P50), csvFloat(d.P90))
	}
	return append(row, csvFloat(m.Messages.Mean), csvFloat(m.Messages.P50), csvFloat(m.Messages.P90))
}

// csvAgent is the agent columns of a group grouped by agent: empty for
// the group of chats without one and for the total.
func csvAgent(agents map[string]Agent, key string) []string {
	a, ok := agents[key]
	if !ok {
		return make([]string, 7)
	}
	p := a.Presence
	return []string{strconv.Itoa(a.Accepted), strconv.Itoa(a.Declined), strconv.Itoa(a.TimedOut),
		csvFloat(p.Available), csvFloat(p.Away), csvFloat(p.Busy), csvFloat(p.Offline)}
}

func csvFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
