package console

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The audit log page filters by actor, action and dates.
func TestAuditPage(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	if err := f.st.AuditAgentAction(f.ctx, "acme", "ann.agent", 1001, "#e", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AuditConsole(f.ctx, "acme", "sue.super", 1002, "#assign 1002 ann.agent", "done"); err != nil {
		t.Fatal(err)
	}
	r := b.get("/console/audit")
	r.expect(t, http.StatusOK, "agent.add", "ann.agent", "#assign 1002 ann.agent", `<option value="console">`)
	r = b.get("/console/audit?actor=ann.agent")
	r.expect(t, http.StatusOK, "chat #1001")
	if strings.Contains(r.body, "chat #1002") {
		t.Error("the actor filter let another actor through")
	}
	r = b.get("/console/audit?action=console")
	if !strings.Contains(r.body, "chat #1002") || strings.Contains(r.body, "chat #1001") {
		t.Errorf("the action filter:\n%s", r.body)
	}
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	b.get("/console/audit?from="+tomorrow).expect(t, http.StatusOK, "No entries.")
}
