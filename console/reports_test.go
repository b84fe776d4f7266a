package console

import (
	"net/http"
	"testing"
)

// The Reports page offers its pickers and says the reports are not wired.
func TestReportsPlaceholder(t *testing.T) {
	_, b := signedIn(t, "acme|sue.super")
	b.get("/console/reports?period=30d&group=week").expect(t, http.StatusOK, "Reports are not wired into this build yet",
		`<option value="30d" selected>`, `<option value="week" selected>`)
	b.get("/console/reports?period=bogus&group=bogus").expect(t, http.StatusOK, `<option value="7d" selected>`, `<option value="day" selected>`)
}
