package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"
)

//go:embed report.html.tmpl
var pageSource string

// page is the report's HTML page: one file with its styles and charts
// inline, that loads nothing.
func page() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"seconds":  Seconds,
		"number":   func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		"date":     func(t time.Time) string { return t.Format("2006-01-02") },
		"datetime": func(t time.Time) string { return t.Format("2006-01-02 15:04") },
	}).Parse(pageSource)
}

// WriteHTML writes the report as one self-contained HTML page: the
// measures' tables, the agents' table and the charts (volume over time,
// the distributions of assignment and first-response times) as inline
// SVG. A web console can serve it as it is.
func WriteHTML(w io.Writer, r *Report) error {
	return writeReport(w, r, "report", func(svg []byte) template.HTML {
		return template.HTML(svg) // drawn here from numbers and fixed labels: trusted
	})
}

// WriteFragment writes the report's content for a page of its own (a web
// console's): no document around it, and each chart as an image of its
// own (a data: URL), so that the page's content policy need not allow
// inline styles.
func WriteFragment(w io.Writer, r *Report) error {
	return writeReport(w, r, "content", func(svg []byte) template.HTML {
		return template.HTML(`<img alt="" src="data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString(svg) + `">`)
	})
}

// writeReport executes the page's template name with the charts made
// HTML by chart.
func writeReport(w io.Writer, r *Report, name string, chart func([]byte) template.HTML) error {
	t, err := page()
	if err != nil {
		return fmt.Errorf("report: page: %w", err)
	}
	volume, err := VolumeSVG(r)
	if err != nil {
		return err
	}
	assignment, err := HistogramSVG("Assignment time", r.AssignmentHistogram)
	if err != nil {
		return err
	}
	first, err := HistogramSVG("First response time", r.FirstResponseHistogram)
	if err != nil {
		return err
	}
	data := struct {
		R                                 *Report
		Volume, Assignment, FirstResponse template.HTML
	}{r, chart(volume), chart(assignment), chart(first)}
	if err := t.ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("report: write page: %w", err)
	}
	return nil
}

// Seconds shows a time in seconds as people read it: 45s, 3m 05s,
// 2h 10m; "-" for none.
func Seconds(v float64) string {
	if v == 0 {
		return "-"
	}
	s := int64(math.Round(v))
	switch {
	case v < 10:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "s"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
}
