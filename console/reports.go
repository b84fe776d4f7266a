package console

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"net/http"
	"time"
)

// The Reports page: a period and a grouping, and what the Reporter draws
// for them (package report's measures and charts, once wired).

// Reporter draws a portal's reports for a period as an HTML fragment.
// What it writes goes into the page as it is: it must escape what it
// shows, and may not script (the page's policy refuses inline script).
type Reporter interface {
	WriteReport(ctx context.Context, w io.Writer, q ReportQuery) error
}

// ReportQuery is what the Reports page asks for.
type ReportQuery struct {
	Portal   string
	From, To time.Time      // From ≤ t < To
	Group    string         // "day", "hour", "agent", "department" or "channel"
	Location *time.Location // the zone the groups' boundaries are in
}

// option is a choice of a picker.
type option struct {
	Value, Label string
	Selected     bool
}

// reportPeriods are the periods the page offers, the first the default;
// each ends with the current day.
var reportPeriods = []struct {
	value, label string
	days         int // the days before today it starts
}{
	{"7d", "Last 7 days", 6}, {"today", "Today", 0}, {"30d", "Last 30 days", 29}, {"90d", "Last 90 days", 89}, {"365d", "Last 365 days", 364},
}

// reportGroups are the groupings, the first the default.
var reportGroups = []option{{Value: "day", Label: "Day"}, {Value: "hour", Label: "Hour"}, {Value: "agent", Label: "Agent"},
	{Value: "department", Label: "Department"}, {Value: "channel", Label: "Channel"}}

// reportsData is the Reports page.
type reportsData struct {
	Periods, Groups []option
	From, To        time.Time
	HTML            template.HTML
}

// reportsPage draws the reports for the period and grouping asked for
// (unknown ones: the defaults).
func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, ok := s.portal(w, r, v)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := reportsData{}
	days := reportPeriods[0].days
	for i, p := range reportPeriods {
		sel := p.value == q.Get("period") || i == 0 && !validPeriod(q.Get("period"))
		if sel {
			days = p.days
		}
		d.Periods = append(d.Periods, option{Value: p.value, Label: p.label, Selected: sel})
	}
	group := reportGroups[0].Value
	for _, g := range reportGroups {
		if g.Value == q.Get("group") {
			group = g.Value
		}
	}
	for _, g := range reportGroups {
		g.Selected = g.Value == group
		d.Groups = append(d.Groups, g)
	}
	y, m, day := s.now().In(time.Local).Date()
	d.To = time.Date(y, m, day+1, 0, 0, 0, 0, time.Local)
	d.From = d.To.AddDate(0, 0, -days-1)
	var b bytes.Buffer
	rq := ReportQuery{Portal: portal, From: d.From, To: d.To, Group: group, Location: time.Local}
	if err := s.cfg.Reporter.WriteReport(r.Context(), &b, rq); err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	d.HTML = template.HTML(b.String()) // the Reporter's own HTML, escaped by it (see Reporter)
	s.render(w, r, http.StatusOK, "reports", s.pageFor(r, v, portal, "reports", "Reports", d))
}

func validPeriod(p string) bool {
	for _, x := range reportPeriods {
		if x.value == p {
			return true
		}
	}
	return false
}
