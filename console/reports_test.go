package console

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"testing"
)

// echoReporter draws what it was asked for.
type echoReporter struct{}

func (echoReporter) WriteReport(_ context.Context, w io.Writer, q ReportQuery) error {
	_, err := fmt.Fprintf(w, "<p>report of %s by %s from %s</p>", html.EscapeString(q.Portal), html.EscapeString(q.Group), q.From.Format("2006-01-02"))
	return err
}

// The Reports page offers its pickers and shows what the Reporter draws
// for them; unknown choices are the defaults.
func TestReportsPage(t *testing.T) {
	_, b := signedIn(t, "acme|sue.super")
	b.get("/console/reports?period=30d&group=agent").expect(t, http.StatusOK, "<p>report of acme by agent from",
		`<option value="30d" selected>`, `<option value="agent" selected>`)
	b.get("/console/reports?period=bogus&group=bogus").expect(t, http.StatusOK, `<option value="7d" selected>`, `<option value="day" selected>`,
		"<p>report of acme by day from")
}
