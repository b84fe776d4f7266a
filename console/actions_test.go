package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"jabberdesk/store"
)

// A change without the session's CSRF token, or from another site, is
// refused and nothing happens; with it, the change is made and audited.
func TestCSRF(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	token := b.csrf()
	for name, form := range map[string]url.Values{
		"no token":    {"agent": {"ann.agent"}},
		"wrong token": {"agent": {"ann.agent"}, "csrf": {token + "x"}},
		"empty token": {"agent": {"ann.agent"}, "csrf": {""}},
	} {
		b.post("/console/chats/1001/assign", form).expect(t, http.StatusForbidden, "out of date")
		if calls := f.desk.called(); len(calls) != 0 {
			t.Fatalf("%s: the change was made: %q", name, calls)
		}
	}
	evil := f.browser()
	evil.mustSignIn("acme|sue.super")
	evil.header.Set("Origin", "https://evil.example")
	evil.header.Set("Sec-Fetch-Site", "cross-site")
	evil.post("/console/chats/1001/end", url.Values{"csrf": {evil.csrf()}}).expect(t, http.StatusForbidden, "another site")
	if calls := f.desk.called(); len(calls) != 0 {
		t.Fatalf("a cross-site change was made: %q", calls)
	}

	r := b.post("/console/chats/1001/assign", url.Values{"agent": {"ann.agent"}, "csrf": {token}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/live?portal=acme" {
		t.Fatalf("assign: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if calls := f.desk.called(); !slices.Equal(calls, []string{"assign acme 1001 ann.agent by sue.super/supervisor"}) {
		t.Fatalf("calls %q", calls)
	}
	b.get("/console/live").expect(t, http.StatusOK, "Chat #1001: assign done.")
	es, err := f.st.AuditQuery(f.ctx, store.AuditFilter{Portal: "acme", Action: store.AuditConsoleAction})
	if err != nil || len(es) != 1 || es[0].Actor != "sue.super" || es[0].Target != "chat #1001" ||
		es[0].Detail != `command="#assign 1001 ann.agent" result="Chat #1001: assign done."` {
		t.Fatalf("audit %+v %v", es, err)
	}

	// A refusal is shown and audited as one.
	f.desk.refuse = "Chat #1002 is over."
	b.post("/console/chats/1002/end", url.Values{"csrf": {token}}).expect(t, http.StatusSeeOther)
	b.get("/console/live").expect(t, http.StatusOK, "Chat #1002 is over.")
	es, _ = f.st.AuditQuery(f.ctx, store.AuditFilter{Portal: "acme", Action: store.AuditConsoleAction})
	if len(es) != 2 || es[0].Detail != `command="#e" result="refused: Chat #1002 is over."` {
		t.Fatalf("audit of the refusal %+v", es)
	}
}

// A supervisor sees and changes their own portal only.
func TestSupervisorStaysInTheirPortal(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	f.desk.setView("globex", waitingChat(1001, "Globex visitor"))
	for _, path := range []string{"/console/live?portal=globex", "/console/live/stream?portal=globex", "/console/conversations?portal=globex",
		"/console/conversations/1001?portal=globex", "/console/audit?portal=globex", "/console/reports?portal=globex"} {
		r := b.get(path)
		r.expect(t, http.StatusForbidden, "only an admin may see another portal")
		if strings.Contains(r.body, "Globex visitor") {
			t.Errorf("%s shows globex's chat", path)
		}
	}
	b.post("/console/chats/1001/end", url.Values{"csrf": {b.csrf()}, "portal": {"globex"}}).expect(t, http.StatusForbidden)
	if calls := f.desk.called(); len(calls) != 0 {
		t.Fatalf("a change in another portal: %q", calls)
	}
	if page := b.get("/console/live").body; strings.Contains(page, `name="portal" data-autosubmit`) {
		t.Error("a supervisor is offered a portal picker")
	}
}

// An admin picks any portal, sees its data, and changes it as
// PORTAL|USERNAME, nobody in its chats.
func TestAdminSeesEveryPortal(t *testing.T) {
	f, b := signedIn(t, "acme|ada.admin")
	f.desk.setView("globex", waitingChat(1001, "Globex visitor"))
	b.get("/console/live").expect(t, http.StatusOK, "<option selected>acme</option>", "<option>globex</option>", "No chats are waiting.")
	b.get("/console/live?portal=globex").expect(t, http.StatusOK, "Globex visitor", "<option selected>globex</option>", "1m 35s")
	b.get("/console/live?portal=nowhere").expect(t, http.StatusNotFound, "There is no portal nowhere.")
	b.post("/console/chats/1001/end", url.Values{"csrf": {b.csrf()}, "portal": {"globex"}}).expect(t, http.StatusSeeOther)
	if calls := f.desk.called(); !slices.Equal(calls, []string{"end globex 1001  by /admin"}) {
		t.Fatalf("calls %q", calls)
	}
	es, err := f.st.AuditQuery(f.ctx, store.AuditFilter{Portal: "globex", Action: store.AuditConsoleAction})
	if err != nil || len(es) != 1 || es[0].Actor != "acme|ada.admin" {
		t.Fatalf("audit %+v %v", es, err)
	}
}
