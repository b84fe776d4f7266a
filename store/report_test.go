package store

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPresenceLog(t *testing.T) {
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	p, err := s.NewPresenceLog(ctx, 16, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	p.Record("acme", "fiona.b", PresenceOffline, at(0)) // offline already: dropped
	p.Record("acme", "fiona.b", PresenceOnline, at(1))
	p.Record("acme", "fiona.b", PresenceOnline, at(2)) // a repeat: dropped
	p.Record("acme", "FIONA.B", PresenceAway, at(3))
	p.Record("acme", "george.w", PresenceBusy, at(4))
	p.Record("acme", "nobody", PresenceOnline, at(5)) // no such agent: nothing kept
	p.Record("acme", "fiona.b", "dancing", at(6))     // not a state: ignored
	p.Record("globex", "henry.k", PresenceOnline, at(7))
	p.Close()
	p.Record("acme", "fiona.b", PresenceOnline, at(8)) // after Close: ignored

	got, err := s.PresenceChanges(ctx, "acme", at(2), at(60))
	if err != nil {
		t.Fatal(err)
	}
	want := []PresenceChange{
		{"fiona.b", PresenceOnline, at(1)}, // the state when the period began
		{"fiona.b", PresenceAway, at(3)},
		{"george.w", PresenceBusy, at(4)},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}

	// A restart after a crash: whoever was not offline is offline from
	// the start.
	t1 := at(90)
	s.now = func() time.Time { return t1 }
	p, err = s.NewPresenceLog(ctx, 16, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	got, err = s.PresenceChanges(ctx, "acme", at(61), at(120))
	if err != nil {
		t.Fatal(err)
	}
	want = []PresenceChange{
		{"fiona.b", PresenceAway, at(3)}, {"fiona.b", PresenceOffline, t1},
		{"george.w", PresenceBusy, at(4)}, {"george.w", PresenceOffline, t1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after restart %v, want %v", got, want)
	}
	if _, err := s.PresenceChanges(ctx, "nope", at(0), at(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown portal: %v", err)
	}
}

func TestImportChatsAndReportReads(t *testing.T) {
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	first := HistoricChat{
		Visitor: "Ann", Email: "ann@example.com", Department: "sales", Question: "Parcel?", Status: ChatEnded, EndReason: "agent",
		CreatedAt: sec(0), OfferedAt: sec(1), AcceptedAt: sec(10), EndedAt: sec(100),
		Agents: []HistoricAgent{{Username: "fiona.b", Role: ChatRoleOwner, JoinedAt: sec(10), LeftAt: sec(100)}},
		Offers: []HistoricOffer{
			{Username: "George.W", Kind: "chat", Answer: "declined", OfferedAt: sec(1), AnsweredAt: sec(5)},
			{Username: "fiona.b", Kind: "chat", Answer: "accepted", OfferedAt: sec(1), AnsweredAt: sec(10)},
		},
		Events: []HistoricEvent{
			{At: sec(3), Type: "visitor_message", AuthorKind: AuthorVisitor, Text: "hello"},
			{At: sec(10), Type: "agent_joined", AuthorKind: AuthorSystem},
			{At: sec(20), Type: "message", AuthorKind: AuthorAgent, Author: "fiona.b", AuthorName: "Fiona B", Text: "hi"},
		},
		Stars: 4, Comment: "ok",
	}
	second := HistoricChat{Visitor: "Ann", Email: "ANN@example.com", Question: "Again", Status: ChatMissed, EndReason: "missed",
		CreatedAt: sec(200), EndedAt: sec(320)}
	ids, err := s.ImportChats(ctx, "acme", []HistoricChat{first, second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportChats(ctx, "acme", []HistoricChat{{Visitor: "X", Question: "Q", Status: ChatActive, CreatedAt: t0}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a live chat imported: %v", err)
	}
	c, err := s.Chat(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != 1001 || c.Department != "Sales" || c.LastSeq != 3 || c.FirstReplyAt == nil || !c.FirstReplyAt.Equal(sec(20)) || len(c.Agents) != 1 {
		t.Fatalf("imported %+v", c)
	}
	if err := s.ImportRating(ctx, ids[1], 2, "", sec(400)); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportRating(ctx, 999999, 2, "", sec(400)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rated a chat that does not exist: %v", err)
	}
	if err := s.ImportRating(ctx, ids[1], 6, "", sec(400)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("six stars: %v", err)
	}

	var chats []ReportChat
	if err := s.ReportChats(ctx, "acme", t0, sec(3600), func(c ReportChat) error { chats = append(chats, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(chats) != 2 || chats[0].Stars != 4 || chats[1].Stars != 2 || chats[1].VisitorID != chats[0].VisitorID ||
		!chats[1].Previous || chats[0].Previous ||
		!chats[0].AcceptedAt.Equal(sec(10)) || !chats[1].AcceptedAt.IsZero() || chats[0].Department != "Sales" {
		t.Fatalf("report chats %+v", chats)
	}
	c0 := chats[0]
	if len(c0.Messages) != 2 || c0.Messages[0].Agent || !c0.Messages[0].At.Equal(sec(3)) || !c0.Messages[1].Agent || c0.Messages[1].Author != "fiona.b" ||
		!c0.Messages[1].At.Equal(sec(20)) || len(chats[1].Messages) != 0 {
		t.Errorf("messages %+v", c0.Messages)
	}
	if len(c0.Offers) != 2 || c0.Offers[0] != (ReportOffer{Username: "george.w", Kind: "chat", Answer: "declined", OfferedAt: sec(1), AnsweredAt: sec(5)}) {
		t.Errorf("offers %+v", c0.Offers)
	}
	if len(c0.Agents) != 1 || c0.Agents[0] != (ReportChatAgent{Username: "fiona.b", Role: ChatRoleOwner, JoinedAt: sec(10)}) {
		t.Errorf("agents %+v", c0.Agents)
	}
	// The period is [since, until): the second chat starts at its end.
	n := 0
	if err := s.ReportChats(ctx, "acme", t0, sec(200), func(ReportChat) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("chats in [t0, t0+200s): %d, %v", n, err)
	}
	if err := s.ReportChats(ctx, "nope", t0, sec(200), func(ReportChat) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown portal: %v", err)
	}
	if w, v, err := s.WaitingNow(ctx, "acme"); err != nil || w != 0 || v != 0 {
		t.Fatalf("waiting now %d %d %v", w, v, err)
	}
}

// TestReportQueriesUseIndexes guards the one pass of a report: no query
// scans a whole table or sorts what it reads.
func TestReportQueriesUseIndexes(t *testing.T) {
	sqliteOnly(t)
	s, _ := chatFixture(t)
	for _, q := range []string{reportChatsQuery} {
		plan := queryPlan(t, s, q, "acme", 0, 1)
		p := strings.Join(plan, "; ")
		// Sorting one chat's few agents or offers for group_concat is fine.
		if strings.Contains(p, "USE TEMP B-TREE FOR ORDER BY") || !strings.Contains(p, "chats_portal_created") {
			t.Errorf("plan: %s", p)
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " USING ") {
				t.Errorf("plan: %s", p)
			}
		}
	}
}

func TestUnpackReportLists(t *testing.T) {
	created := int64(1_000_000)
	msgs, err := unpackMessages("5 ,-2 Fiona.B,70 ", created)
	if err != nil || len(msgs) != 3 || msgs[1] != (ReportMessage{At: fromMillis(created - 2), Agent: true, Author: "fiona.b"}) || msgs[2].Agent {
		t.Errorf("messages %+v %v", msgs, err)
	}
	offers, err := unpackOffers("0 n chat - ann.k,3 9 transfer accepted bob.l", created)
	if err != nil || len(offers) != 2 || offers[0].Answer != "" || !offers[0].AnsweredAt.IsZero() || offers[1].Kind != "transfer" || !offers[1].AnsweredAt.Equal(fromMillis(created+9)) {
		t.Errorf("offers %+v %v", offers, err)
	}
	if none, err := unpackAgents("", created); err != nil || len(none) != 0 {
		t.Errorf("no agents: %+v %v", none, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := unpackMessages("x", created); return err },
		func() error { _, err := unpackAgents("1 owner", created); return err },
		func() error { _, err := unpackOffers("1 2 chat accepted", created); return err },
		func() error { _, err := unpackOffers("1 y chat accepted ann.k", created); return err },
	} {
		if bad() == nil {
			t.Error("a bad packed list read")
		}
	}
}

// The period's chats come in the order they started, and f's error
// stops the read.
func TestReportChatsInOrder(t *testing.T) {
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var hs []HistoricChat
	for i := range 40 {
		hs = append(hs, HistoricChat{Visitor: "V", Question: "Q", Status: ChatMissed, CreatedAt: t0.Add(time.Duration(39-i) * time.Hour)})
	}
	if _, err := s.ImportChats(ctx, "acme", hs); err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	if err := s.ReportChats(ctx, "acme", t0, t0.Add(40*time.Hour), func(c ReportChat) error { got = append(got, c.CreatedAt); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 || !slices.IsSortedFunc(got, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Fatalf("%d chats: %v", len(got), got)
	}
	stop := errors.New("enough")
	n := 0
	err := s.ReportChats(ctx, "acme", t0, t0.Add(40*time.Hour), func(ReportChat) error {
		if n++; n == 30 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 30 {
		t.Fatalf("stopped after %d: %v", n, err)
	}
}

// A chat that is over is read from its digest, which a message stored
// after the end (a blocked customer's) replaces by the events again.
func TestReportDigest(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{Type: "visitor_message", AuthorKind: AuthorVisitor, Text: "hi", At: c.CreatedAt.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChatStatus(ctx, c.ID, ChatEnded, c.CreatedAt.Add(time.Minute), "visitor"); err != nil {
		t.Fatal(err)
	}
	messages := func() []ReportMessage {
		var got []ReportMessage
		err := s.ReportChats(ctx, "acme", c.CreatedAt.Add(-time.Hour), c.CreatedAt.Add(time.Hour), func(rc ReportChat) error {
			got = rc.Messages
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var digest string
	if err := s.r.QueryRowContext(ctx, `SELECT messages FROM chat_digests WHERE chat_id = ?`, c.ID).Scan(&digest); err != nil || digest != "1000 " {
		t.Fatalf("digest %q %v", digest, err)
	}
	if m := messages(); len(m) != 1 || m[0].Agent {
		t.Fatalf("from the digest: %+v", m)
	}
	if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{Type: "visitor_message", AuthorKind: AuthorVisitor, Text: "kept", At: c.CreatedAt.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if m := messages(); len(m) != 2 || !m[1].At.Equal(c.CreatedAt.Add(2*time.Minute)) {
		t.Fatalf("after a message past the end: %+v", m)
	}
	// Reopened and over again: the new digest counts it.
	if err := s.SetChatStatus(ctx, c.ID, ChatEnded, c.CreatedAt.Add(3*time.Minute), "agent"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{Type: "reopened", AuthorKind: AuthorSystem, Text: "Reopened"}); err != nil {
		t.Fatal(err)
	}
	reopened := func() (n int) {
		err := s.ReportChats(ctx, "acme", c.CreatedAt.Add(-time.Hour), c.CreatedAt.Add(time.Hour), func(rc ReportChat) error {
			n = rc.Reopened
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := reopened(); n != 1 {
		t.Errorf("reopened %d times, read live", n)
	}
	if err := s.SetChatStatus(ctx, c.ID, ChatEnded, c.CreatedAt.Add(4*time.Minute), "agent"); err != nil {
		t.Fatal(err)
	}
	if n := reopened(); n != 1 {
		t.Errorf("reopened %d times, from the digest", n)
	}
}

// Migration 0015 fills chat_digests as the store writes them.
func TestDigestBackfillMatchesTheStore(t *testing.T) {
	sqliteOnly(t)
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ids, err := s.ImportChats(ctx, "acme", []HistoricChat{{Visitor: "Ann", Question: "Q", Status: ChatEnded, CreatedAt: t0, AcceptedAt: t0.Add(time.Second),
		EndedAt: t0.Add(time.Minute), Agents: []HistoricAgent{{Username: "fiona.b", Role: ChatRoleOwner, JoinedAt: t0.Add(time.Second)}},
		Offers: []HistoricOffer{{Username: "fiona.b", Kind: "chat", Answer: "accepted", OfferedAt: t0, AnsweredAt: t0.Add(time.Second)}, {Username: "george.w", Kind: "chat", OfferedAt: t0}},
		Events: []HistoricEvent{{At: t0, Type: "visitor_message", AuthorKind: AuthorVisitor}, {At: t0.Add(2 * time.Second), Type: "message", AuthorKind: AuthorAgent, Author: "fiona.b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	digest := func() (d [3]string) {
		if err := s.r.QueryRowContext(ctx, `SELECT messages, agents, offers FROM chat_digests WHERE chat_id = ?`, ids[0]).Scan(&d[0], &d[1], &d[2]); err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := digest()
	if want != [3]string{"0 ,2000 fiona.b", "1000 owner fiona.b", "0 1000 chat accepted fiona.b,0 n chat - george.w"} {
		t.Errorf("digest %q", want)
	}
	b, err := migrationFiles.ReadFile("migrations/sqlite/0016_reports.sql")
	if err != nil {
		t.Fatal(err)
	}
	backfill := string(b[strings.Index(string(b), "INSERT OR REPLACE INTO chat_digests"):])
	if _, err := s.w.ExecContext(ctx, `DELETE FROM chat_digests`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, backfill); err != nil {
		t.Fatal(err)
	}
	if got := digest(); got != want {
		t.Errorf("backfilled %q, want %q", got, want)
	}
}

// A server that joins others keeps their agents' states, and writes an
// agent's first change even when it is offline: another server wrote
// the state before it.
func TestSharedPresenceLog(t *testing.T) {
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	first, err := s.SharedPresenceLog(ctx, 16, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	first.Record("acme", "fiona.b", PresenceOnline, t0.Add(time.Minute))
	first.Close()
	s.now = func() time.Time { return t0.Add(2 * time.Minute) }
	joined, err := s.SharedPresenceLog(ctx, 16, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	joined.Record("acme", "fiona.b", PresenceOffline, t0.Add(3*time.Minute)) // her node was lost
	joined.Close()
	got, err := s.PresenceChanges(ctx, "acme", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []PresenceChange{{"fiona.b", PresenceOnline, t0.Add(time.Minute)}, {"fiona.b", PresenceOffline, t0.Add(3 * time.Minute)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes %+v, want %+v", got, want)
	}
}
