package console

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"jabberdesk/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Conversations: a search by words of the transcript finds the chat; the
// chat's page shows its transcript and its ticket.
func TestConversations(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	c := f.chat("acme", "Nora Visitor", "nora@example.com", "Refund please", "The blender arrived broken")
	f.chat("acme", "Otto Visitor", "", "Opening hours?", "Are you open on Sunday")
	f.chat("globex", "Nora Elsewhere", "", "blender", "blender broken too")
	if _, err := f.st.CreateTicket(f.ctx, store.NewTicket{Portal: "acme", ChatID: c.ID, Transcript: "…", Actor: "sue.super"}); err != nil {
		t.Fatal(err)
	}
	r := b.get("/console/conversations?q=blender+broken")
	r.expect(t, http.StatusOK, "Nora Visitor", "/console/conversations/"+itoa(c.Number)+"?portal=acme")
	if strings.Contains(r.body, "Otto") || strings.Contains(r.body, "Elsewhere") {
		t.Errorf("the search found other chats:\n%s", r.body)
	}
	b.get("/console/conversations?q=nora@example.com").expect(t, http.StatusOK, "Nora Visitor")
	b.get("/console/conversations?q=nobody+says+this").expect(t, http.StatusOK, "No conversation matches.")
	b.get("/console/conversations?from=2026-13-01").expect(t, http.StatusOK, "is not a day like")
	b.get("/console/conversations?from=2026-03-02&to=2026-03-01").expect(t, http.StatusOK, "The from date is after the to date.")
	b.get("/console/conversations").expect(t, http.StatusOK, "Nora Visitor", "Otto Visitor")
	b.get("/console/conversations/"+itoa(c.Number)).expect(t, http.StatusOK, "Nora Visitor: Refund please",
		"Nora Visitor: The blender arrived broken", "#1 Refund please", "none, open, none")
	b.get("/console/conversations/9999").expect(t, http.StatusNotFound, "has no chat #9999")
}

// What visitors wrote is shown as text, never as markup; a page address
// that is not a web address is not shown.
func TestConversationEscaped(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	c := f.chat("acme", evilName, "", "<script>alert(2)</script>", "<b>bold</b>")
	for _, path := range []string{"/console/conversations", "/console/conversations/" + itoa(c.Number)} {
		page := b.get(path).body
		if strings.Contains(page, "<img src=x") || strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>bold") {
			t.Errorf("%s: a visitor's markup is in the page", path)
		}
		if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the visitor's name is not shown escaped", path)
		}
	}
	if page := b.get("/console/conversations/" + itoa(c.Number)).body; strings.Contains(page, "javascript:") {
		t.Error("a visitor's page address that is not a web address is shown")
	}
}
