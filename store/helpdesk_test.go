package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// helpdeskFixture is chatFixture with a fixed clock that the test can move
// with the returned function.
func helpdeskFixture(t *testing.T) (*Store, context.Context, func(time.Duration)) {
	t.Helper()
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, ctx, func(d time.Duration) { now = now.Add(d) }
}

func mustTicket(t *testing.T, s *Store, n NewTicket) Ticket {
	t.Helper()
	tk, err := s.CreateTicket(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// wantErr fails unless err is of kind and its text contains want.
func wantErr(t *testing.T, err, kind error, want string) {
	t.Helper()
	if !errors.Is(err, kind) || !strings.Contains(fmt.Sprint(err), want) {
		t.Fatalf("got error %v, want %v containing %q", err, kind, want)
	}
	var ue *UserError
	if !errors.As(err, &ue) {
		t.Fatalf("%v is not a UserError", err)
	}
}

func numbers(ts []Ticket) string {
	var ns []string
	for _, t := range ts {
		ns = append(ns, fmt.Sprint(t.Number))
	}
	return strings.Join(ns, " ")
}

func TestTicketNumbersPerPortal(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	for i, p := range []string{"acme", "globex", "acme", "acme", "globex"} {
		tk := mustTicket(t, s, NewTicket{Portal: p, Subject: fmt.Sprint("subject ", i), Email: "ann@example.com", Channel: TicketChannelCLI})
		want := map[int]int64{0: 1, 1: 1, 2: 2, 3: 3, 4: 2}[i]
		if tk.Number != want || tk.Portal != p {
			t.Fatalf("ticket %d in %s is #%d, want #%d", i, p, tk.Number, want)
		}
	}
	a, err := s.Ticket(ctx, "acme", 3)
	if err != nil || a.Subject != "subject 3" || a.ContactEmail != "ann@example.com" || a.Channel != "cli" {
		t.Fatalf("acme #3: %+v %v", a, err)
	}
	if g, err := s.Ticket(ctx, "globex", 2); err != nil || g.Subject != "subject 4" || g.ContactID == a.ContactID {
		t.Fatalf("globex #2: %+v %v (contacts must be per portal)", g, err)
	}
	_, err = s.Ticket(ctx, "globex", 3)
	wantErr(t, err, ErrNotFound, `ticket #3 does not exist in portal "globex"`)
	_, err = s.Ticket(ctx, "nope", 1)
	wantErr(t, err, ErrNotFound, `portal "nope" does not exist`)
	if got := auditActions(t, s, "acme", 1); got[0] != "cli ticket.add #3" {
		t.Fatalf("audit %v", got)
	}
}

func TestCreateTicketErrors(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	for _, tc := range []struct {
		change func(*NewTicket)
		kind   error
		want   string
	}{
		{func(n *NewTicket) { n.Email = "" }, ErrInvalid, "the visitor has no email: set one with #support setemail EMAIL"},
		{func(n *NewTicket) { n.Email = "ann at example" }, ErrInvalid, `email "ann at example" is not a valid address`},
		{func(n *NewTicket) { n.Subject = " " }, ErrInvalid, "a subject is required"},
		{func(n *NewTicket) { n.Subject = strings.Repeat("x", TicketSubjectMax+1) }, ErrInvalid, "the subject is too long"},
		{func(n *NewTicket) { n.Priority = 4 }, ErrInvalid, "priority 4 is not one of 0 none, 1 low, 2 medium, 3 high"},
		{func(n *NewTicket) { n.Status = -1 }, ErrInvalid, "status -1 is not one of 0 open, 1 on hold, 2 escalated, 3 closed"},
		{func(n *NewTicket) { n.Classification = 5 }, ErrInvalid, "classification 5 is not one of 0 none, 1 question, 2 problem, 3 feature, 4 others"},
		{func(n *NewTicket) { n.Channel = "mail" }, ErrInvalid, `ticket channel "mail" is not one of chat, cli`},
		{func(n *NewTicket) { n.Department = "Billing" }, ErrNotFound, `department "Billing" does not exist in portal "acme"`},
		{func(n *NewTicket) { n.Portal = "nope" }, ErrNotFound, `portal "nope" does not exist`},
		{func(n *NewTicket) { n.ChatID = 999 }, ErrNotFound, `chat 999 does not exist in portal "acme"`},
	} {
		n := NewTicket{Portal: "acme", Subject: "Help", Email: "ann@example.com"}
		tc.change(&n)
		_, err := s.CreateTicket(ctx, n)
		wantErr(t, err, tc.kind, tc.want)
	}
	if ts, _ := s.Tickets(ctx, "acme", "all", 0); len(ts) != 0 {
		t.Fatalf("tickets made by failed calls: %+v", ts)
	}
	// A department given is spelled as the portal spells it.
	if tk := mustTicket(t, s, NewTicket{Portal: "acme", Subject: "Help", Email: "ann@example.com", Department: "sales"}); tk.Department != "Sales" {
		t.Fatalf("department %q", tk.Department)
	}
}

func TestTicketDueAndOverdue(t *testing.T) {
	s, ctx, advance := helpdeskFixture(t)
	start := s.now()
	if _, err := s.AddAccount(ctx, Account{Portal: "acme", Name: "Initech", SLAName: "Gold", ResponseHours: 4, ResolutionHours: 24}, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddContact(ctx, Contact{Portal: "acme", Name: "Peter", Email: "peter@initech.example", Account: "initech"}, "cli"); err != nil {
		t.Fatal(err)
	}
	tk := mustTicket(t, s, NewTicket{Portal: "acme", Subject: "TPS reports", Email: "Peter@Initech.example"})
	if tk.DueAt == nil || !tk.DueAt.Equal(start.Add(24*time.Hour)) || tk.Overdue || tk.ContactName != "Peter" {
		t.Fatalf("new ticket %+v", tk)
	}
	plain := mustTicket(t, s, NewTicket{Portal: "acme", Subject: "No SLA", Email: "ann@example.com", Name: "Ann"})
	if plain.DueAt != nil || plain.Overdue {
		t.Fatalf("ticket without SLA %+v", plain)
	}

	advance(24 * time.Hour)
	if got, _ := s.Ticket(ctx, "acme", tk.Number); got.Overdue {
		t.Fatal("overdue at the due time")
	}
	advance(time.Millisecond)
	got, err := s.Ticket(ctx, "acme", tk.Number)
	if err != nil || !got.Overdue {
		t.Fatalf("not overdue after the due time: %+v %v", got, err)
	}
	if total, overdue, err := s.TicketCounts(ctx, "acme", "peter@initech.example"); err != nil || total != 1 || overdue != 1 {
		t.Fatalf("counts %d %d %v", total, overdue, err)
	}
	if _, err := s.SetTicketStatus(ctx, "acme", tk.Number, TicketClosed, "fiona.b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Ticket(ctx, "acme", tk.Number); got.Overdue || got.DueAt == nil {
		t.Fatalf("closed ticket overdue: %+v", got)
	}
	if total, overdue, err := s.TicketCounts(ctx, "acme", "peter@initech.example"); err != nil || total != 1 || overdue != 0 {
		t.Fatalf("counts after closing %d %d %v", total, overdue, err)
	}
}

func TestTicketJSON(t *testing.T) {
	s, _, _ := helpdeskFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", "ann@example.com"))
	tk := mustTicket(t, s, NewTicket{Portal: "acme", ChatID: c.ID, Priority: 1, Status: 1, Classification: 2, Transcript: "hi"})
	if tk.Words() != "low, on hold, problem" {
		t.Fatalf("words %q", tk.Words())
	}
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"priority":"low"`, `"status":"on hold"`, `"classification":"problem"`, `"overdue":false`,
		`"chat_numbers":[1001]`, `"contact_email":"ann@example.com"`, `"number":1`, `"channel":"chat"`, `"missed":false`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "due_at") {
		t.Errorf("JSON %s has a due time without SLA", b)
	}
	var back Ticket
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, tk) {
		t.Fatalf("round trip\n%+v\nwant\n%+v", back, tk)
	}
	// A list of tickets marshals the same way; no chats is [].
	b, _ = json.Marshal([]Ticket{{Priority: 3, Status: 2, Classification: 4}})
	if !strings.Contains(string(b), `"priority":"high","status":"escalated","classification":"others"`) || !strings.Contains(string(b), `"chat_numbers":[]`) {
		t.Fatalf("list JSON %s", b)
	}
}

func TestParseTicketStatus(t *testing.T) {
	for in, want := range map[string]int{
		"open": TicketOpen, "reopen": TicketOpen, "0": TicketOpen, "OPEN": TicketOpen,
		"on hold": TicketOnHold, "on_hold": TicketOnHold, "onhold": TicketOnHold, "On-Hold": TicketOnHold, "1": TicketOnHold,
		"escalated": TicketEscalated, "2": TicketEscalated,
		"closed": TicketClosed, "close": TicketClosed, "3": TicketClosed,
	} {
		if got, err := ParseTicketStatus(in); err != nil || got != want {
			t.Errorf("ParseTicketStatus(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4", "shut", "on"} {
		_, err := ParseTicketStatus(in)
		wantErr(t, err, ErrInvalid, "is not one of 0 open, 1 on hold, 2 escalated, 3 closed")
	}
}

func TestTicketFromChat(t *testing.T) {
	s, ctx, advance := helpdeskFixture(t)
	n := newChat("acme", "Ann Smith", "Ann@Example.com")
	n.Department, n.Phone = "Sales", "+49 30 1"
	c := mustChat(t, s, n)
	if _, err := s.TicketForChat(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ticket for a chat without one: %v", err)
	}
	tk := mustTicket(t, s, NewTicket{Portal: "acme", ChatID: c.ID, Transcript: "(Ann Smith) Where is my order?", Actor: "fiona.b"})
	if tk.Subject != "Where is my order?" || tk.ContactEmail != "Ann@Example.com" || tk.ContactName != "Ann Smith" ||
		tk.Department != "Sales" || tk.Channel != "chat" || !reflect.DeepEqual(tk.ChatNumbers, []int64{1001}) {
		t.Fatalf("ticket from chat %+v", tk)
	}
	contact, err := s.ContactByEmail(ctx, "acme", "ann@example.com")
	if err != nil || contact.Phone != "+49 30 1" || contact.Name != "Ann Smith" {
		t.Fatalf("contact made with the ticket %+v %v", contact, err)
	}
	if got, err := s.TicketForChat(ctx, c.ID); err != nil || got.ID != tk.ID {
		t.Fatalf("ticket for chat %+v %v", got, err)
	}
	_, err = s.CreateTicket(ctx, NewTicket{Portal: "acme", ChatID: c.ID})
	wantErr(t, err, ErrExists, "chat #1001 already belongs to ticket #1")

	advance(time.Minute)
	if err := s.CompleteTranscript(ctx, c.ID, "(Ann Smith) Where is my order?\n(Fiona B) On its way."); err != nil {
		t.Fatal(err)
	}
	th, err := s.TicketThread(ctx, tk.ID)
	if err != nil || len(th) != 1 {
		t.Fatalf("thread %+v %v", th, err)
	}
	if e := th[0]; e.Kind != ThreadTranscript || e.ChatNumber != 1001 || e.Author != "fiona.b" ||
		e.Body != "(Ann Smith) Where is my order?\n(Fiona B) On its way." || !e.UpdatedAt.Equal(e.CreatedAt.Add(time.Minute)) {
		t.Fatalf("transcript entry %+v", e)
	}
	// A chat without a ticket has nothing to complete.
	other := mustChat(t, s, newChat("acme", "Bob", ""))
	if err := s.CompleteTranscript(ctx, other.ID, "x"); err != nil {
		t.Fatal(err)
	}

	// A chat whose visitor has no email needs one first.
	_, err = s.CreateTicket(ctx, NewTicket{Portal: "acme", ChatID: other.ID})
	wantErr(t, err, ErrInvalid, "the visitor has no email: set one with #support setemail EMAIL")
	// Another portal's chat does not exist for acme.
	g := mustChat(t, s, newChat("globex", "Gus", "gus@example.com"))
	_, err = s.CreateTicket(ctx, NewTicket{Portal: "acme", ChatID: g.ID})
	wantErr(t, err, ErrNotFound, fmt.Sprintf(`chat %d does not exist in portal "acme"`, g.ID))

	// A missed chat's ticket; a long question is cut for the subject.
	m := newChat("acme", "Carl", "carl@example.com")
	m.Question = strings.Repeat("ä", 300)
	mc := mustChat(t, s, m)
	mt := mustTicket(t, s, NewTicket{Portal: "acme", ChatID: mc.ID, Missed: true, Status: TicketClosed, Actor: "auto"})
	if !mt.Missed || mt.Status != TicketClosed || mt.Subject != strings.Repeat("ä", TicketSubjectMax-1)+"…" {
		t.Fatalf("missed chat's ticket %+v", mt)
	}
}

func TestTicketViews(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	for _, n := range []NewTicket{
		{Subject: "one"},                                   // 1 open
		{Subject: "two", Status: TicketClosed},             // 2 closed
		{Subject: "three", Missed: true},                   // 3 open, missed
		{Subject: "four", Missed: true, Status: 3},         // 4 closed, missed
		{Subject: "five", Status: TicketEscalated},         // 5 open
		{Subject: "six", Status: TicketOnHold},             // 6 open
		{Subject: "seven", Status: TicketClosed},           // 7 closed
		{Subject: "eight", Missed: true, Status: 1},        // 8 open, missed
		{Subject: "nine", Status: TicketOpen, Priority: 3}, // 9 open
	} {
		n.Portal, n.Email = "acme", "ann@example.com"
		mustTicket(t, s, n)
	}
	mustTicket(t, s, NewTicket{Portal: "globex", Subject: "other portal", Email: "ann@example.com"})
	for view, want := range map[string]string{
		"open": "9 8 6 5 3 1", "": "9 8 6 5 3 1", "Missed": "8 4 3", "closed": "7 4 2", "all": "9 8 7 6 5 4 3 2 1",
	} {
		ts, err := s.Tickets(ctx, "acme", view, 0)
		if err != nil || numbers(ts) != want {
			t.Errorf("view %q: %s %v; want %s", view, numbers(ts), err, want)
		}
	}
	if ts, _ := s.Tickets(ctx, "acme", "all", 2); numbers(ts) != "9 8" {
		t.Errorf("limited: %s", numbers(ts))
	}
	_, err := s.Tickets(ctx, "acme", "flagged", 0)
	wantErr(t, err, ErrInvalid, `ticket view "flagged" is not one of open, missed, closed, all`)
	_, err = s.Tickets(ctx, "nope", "all", 0)
	wantErr(t, err, ErrNotFound, `portal "nope" does not exist`)
}

func TestTicketStatusAndNotes(t *testing.T) {
	s, ctx, advance := helpdeskFixture(t)
	tk := mustTicket(t, s, NewTicket{Portal: "acme", Subject: "Help", Email: "ann@example.com"})
	advance(time.Minute)
	got, err := s.SetTicketStatus(ctx, "acme", tk.Number, TicketClosed, "fiona.b")
	if err != nil || got.Status != TicketClosed || !got.UpdatedAt.Equal(tk.UpdatedAt.Add(time.Minute)) {
		t.Fatalf("closed %+v %v", got, err)
	}
	// The same status again changes nothing.
	advance(time.Minute)
	if again, err := s.SetTicketStatus(ctx, "acme", tk.Number, TicketClosed, "fiona.b"); err != nil || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("closed again %+v %v", again, err)
	}
	if _, err := s.SetTicketStatus(ctx, "acme", tk.Number, TicketOnHold, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTicketNote(ctx, "acme", tk.Number, "george.w", "  Called the customer.  "); err != nil {
		t.Fatal(err)
	}
	th, err := s.TicketThread(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range th {
		lines = append(lines, e.Kind+"|"+e.Author+"|"+e.Body)
	}
	want := []string{"status|fiona.b|status: open → closed", "status|cli|status: closed → on hold", "note|george.w|Called the customer."}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("thread %q\nwant %q", lines, want)
	}
	if got := auditActions(t, s, "acme", 3); !reflect.DeepEqual(got, []string{"george.w ticket.note #1", "cli ticket.status #1", "fiona.b ticket.status #1"}) {
		t.Fatalf("audit %q", got)
	}
	_, err = s.SetTicketStatus(ctx, "acme", tk.Number, 4, "fiona.b")
	wantErr(t, err, ErrInvalid, "status 4 is not one of")
	_, err = s.SetTicketStatus(ctx, "globex", tk.Number, TicketOpen, "henry.k")
	wantErr(t, err, ErrNotFound, `ticket #1 does not exist in portal "globex"`)
	wantErr(t, s.AddTicketNote(ctx, "acme", tk.Number, "george.w", " "), ErrInvalid, "the note text is required")
	wantErr(t, s.AddTicketNote(ctx, "acme", 7, "george.w", "x"), ErrNotFound, `ticket #7 does not exist in portal "acme"`)
}

func TestAssociateChat(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	c1 := mustChat(t, s, newChat("acme", "Ann", "ann@example.com"))
	tk := mustTicket(t, s, NewTicket{Portal: "acme", ChatID: c1.ID, Transcript: "first chat"})
	c2 := mustChat(t, s, newChat("acme", "Ann", ""))
	if err := s.FlagChat(ctx, c2.ID, "no email"); err != nil {
		t.Fatal(err)
	}
	got, err := s.AssociateChat(ctx, "acme", tk.Number, c2.ID, "second chat", "george.w")
	if err != nil || !reflect.DeepEqual(got.ChatNumbers, []int64{1001, 1002}) {
		t.Fatalf("associated %+v %v", got, err)
	}
	if byChat, err := s.TicketForChat(ctx, c2.ID); err != nil || byChat.Number != tk.Number {
		t.Fatalf("ticket for the second chat %+v %v", byChat, err)
	}
	if fs, _ := s.FlaggedChats(ctx, "acme"); len(fs) != 0 {
		t.Fatalf("flag not resolved: %+v", fs)
	}
	th, _ := s.TicketThread(ctx, tk.ID)
	if len(th) != 2 || th[1].Kind != ThreadTranscript || th[1].ChatNumber != 1002 || th[1].Body != "second chat" || th[1].Author != "george.w" {
		t.Fatalf("thread %+v", th)
	}
	if a := auditActions(t, s, "acme", 1); a[0] != "george.w ticket.associate #1" {
		t.Fatalf("audit %v", a)
	}
	_, err = s.AssociateChat(ctx, "acme", tk.Number, c2.ID, "", "george.w")
	wantErr(t, err, ErrExists, "chat #1002 already belongs to ticket #1")

	// Nothing crosses portals: another portal's chat or ticket does not
	// exist.
	g := mustChat(t, s, newChat("globex", "Gus", "gus@example.com"))
	gt := mustTicket(t, s, NewTicket{Portal: "globex", Subject: "globex ticket", Email: "gus@example.com"})
	_, err = s.AssociateChat(ctx, "acme", tk.Number, g.ID, "", "george.w")
	wantErr(t, err, ErrNotFound, fmt.Sprintf(`chat %d does not exist in portal "acme"`, g.ID))
	c3 := mustChat(t, s, newChat("acme", "Ann", "ann@example.com"))
	_, err = s.AssociateChat(ctx, "globex", gt.Number, c3.ID, "", "henry.k")
	wantErr(t, err, ErrNotFound, fmt.Sprintf(`chat %d does not exist in portal "globex"`, c3.ID))
	_, err = s.AssociateChat(ctx, "acme", 2, c3.ID, "", "george.w")
	wantErr(t, err, ErrNotFound, `ticket #2 does not exist in portal "acme"`)
	if _, err := s.TicketForChat(ctx, c3.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused chat got a ticket: %v", err)
	}
	if got, _ := s.Ticket(ctx, "globex", gt.Number); len(got.ChatNumbers) != 0 {
		t.Fatalf("globex ticket got chats %v", got.ChatNumbers)
	}
}

func TestSearchTickets(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	for _, n := range []NewTicket{
		{Subject: "Printer on fire", Email: "ann@example.com", Name: "Ann Müller"}, // 1
		{Subject: "Password reset", Email: "bob@example.com", Name: "Bob Stone"},   // 2
		{Subject: "Printer jams", Email: "ANN@example.com"},                        // 3
		{Subject: "Login fails after password reset", Email: "carl@example.com"},   // 4
		{Subject: "ÜBER printer", Email: "dora@example.com", Name: "Dora"},         // 5
	} {
		n.Portal = "acme"
		mustTicket(t, s, n)
	}
	mustTicket(t, s, NewTicket{Portal: "globex", Subject: "Printer elsewhere", Email: "ann@example.com", Name: "Ann"})
	for term, want := range map[string]string{
		"Ann@Example.COM":    "3 1",
		"nobody@example.com": "",
		"2":                  "2",
		"#4":                 "4",
		"#9":                 "",
		"printer":            "5 3 1",
		"PRINTER ann":        "3 1", // "ann" is in the contact's name
		"müller fire":        "1",
		"über":               "5",
		"password reset":     "4 2",
		"reset password":     "4 2",
		"reset stone":        "2",
		"printer password":   "",
		"#printer":           "",
	} {
		ts, err := s.SearchTickets(ctx, "acme", term, 0)
		if err != nil || numbers(ts) != want {
			t.Errorf("search %q: %q %v; want %q", term, numbers(ts), err, want)
		}
	}
	if ts, _ := s.SearchTickets(ctx, "acme", "printer", 2); numbers(ts) != "5 3" {
		t.Errorf("limited search: %s", numbers(ts))
	}
	_, err := s.SearchTickets(ctx, "acme", "  ", 0)
	wantErr(t, err, ErrInvalid, "a search term is required: an email, a ticket number")

	recent, err := s.RecentTickets(ctx, "acme", "ann@EXAMPLE.com", 5)
	if err != nil || numbers(recent) != "3 1" || recent[0].ContactName != "Ann Müller" {
		t.Fatalf("recent %+v %v", recent, err)
	}
	if recent, err := s.RecentTickets(ctx, "acme", "nobody@example.com", 5); err != nil || len(recent) != 0 || recent == nil {
		t.Fatalf("recent of nobody %+v %v", recent, err)
	}
	if total, overdue, err := s.TicketCounts(ctx, "acme", "ann@example.com"); err != nil || total != 2 || overdue != 0 {
		t.Fatalf("counts %d %d %v", total, overdue, err)
	}
	if total, _, err := s.TicketCounts(ctx, "acme", "nobody@example.com"); err != nil || total != 0 {
		t.Fatalf("counts of nobody %d %v", total, err)
	}
}

func TestContacts(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	if _, err := s.AddAccount(ctx, Account{Portal: "acme", Name: "Initech"}, "cli"); err != nil {
		t.Fatal(err)
	}
	c, err := s.AddContact(ctx, Contact{Portal: "acme", Name: " Peter ", Email: " Peter@Initech.example ", Phone: "555", Account: "INITECH", Owner: "Fiona.B"}, "admin")
	if err != nil || c.ID == 0 || c.Name != "Peter" || c.Email != "Peter@Initech.example" || c.Account != "Initech" || c.Owner != "fiona.b" {
		t.Fatalf("added %+v %v", c, err)
	}
	got, err := s.ContactByEmail(ctx, "acme", "peter@initech.EXAMPLE")
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("by email %+v %v\nwant %+v", got, err, c)
	}
	if a := auditActions(t, s, "acme", 1); a[0] != "admin contact.add Peter@Initech.example" {
		t.Fatalf("audit %v", a)
	}
	for _, tc := range []struct {
		c    Contact
		kind error
		want string
	}{
		{Contact{Portal: "acme", Email: "PETER@initech.example"}, ErrExists, `a contact with email "PETER@initech.example" already exists in portal "acme"`},
		{Contact{Portal: "acme", Name: "No Mail"}, ErrInvalid, "the contact's email is required"},
		{Contact{Portal: "acme", Email: "bad@"}, ErrInvalid, `email "bad@" is not a valid address`},
		{Contact{Portal: "acme", Email: "x@example.com", Account: "Globex"}, ErrNotFound, `account "Globex" does not exist in portal "acme"`},
		{Contact{Portal: "acme", Email: "x@example.com", Owner: "henry.k"}, ErrNotFound, `agent "henry.k" does not exist in portal "acme"`},
		{Contact{Portal: "acme", Email: "x@example.com", Phone: strings.Repeat("1", 61)}, ErrInvalid, "phone number of contact"},
		{Contact{Portal: "nope", Email: "x@example.com"}, ErrNotFound, `portal "nope" does not exist`},
	} {
		_, err := s.AddContact(ctx, tc.c, "admin")
		wantErr(t, err, tc.kind, tc.want)
	}
	// The same email in another portal is another contact.
	if _, err := s.AddContact(ctx, Contact{Portal: "globex", Email: "peter@initech.example"}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddContact(ctx, Contact{Portal: "acme", Email: "anna@example.com"}, "admin"); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Contacts(ctx, "acme")
	if err != nil || len(cs) != 2 || cs[0].Email != "anna@example.com" || cs[1].Email != "Peter@Initech.example" {
		t.Fatalf("contacts %+v %v", cs, err)
	}
	_, err = s.ContactByEmail(ctx, "globex", "anna@example.com")
	wantErr(t, err, ErrNotFound, `no contact of portal "globex" has the email "anna@example.com"`)
}

func TestImportContacts(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	if _, err := s.AddAccount(ctx, Account{Portal: "acme", Name: "Initech"}, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddContact(ctx, Contact{Portal: "acme", Name: "Peter", Email: "peter@initech.example", Phone: "555", Owner: "fiona.b"}, "cli"); err != nil {
		t.Fatal(err)
	}
	added, updated, err := s.ImportContacts(ctx, "acme", []Contact{
		{Name: "Ann", Email: "ann@example.com", Account: "initech"},
		{Email: "PETER@initech.example", Account: "Initech"}, // keeps name, phone and owner
		{Name: "Bob", Email: "bob@example.com", Phone: "777", Owner: "george.w"},
	}, "admin")
	if err != nil || added != 2 || updated != 1 {
		t.Fatalf("import: %d added, %d updated, %v", added, updated, err)
	}
	p, _ := s.ContactByEmail(ctx, "acme", "peter@initech.example")
	if p.Name != "Peter" || p.Phone != "555" || p.Owner != "fiona.b" || p.Account != "Initech" || p.Email != "PETER@initech.example" {
		t.Fatalf("updated contact %+v", p)
	}
	if a := auditActions(t, s, "acme", 1); a[0] != "admin contact.import " {
		t.Fatalf("audit %q", a)
	}

	// A bad row anywhere changes nothing, and the error names it.
	for _, tc := range []struct {
		rows []Contact
		kind error
		want string
	}{
		{[]Contact{{Name: "Carl", Email: "carl@example.com"}, {Name: "Ann Updated", Email: "ann@example.com"}, {Name: "Dora"}},
			ErrInvalid, "row 3: the contact's email is required"},
		{[]Contact{{Name: "Ann Updated", Email: "ann@example.com"}, {Email: "carl@example"}}, ErrInvalid, `row 2: email "carl@example" is not a valid address`},
		{[]Contact{{Name: "Ann Updated", Email: "ann@example.com"}, {Email: "carl@example.com", Account: "Nope"}}, ErrNotFound, `row 2: account "Nope" does not exist in portal "acme"`},
		{[]Contact{{Name: "Ann Updated", Email: "ann@example.com"}, {Email: "carl@example.com", Owner: "nobody.x"}}, ErrNotFound, `row 2: agent "nobody.x" does not exist in portal "acme"`},
		{[]Contact{{Email: "carl@example.com"}, {Name: "Ann Updated", Email: "ann@example.com"}, {Email: "Carl@example.com"}}, ErrInvalid, `row 3: email "Carl@example.com" is on row 1 too`},
		{nil, ErrInvalid, "there are no contacts to import"},
	} {
		_, _, err := s.ImportContacts(ctx, "acme", tc.rows, "admin")
		wantErr(t, err, tc.kind, tc.want)
	}
	cs, _ := s.Contacts(ctx, "acme")
	var emails []string
	for _, c := range cs {
		emails = append(emails, c.Email+"/"+c.Name)
	}
	if want := []string{"ann@example.com/Ann", "bob@example.com/Bob", "PETER@initech.example/Peter"}; !reflect.DeepEqual(emails, want) {
		t.Fatalf("after failed imports %q, want %q", emails, want)
	}
	if _, _, err := s.ImportContacts(ctx, "nope", []Contact{{Email: "x@example.com"}}, "admin"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("import into unknown portal: %v", err)
	}
}

func TestAccounts(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	a, err := s.AddAccount(ctx, Account{Portal: "acme", Name: " Initech ", SLAName: "Gold", ResponseHours: 4, ResolutionHours: 48, ContractName: "C-1"}, "admin")
	if err != nil || a.ID == 0 || a.Name != "Initech" || !a.CreatedAt.Equal(s.now()) {
		t.Fatalf("added %+v %v", a, err)
	}
	if _, err := s.AddAccount(ctx, Account{Portal: "acme", Name: "Globex"}, "admin"); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountByName(ctx, "acme", "INITECH")
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("by name %+v %v", got, err)
	}
	as, err := s.Accounts(ctx, "acme")
	if err != nil || len(as) != 2 || as[0].Name != "Globex" || as[1].Name != "Initech" {
		t.Fatalf("accounts %+v %v", as, err)
	}
	if as, err := s.Accounts(ctx, "globex"); err != nil || len(as) != 0 {
		t.Fatalf("globex accounts %+v %v", as, err)
	}
	if a := auditActions(t, s, "acme", 2); a[1] != "admin account.add Initech" {
		t.Fatalf("audit %v", a)
	}
	for _, tc := range []struct {
		a    Account
		kind error
		want string
	}{
		{Account{Portal: "acme", Name: "initech"}, ErrExists, `account "initech" already exists in portal "acme"`},
		{Account{Portal: "acme", Name: " "}, ErrInvalid, "an account name is required"},
		{Account{Portal: "acme", Name: "X", ResolutionHours: -1}, ErrInvalid, "resolution hours must be 0 (none) to 87600, not -1"},
		{Account{Portal: "acme", Name: "X", ResponseHours: 100000}, ErrInvalid, "response hours must be 0 (none) to 87600, not 100000"},
		{Account{Portal: "nope", Name: "X"}, ErrNotFound, `portal "nope" does not exist`},
	} {
		_, err := s.AddAccount(ctx, tc.a, "admin")
		wantErr(t, err, tc.kind, tc.want)
	}
	_, err = s.AccountByName(ctx, "globex", "Initech")
	wantErr(t, err, ErrNotFound, `account "Initech" does not exist in portal "globex"`)
}

func TestSetChatEmail(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	// No visitor has the email: the chat's visitor gets it.
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	if err := s.SetChatEmail(ctx, c.ID, " Ann@Example.com "); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Chat(ctx, c.ID)
	if got.VisitorID != c.VisitorID || got.VisitorEmail != "Ann@Example.com" {
		t.Fatalf("chat after setemail %+v", got)
	}
	// Setting it again (another spelling) keeps the visitor.
	if err := s.SetChatEmail(ctx, c.ID, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Chat(ctx, c.ID); got.VisitorID != c.VisitorID || got.VisitorEmail != "ann@example.com" {
		t.Fatalf("chat after setemail again %+v", got)
	}

	// Another visitor has it: a returning visitor, and the chat (with the
	// notes written in it) moves to them.
	c2 := mustChat(t, s, newChat("acme", "Anonymous", ""))
	if _, err := s.AddVisitorNote(ctx, c2.ID, "fiona.b", "Fiona B", "asked about shipping"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChatEmail(ctx, c2.ID, "ANN@example.com"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Chat(ctx, c2.ID)
	if got.VisitorID != c.VisitorID || got.VisitorEmail != "ann@example.com" || got.VisitorName != "Ann" {
		t.Fatalf("moved chat %+v", got)
	}
	if notes, _ := s.VisitorNotes(ctx, c.VisitorID); len(notes) != 1 || notes[0].Text != "asked about shipping" {
		t.Fatalf("notes of the returning visitor %+v", notes)
	}
	if cs, _ := s.VisitorChats(ctx, c.VisitorID, 0); len(cs) != 2 {
		t.Fatalf("returning visitor's chats %+v", cs)
	}
	// The same email in another portal is another visitor.
	g := mustChat(t, s, newChat("globex", "Gus", ""))
	if err := s.SetChatEmail(ctx, g.ID, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Chat(ctx, g.ID); got.VisitorID != g.VisitorID {
		t.Fatal("chat moved to another portal's visitor")
	}
	wantErr(t, s.SetChatEmail(ctx, c.ID, "not-an-email"), ErrInvalid, `email "not-an-email" is not a valid address`)
	wantErr(t, s.SetChatEmail(ctx, 999, "x@example.com"), ErrNotFound, "chat 999 does not exist")
	// With the email set, the chat can become a ticket.
	if tk := mustTicket(t, s, NewTicket{Portal: "acme", ChatID: c2.ID}); tk.ContactEmail != "ann@example.com" {
		t.Fatalf("ticket %+v", tk)
	}
}

func TestPortalSettings(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	m, err := s.PortalSettings(ctx, "acme")
	if err != nil || !reflect.DeepEqual(m, map[string]string{"convert": "none", "convert_when": "end", "convert_status": "open", "team_name": "", "ratings": "on"}) {
		t.Fatalf("defaults %v %v", m, err)
	}
	if cv, err := s.Conversion(ctx, "acme"); err != nil || cv != (ConversionSettings{Which: "none", When: "end", Status: "open"}) || cv.TicketStatus() != TicketOpen {
		t.Fatalf("default conversion %+v %v", cv, err)
	}
	keys := SettingKeys()
	if len(keys) != 5 || keys[0].Key != "convert" || !reflect.DeepEqual(keys[0].Accepts, []string{"all", "attended", "missed", "none"}) || keys[0].Help == "" {
		t.Fatalf("keys %+v", keys)
	}
	keys[0].Accepts[0] = "changed"
	if SettingKeys()[0].Accepts[0] != "all" {
		t.Fatal("SettingKeys shares its slices")
	}

	for k, v := range map[string]string{"convert": "Missed", "Convert-When": "accept", "convert_status": "closed"} {
		if err := s.SetPortalSetting(ctx, "acme", k, v, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	if cv, err := s.Conversion(ctx, "acme"); err != nil || cv != (ConversionSettings{Which: "missed", When: "accept", Status: "closed"}) || cv.TicketStatus() != TicketClosed {
		t.Fatalf("conversion %+v %v", cv, err)
	}
	if err := s.SetPortalSetting(ctx, "acme", "convert", "all", "admin"); err != nil {
		t.Fatal(err)
	}
	if cv, _ := s.Conversion(ctx, "acme"); cv.Which != "all" {
		t.Fatalf("after a second set %+v", cv)
	}
	if cv, _ := s.Conversion(ctx, "globex"); cv.Which != "none" {
		t.Fatalf("globex %+v", cv)
	}
	es, _ := s.Audit(ctx, "acme", 1)
	if es[0].Action != "settings.set" || es[0].Target != "convert" || es[0].Detail != `value="all"` || es[0].Actor != "admin" {
		t.Fatalf("audit %+v", es[0])
	}
	wantErr(t, s.SetPortalSetting(ctx, "acme", "colour", "red", "admin"), ErrInvalid,
		`there is no setting "colour": use one of convert, convert_when, convert_status, team_name, ratings`)
	wantErr(t, s.SetPortalSetting(ctx, "acme", "convert", "some", "admin"), ErrInvalid,
		`setting convert cannot be "some": use one of all, attended, missed, none`)
	wantErr(t, s.SetPortalSetting(ctx, "acme", "convert_when", "start", "admin"), ErrInvalid,
		`setting convert_when cannot be "start": use one of accept, end`)
	wantErr(t, s.SetPortalSetting(ctx, "acme", "convert_status", "on hold", "admin"), ErrInvalid,
		`setting convert_status cannot be "on hold": use one of open, closed`)
	wantErr(t, s.SetPortalSetting(ctx, "nope", "convert", "all", "admin"), ErrNotFound, `portal "nope" does not exist`)
	// team_name is text, one line, as typed.
	if err := s.SetPortalSetting(ctx, "acme", "team_name", "  Acme \n Care  ", "admin"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.PortalSettings(ctx, "acme"); m["team_name"] != "Acme Care" {
		t.Fatalf("team_name %q", m["team_name"])
	}
	wantErr(t, s.SetPortalSetting(ctx, "acme", "team_name", strings.Repeat("x", 61), "admin"), ErrInvalid, "at most 60 characters")
	_, err = s.Conversion(ctx, "nope")
	wantErr(t, err, ErrNotFound, `portal "nope" does not exist`)
}

func TestFlaggedChats(t *testing.T) {
	s, ctx, advance := helpdeskFixture(t)
	c1 := mustChat(t, s, newChat("acme", "Ann", ""))
	c2 := mustChat(t, s, newChat("acme", "Bob", ""))
	g := mustChat(t, s, newChat("globex", "Gus", ""))
	for _, c := range []Chat{c1, c2, g} {
		if err := s.FlagChat(ctx, c.ID, "the visitor has no email"); err != nil {
			t.Fatal(err)
		}
		advance(time.Second)
	}
	// Flagging again changes nothing (c1 stays the older flag).
	if err := s.FlagChat(ctx, c1.ID, "again"); err != nil {
		t.Fatal(err)
	}
	chatNumbers := func(portal string) string {
		cs, err := s.FlaggedChats(ctx, portal)
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, c := range cs {
			ns = append(ns, fmt.Sprint(c.Number))
		}
		return strings.Join(ns, " ")
	}
	if got := chatNumbers("acme"); got != "1002 1001" {
		t.Fatalf("acme flagged %q", got)
	}
	if got := chatNumbers("globex"); got != "1001" {
		t.Fatalf("globex flagged %q", got)
	}
	// The agent adds the email and converts the chat: the flag goes.
	if err := s.SetChatEmail(ctx, c1.ID, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	mustTicket(t, s, NewTicket{Portal: "acme", ChatID: c1.ID})
	if got := chatNumbers("acme"); got != "1002" {
		t.Fatalf("after converting #1001: %q", got)
	}
	// A chat with a ticket is not flagged again.
	if err := s.FlagChat(ctx, c1.ID, "again"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveFlag(ctx, c2.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveFlag(ctx, c2.ID); err != nil {
		t.Fatal(err)
	}
	if got := chatNumbers("acme"); got != "" {
		t.Fatalf("after resolving: %q", got)
	}
	wantErr(t, s.FlagChat(ctx, 999, "x"), ErrNotFound, "chat 999 does not exist")
	if _, err := s.FlaggedChats(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown portal: %v", err)
	}
}

func TestRemovePortalRemovesHelpdesk(t *testing.T) {
	s, ctx, _ := helpdeskFixture(t)
	for _, p := range []string{"acme", "globex"} {
		if _, err := s.AddAccount(ctx, Account{Portal: p, Name: "Initech", ResolutionHours: 8}, "cli"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddContact(ctx, Contact{Portal: p, Email: "peter@initech.example", Account: "Initech"}, "cli"); err != nil {
			t.Fatal(err)
		}
		c := mustChat(t, s, newChat(p, "Peter", "peter@initech.example"))
		tk := mustTicket(t, s, NewTicket{Portal: p, ChatID: c.ID, Transcript: "x"})
		if err := s.AddTicketNote(ctx, p, tk.Number, "cli", "note"); err != nil {
			t.Fatal(err)
		}
		if err := s.FlagChat(ctx, mustChat(t, s, newChat(p, "Anon", "")).ID, "no email"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPortalSetting(ctx, p, "convert", "all", "cli"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemovePortal(ctx, "globex", "test"); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"accounts": 1, "contacts": 1, "tickets": 1, "ticket_counters": 1, "ticket_chats": 1,
		"ticket_threads": 2, "portal_settings": 1, "flagged_chats": 1} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d rows left, want %d", table, n, want)
		}
	}
	if tk, err := s.Ticket(ctx, "acme", 1); err != nil || len(tk.ChatNumbers) != 1 || tk.DueAt == nil {
		t.Fatalf("acme's ticket %+v %v", tk, err)
	}
}

// TestHelpdeskQueriesUseIndexes guards against the helpdesk queries that
// run for hash commands and listings scanning a whole table or sorting;
// only the word search reads the portal's tickets (in number order).
func TestHelpdeskQueriesUseIndexes(t *testing.T) {
	sqliteOnly(t)
	s, _, _ := helpdeskFixture(t)
	for _, tc := range []struct {
		q     string
		args  []any
		index string
	}{
		{ticketByNumberQuery, []any{1, 1}, "sqlite_autoindex_tickets_1"},
		{ticketForChatQuery, []any{1}, "ticket_chats USING INDEX sqlite_autoindex_ticket_chats_1 (chat_id=?)"},
		{ticketsOpenQuery, []any{1, 10}, "tickets_open"},
		{ticketsMissedQuery, []any{1, 10}, "tickets_missed"},
		{ticketsClosedQuery, []any{1, 10}, "tickets_status"},
		{ticketsAllQuery, []any{1, 10}, "sqlite_autoindex_tickets_1"},
		{contactTicketsQuery, []any{1, "ann@example.com", 10}, "tickets_contact"},
		{ticketCountsQuery, []any{1, "ann@example.com", 0}, "tickets_contact"},
		{searchWordsQuery(2), []any{1, "a", "a", "b", "b", 10}, "sqlite_autoindex_tickets_1"},
		{ticketThreadQuery, []any{1}, "ticket_threads_ticket"},
		{contactByEmailQuery, []any{1, "ann@example.com"}, "sqlite_autoindex_contacts_1"},
		{portalSettingsQuery, []any{1}, "USING PRIMARY KEY (portal_id=?)"},
		{flaggedChatsQuery, []any{1}, "flagged_chats_open"},
		{`UPDATE ticket_threads SET body = '' WHERE chat_id = 1 AND kind = 'transcript'`, nil, "ticket_threads_chat"},
	} {
		plan := queryPlan(t, s, tc.q, tc.args...)
		p := strings.Join(plan, "; ")
		for _, step := range plan {
			// Sorting a ticket's few chat numbers for json_group_array is fine.
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " USING ") && step != "SCAN CONSTANT ROW" ||
				step == "USE TEMP B-TREE FOR ORDER BY" {
				t.Errorf("%s\nplan: %s", tc.q, p)
			}
		}
		if !strings.Contains(p, tc.index) {
			t.Errorf("%s\nplan does not use %s: %s", tc.q, tc.index, p)
		}
	}
}

// BenchmarkCreateTicket measures converting a chat with a 200-message
// transcript into a ticket.
func BenchmarkCreateTicket(b *testing.B) {
	s, err := Open(testAddr(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := fillChatFixture(b, s)
	var tr strings.Builder
	for i := range 200 {
		fmt.Fprintf(&tr, "10:%02d (Ann) message number %d of the chat, with some words in it\n", i%60, i)
	}
	chats := make([]int64, b.N)
	for i := range chats {
		chats[i] = mustChat(b, s, newChat("acme", "Ann", fmt.Sprintf("ann%d@example.com", i%50))).ID
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.CreateTicket(ctx, NewTicket{Portal: "acme", ChatID: chats[i], Transcript: tr.String(), Priority: 1, Status: 1, Classification: 2}); err != nil {
			b.Fatal(err)
		}
	}
}
