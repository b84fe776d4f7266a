package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// chatNumbers lists the chats' numbers, in order.
func chatNumbers(cs []Chat) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprint(c.Number))
	}
	return strings.Join(out, " ")
}

func write(t *testing.T, s *Store, chatID int64, kind, typ, text string) {
	t.Helper()
	if _, err := s.AppendChatEvent(context.Background(), chatID, ChatEvent{Type: typ, AuthorKind: kind, Text: text, Visible: true}); err != nil {
		t.Fatal(err)
	}
}

func TestSearchChats(t *testing.T) {
	s, ctx := chatFixture(t)
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(d int) { s.now = func() time.Time { return day.AddDate(0, 0, d) } }

	at(0)
	ann := mustChat(t, s, newChat("acme", "Ann Lovelace", "ann@example.com")) // 1001
	write(t, s, ann.ID, AuthorVisitor, "visitor_message", "My parcel never arrived")
	write(t, s, ann.ID, AuthorAgent, "message", "Let me check the Tracking number")
	write(t, s, ann.ID, AuthorSystem, "system", "hidden words in a system line")
	at(1)
	bob := mustChat(t, s, newChat("acme", "Bob Parcel", "")) // 1002
	at(2)
	mustChat(t, s, newChat("acme", "Cleo", "ANN@example.com")) // 1003, the same visitor as Ann
	at(3)
	other := mustChat(t, s, newChat("globex", "Ann Elsewhere", "ann@example.com"))
	write(t, s, other.ID, AuthorVisitor, "visitor_message", "parcel tracking")

	search := func(q ChatSearch) string {
		t.Helper()
		q.Portal = "acme"
		cs, err := s.SearchChats(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return chatNumbers(cs)
	}
	for _, tc := range []struct {
		q    ChatSearch
		want string
	}{
		{ChatSearch{}, "1003 1002 1001"},
		{ChatSearch{Term: "#1002"}, "1002"},
		{ChatSearch{Term: "1001"}, "1001"},
		{ChatSearch{Term: "999999999999999999999999"}, ""},
		{ChatSearch{Term: "Ann@Example.com"}, "1003 1001"},
		{ChatSearch{Term: "parcel"}, "1002 1001"},                                   // a message, a name
		{ChatSearch{Term: "PARCEL tracking"}, "1001"},                               // every word, across messages
		{ChatSearch{Term: "bob order"}, "1002"},                                     // name and question
		{ChatSearch{Term: "where order"}, "1003 1002 1001"},                         // the question
		{ChatSearch{Term: "hidden"}, ""},                                            // system lines are not the transcript's words
		{ChatSearch{Term: "example.com"}, "1003 1001"},                              // part of an email is a word
		{ChatSearch{From: day.AddDate(0, 0, 1)}, "1003 1002"},                       // from the day
		{ChatSearch{To: day.AddDate(0, 0, 1)}, "1001"},                              // before the day
		{ChatSearch{Term: "parcel", Limit: 1}, "1002"},                              // newest first, bounded
		{ChatSearch{Term: "ann", From: day, To: day.Add(time.Millisecond)}, "1001"}, // one millisecond
	} {
		if got := search(tc.q); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
		}
	}
	if _, err := s.SearchChats(ctx, ChatSearch{Portal: "acme", Term: "a b c d e f g h i j k"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many words: %v", err)
	}
	if _, err := s.SearchChats(ctx, ChatSearch{Portal: "nowhere"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown portal: %v", err)
	}

	if at, ok, err := s.LastMessageAt(ctx, ann.ID); err != nil || !ok || !at.Equal(day) {
		t.Errorf("Ann's last message: %v %v %v", at, ok, err)
	}
	if _, ok, err := s.LastMessageAt(ctx, bob.ID); err != nil || ok {
		t.Errorf("Bob wrote nothing: %v %v", ok, err)
	}
}

func TestAuditQuery(t *testing.T) {
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AuditAgentAction(ctx, "acme", "fiona.b", 1001, "#e", ""))
	s.now = func() time.Time { return t0.Add(time.Hour) }
	must(s.AuditConsole(ctx, "acme", "george.w", 1002, "#assign 1002 fiona.b", "Chat #1002 assigned to Fiona B."))
	must(s.AuditConsole(ctx, "globex", "acme|george.w", 1001, "#assign 1001 henry.k", "refused: nobody"))

	list := func(f AuditFilter) string {
		t.Helper()
		es, err := s.AuditQuery(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Portal+":"+e.Actor+":"+e.Action+":"+e.Target)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		f    AuditFilter
		want string
	}{
		{AuditFilter{Portal: "acme", Actor: "fiona.b"}, "acme:fiona.b:command:chat #1001"},
		{AuditFilter{Portal: "acme", Action: AuditConsoleAction}, "acme:george.w:console:chat #1002"},
		{AuditFilter{Action: AuditConsoleAction}, "globex:acme|george.w:console:chat #1001 acme:george.w:console:chat #1002"},
		{AuditFilter{Portal: "acme", From: t0.Add(time.Minute), Action: "console"}, "acme:george.w:console:chat #1002"},
		{AuditFilter{Portal: "acme", To: t0.Add(time.Minute), Actor: "fiona.b"}, "acme:fiona.b:command:chat #1001"},
		{AuditFilter{Portal: "acme", To: t0.Add(time.Minute), Action: "console"}, ""},
		{AuditFilter{Portal: "acme", Actor: "nobody"}, ""},
	} {
		if got := list(tc.f); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
	// Paging back: one at a time, newest first, across every action.
	first, err := s.AuditQuery(ctx, AuditFilter{Portal: "acme", Limit: 1})
	must(err)
	rest, err := s.AuditQuery(ctx, AuditFilter{Portal: "acme", Before: first[0].ID})
	must(err)
	if len(first) != 1 || first[0].Action != AuditConsoleAction || len(rest) == 0 || rest[0].ID >= first[0].ID {
		t.Fatalf("pages %+v then %+v", first, rest)
	}
	if acts, err := s.AuditActions(ctx, "acme"); err != nil || strings.Join(acts, " ") != "agent.add command console dept.add portal.add" {
		t.Errorf("actions %q %v", acts, err)
	}
	es, err := s.AuditQuery(ctx, AuditFilter{Portal: "acme", Action: "console"})
	must(err)
	if want := `command="#assign 1002 fiona.b" result="Chat #1002 assigned to Fiona B."`; es[0].Detail != want {
		t.Errorf("detail %q, want %q", es[0].Detail, want)
	}
}
