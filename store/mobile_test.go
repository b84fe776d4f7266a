package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const testDomain = "chat.example"

// jidOf is the bare JID of an agent of acme.
func jidOf(username string) string { return "acme|" + UsernameKey(username) + "@" + testDomain }

func TestOfflineMessages(t *testing.T) {
	s, ctx := chatFixture(t)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	now := t0
	s.now = func() time.Time { now = now.Add(time.Second); return now }

	for i := 1; i <= 3; i++ {
		if err := s.StoreOffline(ctx, "acme", "Fiona.B", jidOf("george.w")+"/phone", []byte(fmt.Sprintf("<message><body>%d</body></message>", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StoreOffline(ctx, "acme", "george.w", jidOf("fiona.b"), []byte("<message><body>g</body></message>")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.OfflineCount(ctx, "acme", "fiona.b"); err != nil || n != 3 {
		t.Fatalf("count %d %v", n, err)
	}

	ms, err := s.TakeOffline(ctx, "acme", "fiona.b", 2)
	if err != nil || len(ms) != 2 {
		t.Fatalf("take: %+v %v", ms, err)
	}
	if string(ms[0].Stanza) != "<message><body>1</body></message>" || string(ms[1].Stanza) != "<message><body>2</body></message>" ||
		ms[0].From != jidOf("george.w")+"/phone" || !ms[0].CreatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("taken: %+v", ms)
	}
	// Taking does not delete.
	if again, _ := s.TakeOffline(ctx, "acme", "fiona.b", 0); len(again) != 3 || again[0].ID != ms[0].ID {
		t.Fatalf("take again: %+v", again)
	}
	if err := s.DeleteOffline(ctx, []int64{ms[0].ID, ms[1].ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOffline(ctx, []int64{ms[0].ID}); err != nil { // twice: harmless
		t.Fatal(err)
	}
	if err := s.DeleteOffline(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rest, err := s.TakeOffline(ctx, "acme", "fiona.b", 10)
	if err != nil || len(rest) != 1 || string(rest[0].Stanza) != "<message><body>3</body></message>" {
		t.Fatalf("after delete: %+v %v", rest, err)
	}
	// Per agent: george's message is his alone, and untouched.
	if gs, _ := s.TakeOffline(ctx, "acme", "george.w", 0); len(gs) != 1 || string(gs[0].Stanza) != "<message><body>g</body></message>" {
		t.Fatalf("george: %+v", gs)
	}
	if n, _ := s.OfflineCount(ctx, "globex", "henry.k"); n != 0 {
		t.Fatalf("henry has %d", n)
	}
	if hs, err := s.TakeOffline(ctx, "globex", "fiona.b", 0); err != nil || len(hs) != 0 {
		t.Fatalf("fiona.b in globex: %+v %v", hs, err)
	}

	if err := s.StoreOffline(ctx, "acme", "nobody.here", "x", []byte("<message/>")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := s.StoreOffline(ctx, "nope", "fiona.b", "x", []byte("<message/>")); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "portal") {
		t.Fatalf("unknown portal: %v", err)
	}
	if err := s.StoreOffline(ctx, "acme", "fiona.b", "x", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty: %v", err)
	}
	big := bytes.Repeat([]byte("x"), StoredStanzaMax+1)
	if err := s.StoreOffline(ctx, "acme", "fiona.b", "x", big); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("too large: %v", err)
	}
}

// Messages held for a session waiting to be resumed are not taken by a
// sign-in until released; a restart releases them all.
func TestHeldOfflineMessages(t *testing.T) {
	s, ctx := chatFixture(t)
	if err := s.StoreOffline(ctx, "acme", "fiona.b", "x", []byte("<message><body>plain</body></message>")); err != nil {
		t.Fatal(err)
	}
	var held []int64
	for i := 1; i <= 3; i++ {
		id, err := s.HoldOffline(ctx, "acme", "fiona.b", "x", []byte(fmt.Sprintf("<message><body>held %d</body></message>", i)), "sm-1")
		if err != nil || id == 0 {
			t.Fatalf("hold: %d %v", id, err)
		}
		held = append(held, id)
	}
	if _, err := s.HoldOffline(ctx, "acme", "fiona.b", "x", []byte("<message/>"), ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no holder: %v", err)
	}
	bodies := func() string {
		ms, err := s.TakeOffline(ctx, "acme", "fiona.b", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, string(m.Stanza))
		}
		return strings.Join(out, "")
	}
	if got := bodies(); got != "<message><body>plain</body></message>" {
		t.Fatalf("a sign-in would take %s", got)
	}
	if n, _ := s.OfflineCount(ctx, "acme", "fiona.b"); n != 4 {
		t.Fatalf("count %d, want 4 (held ones count against the limit)", n)
	}
	// The client acknowledged the first: deleted. The session ended: the
	// second is released for the next sign-in.
	if err := s.DeleteOffline(ctx, held[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseOffline(ctx, held[1:2]); err != nil {
		t.Fatal(err)
	}
	if got := bodies(); got != "<message><body>plain</body></message><message><body>held 2</body></message>" {
		t.Fatalf("after release: %s", got)
	}
	// A restart releases the rest.
	if n, err := s.ReleaseAllHeld(ctx); err != nil || n != 1 {
		t.Fatalf("release all: %d %v", n, err)
	}
	if got := bodies(); !strings.HasSuffix(got, "<message><body>held 3</body></message>") {
		t.Fatalf("after restart: %s", got)
	}
}

func TestOfflineLimit(t *testing.T) {
	s, ctx := chatFixture(t)
	// Fill up to one below the limit directly, then reach it through the API.
	var aid, pid int64
	if err := s.r.QueryRow(`SELECT a.id, a.portal_id FROM agents a WHERE a.username_key = 'fiona.b'`).Scan(&aid, &pid); err != nil {
		t.Fatal(err)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i := 1; i < OfflineLimit; i++ {
			if _, err := tx.Exec(`INSERT INTO offline_messages (portal_id, agent_id, from_jid, stanza, created_at) VALUES (?, ?, 'x', ?, 0)`,
				pid, aid, fmt.Sprintf("<message id='%d'/>", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreOffline(ctx, "acme", "fiona.b", "x", []byte("<message id='last'/>")); err != nil {
		t.Fatalf("the %dth message: %v", OfflineLimit, err)
	}
	err = s.StoreOffline(ctx, "acme", "fiona.b", "x", []byte("<message id='over'/>"))
	var ue *UserError
	if !errors.Is(err, ErrOfflineFull) || !errors.As(err, &ue) || !strings.Contains(err.Error(), "not stored") {
		t.Fatalf("over the limit: %v", err)
	}
	// What was stored is kept, the oldest included.
	ms, _ := s.TakeOffline(ctx, "acme", "fiona.b", 0)
	if len(ms) != OfflineLimit || string(ms[0].Stanza) != "<message id='1'/>" || string(ms[len(ms)-1].Stanza) != "<message id='last'/>" {
		t.Fatalf("kept %d, first %s, last %s", len(ms), ms[0].Stanza, ms[len(ms)-1].Stanza)
	}
	// Another agent is not affected; delivery makes room again.
	if err := s.StoreOffline(ctx, "acme", "george.w", "x", []byte("<message/>")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOffline(ctx, []int64{ms[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreOffline(ctx, "acme", "fiona.b", "x", []byte("<message id='again'/>")); err != nil {
		t.Fatal(err)
	}
}

// archiveFixture is chatFixture with a third acme agent, ingrid.m.
func archiveFixture(t *testing.T) (*Store, context.Context) {
	t.Helper()
	s, ctx := chatFixture(t)
	if _, err := s.AddAgent(ctx, NewAgent{Portal: "acme", Username: "ingrid.m", DisplayName: "Ingrid M", Email: "ingrid@acme.example", Password: "12345678"}, "test"); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// pair archives a message between two acme agents.
func pair(t testing.TB, s *Store, from, to, id, body string, at time.Time) {
	t.Helper()
	stanza := fmt.Sprintf("<message from='%s' to='%s' type='chat'><body>%s</body></message>", jidOf(from), jidOf(to), body)
	if err := s.ArchivePair(context.Background(), "acme", from, to, jidOf(from), jidOf(to), id, body, []byte(stanza), at); err != nil {
		t.Fatal(err)
	}
}

// say appends a chat event.
func say(t testing.TB, s *Store, chatID int64, typ, kind, author, name, text string, at time.Time) ChatEvent {
	t.Helper()
	e, err := s.AppendChatEvent(context.Background(), chatID, ChatEvent{Type: typ, AuthorKind: kind, Author: author, AuthorName: name, Text: text, At: at, Visible: true})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func query(t testing.TB, s *Store, q ArchiveQuery) ArchivePage {
	t.Helper()
	if q.Portal == "" {
		q.Portal = "acme"
	}
	p, err := s.QueryArchive(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// line renders a message for comparisons.
func line(m ArchivedMessage) string {
	dir := "<"
	if m.Outgoing {
		dir = ">"
	}
	with := strings.TrimSuffix(strings.TrimPrefix(m.With, "acme|"), "@"+testDomain)
	if m.Chat != 0 {
		with = fmt.Sprint("v-", m.Chat)
	}
	return fmt.Sprintf("%s %s %s", dir, with, m.Body)
}

func lines(ms []ArchivedMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, line(m))
	}
	return strings.Join(out, "\n")
}

func TestArchivePair(t *testing.T) {
	s, ctx := archiveFixture(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	pair(t, s, "Fiona.B", "george.w", "st-1", "hello George", at)

	f := query(t, s, ArchiveQuery{Owner: "fiona.b"})
	if f.Count != 1 || len(f.Messages) != 1 || !f.Complete {
		t.Fatalf("fiona: %+v", f)
	}
	m := f.Messages[0]
	if !m.Outgoing || m.With != jidOf("george.w") || m.Chat != 0 ||
		m.Body != "hello George" || m.StanzaID != "st-1" || !strings.Contains(string(m.Stanza), "<body>hello George</body>") ||
		!m.At.Equal(at.Truncate(time.Millisecond)) || !strings.HasPrefix(m.ID, "a") || f.First != m.ID || f.Last != m.ID {
		t.Fatalf("fiona's side: %+v", m)
	}
	g := query(t, s, ArchiveQuery{Owner: "george.w"})
	if len(g.Messages) != 1 {
		t.Fatalf("george: %+v", g)
	}
	m = g.Messages[0]
	// One row, read from both sides: the same id in both archives.
	if m.Outgoing || m.With != jidOf("fiona.b") || m.Body != "hello George" || m.ID != f.Messages[0].ID {
		t.Fatalf("george's side: %+v", m)
	}
	// ingrid.m has nothing.
	if i := query(t, s, ArchiveQuery{Owner: "ingrid.m"}); i.Count != 0 || len(i.Messages) != 0 || !i.Complete || i.First != "" {
		t.Fatalf("ingrid: %+v", i)
	}

	// A stanza id is once per archive; the pair is all or nothing.
	err := s.ArchivePair(ctx, "acme", "fiona.b", "ingrid.m", jidOf("fiona.b"), jidOf("ingrid.m"), "st-1", "again", nil, at)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate stanza id: %v", err)
	}
	if i := query(t, s, ArchiveQuery{Owner: "ingrid.m"}); i.Count != 0 {
		t.Fatalf("half a pair stored: %+v", i)
	}
	if err := s.ArchivePair(ctx, "acme", "fiona.b", "nobody.here", jidOf("fiona.b"), jidOf("nobody.here"), "st-2", "x", nil, at); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown recipient: %v", err)
	}
	if f := query(t, s, ArchiveQuery{Owner: "fiona.b"}); f.Count != 1 {
		t.Fatalf("half a pair stored: %+v", f)
	}
	if err := s.ArchivePair(ctx, "acme", "fiona.b", "george.w", jidOf("fiona.b"), jidOf("george.w"), "st-3", "", nil, at); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no body: %v", err)
	}
	if err := s.ArchiveMessage(ctx, "acme", "fiona.b", jidOf("george.w"), true, "st-4", "x", bytes.Repeat([]byte("x"), StoredStanzaMax+1), at); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too large: %v", err)
	}
	// To oneself: once, outgoing.
	pair(t, s, "ingrid.m", "ingrid.m", "st-5", "note to self", at)
	if i := query(t, s, ArchiveQuery{Owner: "ingrid.m"}); i.Count != 1 || !i.Messages[0].Outgoing {
		t.Fatalf("to oneself: %+v", i)
	}
	// ArchiveMessage alone, with a zero time: now.
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	if err := s.ArchiveMessage(ctx, "acme", "george.w", jidOf("ingrid.m"), false, "st-6", "one side", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	g = query(t, s, ArchiveQuery{Owner: "george.w", With: jidOf("ingrid.m")})
	if len(g.Messages) != 1 || !g.Messages[0].At.Equal(now) || g.Messages[0].Stanza != nil || g.Messages[0].Outgoing {
		t.Fatalf("one side: %+v", g)
	}
}

func TestArchiveMergesChats(t *testing.T) {
	s, ctx := archiveFixture(t)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	s.now = func() time.Time { return t0 }

	c := mustChat(t, s, newChat("acme", "Ann Visitor", ""))
	v := "v-" + fmt.Sprint(c.Number) // as line shows it
	// The visitor writes before anyone joined.
	say(t, s, c.ID, "visitor_message", AuthorVisitor, "", "", "hi, anyone?", at(1))
	if err := s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", ChatRoleOwner, at(2)); err != nil {
		t.Fatal(err)
	}
	say(t, s, c.ID, "agent_joined", AuthorSystem, "", "", "", at(2))
	say(t, s, c.ID, "system", AuthorSystem, "", "", "Fiona B joined", at(2))
	pair(t, s, "george.w", "fiona.b", "st-1", "lunch?", at(3))
	say(t, s, c.ID, "message", AuthorAgent, "fiona.b", "Fiona B", "hello Ann", at(4))
	if err := s.AddChatAgent(ctx, c.ID, "acme", "george.w", ChatRoleInvited, at(5)); err != nil {
		t.Fatal(err)
	}
	say(t, s, c.ID, "message", AuthorAgent, "george.w", "George W", "George here", at(6))
	// The same millisecond: the colleague message comes first.
	say(t, s, c.ID, "visitor_message", AuthorVisitor, "", "", "thanks both", at(7))
	pair(t, s, "fiona.b", "george.w", "st-2", "yes, at one", at(7))
	pair(t, s, "george.w", "ingrid.m", "st-3", "not for fiona", at(8))

	f := query(t, s, ArchiveQuery{Owner: "fiona.b"})
	want := strings.Join([]string{
		"< " + v + " hi, anyone?",
		"< george.w lunch?",
		"> " + v + " hello Ann",
		"< " + v + " [George W] George here",
		"> george.w yes, at one",
		"< " + v + " thanks both",
	}, "\n")
	if got := lines(f.Messages); got != want || f.Count != 6 || !f.Complete {
		t.Fatalf("fiona's archive (count %d):\n%s\nwant\n%s", f.Count, got, want)
	}
	for i, m := range f.Messages {
		if i > 0 && m.At.Before(f.Messages[i-1].At) {
			t.Fatalf("out of time order at %d", i)
		}
		if strings.HasPrefix(m.ID, "c") {
			if m.Stanza != nil || m.StanzaID != "" || m.With != "" || m.Chat != c.Number {
				t.Fatalf("chat message %+v", m)
			}
		}
	}
	if id := f.Messages[2].ID; id != fmt.Sprintf("c%010d-%06d", c.ID, 4) {
		t.Fatalf("chat message id %q", id)
	}

	// george sees his own words as outgoing, Fiona's as "[Fiona B]".
	g := query(t, s, ArchiveQuery{Owner: "george.w", WithChat: c.Number})
	want = strings.Join([]string{
		"< " + v + " hi, anyone?",
		"< " + v + " [Fiona B] hello Ann",
		"> " + v + " George here",
		"< " + v + " thanks both",
	}, "\n")
	if got := lines(g.Messages); got != want || g.Count != 4 {
		t.Fatalf("george with the visitor:\n%s\nwant\n%s", got, want)
	}

	// Filters.
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", With: jidOf("george.w")}); lines(p.Messages) != "< george.w lunch?\n> george.w yes, at one" || p.Count != 2 {
		t.Fatalf("with george: %+v", p)
	}
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", WithChat: c.Number}); p.Count != 4 || strings.Contains(lines(p.Messages), "george.w") {
		t.Fatalf("with the visitor: %+v", p)
	}
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", WithChat: 999}); p.Count != 0 {
		t.Fatalf("with another visitor: %+v", p)
	}
	if _, err := s.QueryArchive(ctx, ArchiveQuery{Portal: "acme", Owner: "fiona.b", With: jidOf("george.w"), WithChat: c.Number}); err == nil {
		t.Fatal("a query for a colleague and a chat at once was answered")
	}
	start, end := at(3), at(6)
	p := query(t, s, ArchiveQuery{Owner: "fiona.b", Start: &start, End: &end})
	if lines(p.Messages) != "< george.w lunch?\n> "+v+" hello Ann\n< "+v+" [George W] George here" || p.Count != 3 {
		t.Fatalf("from 3 s to 6 s:\n%s", lines(p.Messages))
	}
	late := at(3).Add(time.Microsecond) // after the message at 3 s, within its millisecond
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", Start: &late, End: &end}); p.Count != 2 {
		t.Fatalf("start inside a millisecond: %s", lines(p.Messages))
	}
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", Start: &start, With: jidOf("george.w")}); p.Count != 2 {
		t.Fatalf("start and with: %+v", p)
	}

	// Only one's own: ingrid was in no chat; henry is in another portal.
	if p := query(t, s, ArchiveQuery{Owner: "ingrid.m"}); lines(p.Messages) != "< george.w not for fiona" {
		t.Fatalf("ingrid: %s", lines(p.Messages))
	}
	h := mustChat(t, s, newChat("globex", "Gus", ""))
	if err := s.AddChatAgent(ctx, h.ID, "globex", "henry.k", ChatRoleOwner, at(1)); err != nil {
		t.Fatal(err)
	}
	say(t, s, h.ID, "visitor_message", AuthorVisitor, "", "", "globex question", at(9))
	if p := query(t, s, ArchiveQuery{Portal: "globex", Owner: "henry.k"}); p.Count != 1 || p.Messages[0].Chat != 1001 {
		t.Fatalf("henry: %+v", p)
	}
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b"}); p.Count != 6 {
		t.Fatalf("fiona sees another portal's chat: %+v", p)
	}
	if _, err := s.QueryArchive(ctx, ArchiveQuery{Portal: "globex", Owner: "fiona.b"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fiona in globex: %v", err)
	}
}

func TestArchiveCursors(t *testing.T) {
	s, ctx := archiveFixture(t)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := mustChat(t, s, newChat("acme", "Ann Visitor", ""))
	if err := s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", ChatRoleOwner, t0); err != nil {
		t.Fatal(err)
	}
	say(t, s, c.ID, "visitor_message", AuthorVisitor, "", "", "one", t0.Add(time.Second))
	say(t, s, c.ID, "system", AuthorSystem, "", "", "not a message", t0.Add(2*time.Second))
	pair(t, s, "fiona.b", "george.w", "st-1", "two", t0.Add(3*time.Second))
	pair(t, s, "george.w", "ingrid.m", "st-2", "not fiona's", t0.Add(4*time.Second))
	f := query(t, s, ArchiveQuery{Owner: "fiona.b"})
	if len(f.Messages) != 2 {
		t.Fatalf("fiona: %+v", f)
	}
	g := query(t, s, ArchiveQuery{Owner: "george.w"})

	// A stanza id works as a cursor too.
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", Before: "st-1"}); lines(p.Messages) != "< v-1001 one" {
		t.Fatalf("before a stanza id: %s", lines(p.Messages))
	}
	systemID := fmt.Sprintf("c%010d-%06d", c.ID, 2)
	for _, id := range []string{
		"a999999999999", "c9999999999-000001", "garbage", "a42", "a-00000000001",
		systemID,         // a chat event that is not a message
		g.Messages[1].ID, // a message of george's that fiona is not in
		"st-2",           // a stanza id of someone else's archive
	} {
		for _, q := range []ArchiveQuery{{After: id}, {Before: id}} {
			q.Portal, q.Owner = "acme", "fiona.b"
			_, err := s.QueryArchive(ctx, q)
			var ue *UserError
			if !errors.Is(err, ErrNotFound) || !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "item-not-found: no archived message with id") {
				t.Fatalf("cursor %q: %v", id, err)
			}
		}
	}
}

func TestArchiveIDs(t *testing.T) {
	for _, tc := range []struct {
		kind   int
		k1, k2 int64
		id     string
	}{
		{kindArchive, 42, 0, "a000000000042"},
		{kindArchive, 1234567890123456, 0, "a1234567890123456"},
		{kindChat, 7, 13, "c0000000007-000013"},
		{kindChat, 12345678901, 1234567, "c12345678901-1234567"},
	} {
		if id := archiveID(tc.kind, tc.k1, tc.k2); id != tc.id {
			t.Errorf("id %q, want %q", id, tc.id)
		}
		if kind, k1, k2, ok := parseArchiveID(tc.id); !ok || kind != tc.kind || k1 != tc.k1 || k2 != tc.k2 {
			t.Errorf("parse %q: %d %d %d %v", tc.id, kind, k1, k2, ok)
		}
	}
	for _, id := range []string{"", "a", "a42", "a0000000000000042", "c7-13", "c0000000007", "c0000000007-", "x000000000042", "a00000000004x", "a000000000000"} {
		if _, _, _, ok := parseArchiveID(id); ok {
			t.Errorf("%q parsed", id)
		}
	}
}

// fillArchive gives fiona.b n messages, alternating between archive rows
// and the messages of two visitor chats, with many on the same
// millisecond, and returns their ids in archive order.
func fillArchive(t testing.TB, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	var chats []Chat
	for i := 0; i < 2; i++ {
		c := mustChat(t, s, newChat("acme", fmt.Sprintf("Visitor %d", i), ""))
		if err := s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", ChatRoleOwner, t0); err != nil {
			t.Fatal(err)
		}
		chats = append(chats, c)
	}
	type item struct {
		at   time.Time
		kind int
		k1   int64
		k2   int64
	}
	var items []item
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i/3) * time.Millisecond) // three per millisecond
		switch i % 4 {
		case 0, 2:
			pair(t, s, "george.w", "fiona.b", fmt.Sprintf("st-%d", i), fmt.Sprintf("m%d", i), at)
		case 1:
			e := say(t, s, chats[0].ID, "visitor_message", AuthorVisitor, "", "", fmt.Sprintf("m%d", i), at)
			items = append(items, item{at, kindChat, chats[0].ID, e.Seq})
			continue
		case 3:
			e := say(t, s, chats[1].ID, "message", AuthorAgent, "fiona.b", "Fiona B", fmt.Sprintf("m%d", i), at)
			items = append(items, item{at, kindChat, chats[1].ID, e.Seq})
			continue
		}
		var id int64
		if err := s.r.QueryRow(`SELECT a.id FROM archive a JOIN agents o ON o.id IN (a.from_id, a.to_id) WHERE o.username_key = 'fiona.b' AND a.stanza_id = ?`,
			fmt.Sprintf("st-%d", i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		items = append(items, item{at, kindArchive, id, 0})
	}
	// The archive's order: time, then archive rows before chat messages,
	// by row id, chat and seq. items is in time order already.
	less := func(a, b item) bool {
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.k1 != b.k1 {
			return a.k1 < b.k1
		}
		return a.k2 < b.k2
	}
	for i := 1; i < len(items); i++ { // insertion sort: nearly sorted
		for j := i; j > 0 && less(items[j], items[j-1]); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = archiveID(it.kind, it.k1, it.k2)
	}
	return ids
}

func TestArchivePaging(t *testing.T) {
	s, _ := archiveFixture(t)
	const total = 500
	want := fillArchive(t, s, total)

	// Forward, 50 at a time: every message exactly once, in order.
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > total/50 {
			t.Fatal("paging does not end")
		}
		p := query(t, s, ArchiveQuery{Owner: "fiona.b", After: after, Max: 50})
		if p.Count != total {
			t.Fatalf("count %d", p.Count)
		}
		for _, m := range p.Messages {
			got = append(got, m.ID)
		}
		if len(p.Messages) > 0 && (p.First != p.Messages[0].ID || p.Last != p.Messages[len(p.Messages)-1].ID) {
			t.Fatalf("first/last %q %q", p.First, p.Last)
		}
		if p.Complete != (len(got) == total) {
			t.Fatalf("page %d: complete %v with %d seen", pages, p.Complete, len(got))
		}
		if p.Complete {
			break
		}
		if len(p.Messages) != 50 {
			t.Fatalf("page %d has %d", pages, len(p.Messages))
		}
		after = p.Last
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("forward paging visited\n%v\nwant\n%v", got, want)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
	}

	// Backward from the end: the last page first, each in time order.
	var back []string
	p := query(t, s, ArchiveQuery{Owner: "fiona.b", BeforeSet: true, Max: 50})
	for pages := 0; ; pages++ {
		if pages > total/50 {
			t.Fatal("paging does not end")
		}
		ids := make([]string, len(p.Messages))
		for i, m := range p.Messages {
			ids[i] = m.ID
		}
		back = append(ids, back...)
		if p.Complete {
			break
		}
		p = query(t, s, ArchiveQuery{Owner: "fiona.b", Before: p.First, Max: 50})
	}
	if strings.Join(back, " ") != strings.Join(want, " ") {
		t.Fatal("backward paging differs from the archive order")
	}

	// An odd page size ends on an incomplete page; both directions agree
	// about the middle.
	p = query(t, s, ArchiveQuery{Owner: "fiona.b", After: want[99], Max: 7})
	if p.First != want[100] || p.Last != want[106] || p.Complete {
		t.Fatalf("after #100: %q..%q %v", p.First, p.Last, p.Complete)
	}
	p = query(t, s, ArchiveQuery{Owner: "fiona.b", Before: want[100], Max: 7})
	if p.First != want[93] || p.Last != want[99] || p.Complete {
		t.Fatalf("before #101: %q..%q", p.First, p.Last)
	}
	p = query(t, s, ArchiveQuery{Owner: "fiona.b", Before: want[3], Max: 7})
	if len(p.Messages) != 3 || p.First != want[0] || !p.Complete {
		t.Fatalf("before #4: %+v", p)
	}
	p = query(t, s, ArchiveQuery{Owner: "fiona.b", After: want[total-1]})
	if len(p.Messages) != 0 || !p.Complete || p.Count != total || p.First != "" {
		t.Fatalf("after the last: %+v", p)
	}
	// Between two cursors.
	p = query(t, s, ArchiveQuery{Owner: "fiona.b", After: want[10], Before: want[20], Max: 5})
	if p.First != want[15] || p.Last != want[19] || p.Complete {
		t.Fatalf("between: %q..%q %v", p.First, p.Last, p.Complete)
	}

	// Page sizes: default and cap.
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b"}); len(p.Messages) != ArchivePageDefault || p.Complete {
		t.Fatalf("default page has %d", len(p.Messages))
	}
	if p := query(t, s, ArchiveQuery{Owner: "fiona.b", Max: 1000}); len(p.Messages) != ArchivePageMax {
		t.Fatalf("capped page has %d", len(p.Messages))
	}
}

func TestArchiveGoesWithAgent(t *testing.T) {
	s, ctx := archiveFixture(t)
	pair(t, s, "fiona.b", "george.w", "st-1", "hi", time.Now())
	if err := s.ArchiveMessage(ctx, "acme", "fiona.b", jidOf("henry.k"), true, "st-2", "only mine", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreOffline(ctx, "acme", "fiona.b", "x", []byte("<message/>")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVCard(ctx, "acme", "fiona.b", VCard{Nickname: "Fi"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAgent(ctx, "acme", "fiona.b", "test"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"archive WHERE from_id IS NOT NULL OR to_id IS NULL", "offline_messages", "vcards"} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d left, %v", table, n, err)
		}
	}
	// George keeps his side.
	if p := query(t, s, ArchiveQuery{Owner: "george.w"}); p.Count != 1 {
		t.Fatalf("george: %+v", p)
	}
}

func TestVCard(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	v, err := s.VCard(ctx, "acme", "fiona.b")
	if err != nil || v.Nickname != "" || v.Photo != nil || v.PhotoType != "" || !v.UpdatedAt.IsZero() {
		t.Fatalf("none set: %+v %v", v, err)
	}
	if _, err := s.VCard(ctx, "acme", "nobody.here"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "agent") {
		t.Fatalf("unknown agent: %v", err)
	}
	if _, err := s.VCard(ctx, "nope", "fiona.b"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "portal") {
		t.Fatalf("unknown portal: %v", err)
	}
	if err := s.SetVCard(ctx, "acme", "nobody.here", VCard{Nickname: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("set for an unknown agent: %v", err)
	}

	photo := bytes.Repeat([]byte{0x89}, VCardPhotoMax)
	if err := s.SetVCard(ctx, "acme", "Fiona.B", VCard{Nickname: "  Fi  ", PhotoType: "Image/PNG", Photo: photo}); err != nil {
		t.Fatal(err)
	}
	v, err = s.VCard(ctx, "acme", "fiona.b")
	if err != nil || v.Nickname != "Fi" || v.PhotoType != "image/png" || !bytes.Equal(v.Photo, photo) || !v.UpdatedAt.Equal(now) {
		t.Fatalf("read back: %q %q %d %v %v", v.Nickname, v.PhotoType, len(v.Photo), v.UpdatedAt, err)
	}
	// george's is his own.
	if g, _ := s.VCard(ctx, "acme", "george.w"); g.Nickname != "" || g.Photo != nil {
		t.Fatalf("george: %+v", g)
	}
	// Replacing drops the photo.
	now = now.Add(time.Hour)
	if err := s.SetVCard(ctx, "acme", "fiona.b", VCard{Nickname: "Fiona", PhotoType: "image/png"}); err != nil {
		t.Fatal(err)
	}
	if v, _ = s.VCard(ctx, "acme", "fiona.b"); v.Nickname != "Fiona" || v.Photo != nil || v.PhotoType != "" || !v.UpdatedAt.Equal(now) {
		t.Fatalf("replaced: %+v", v)
	}

	for _, tc := range []struct {
		v    VCard
		want string
	}{
		{VCard{Nickname: strings.Repeat("é", NicknameMax+1)}, "too long (101 characters, at most 100)"},
		{VCard{Nickname: "two\nlines"}, "control characters"},
		{VCard{PhotoType: "image/png", Photo: make([]byte, VCardPhotoMax+1)}, "photo is too large (65 KiB, at most 64 KiB)"},
		{VCard{Photo: []byte{1}}, "needs its media type"},
		{VCard{PhotoType: "text/html", Photo: []byte{1}}, "not an image media type"},
		{VCard{PhotoType: "png", Photo: []byte{1}}, "not an image media type"},
	} {
		err := s.SetVCard(ctx, "acme", "fiona.b", tc.v)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.want, err, tc.want)
		}
	}
	if err := s.SetVCard(ctx, "acme", "fiona.b", VCard{Nickname: strings.Repeat("é", NicknameMax)}); err != nil {
		t.Fatalf("%d characters: %v", NicknameMax, err)
	}
}

// BenchmarkQueryArchive pages through an archive of 10,000 messages (half
// colleague messages, half visitor-chat messages): the first page, a page
// in the middle after a cursor, and the last page.
func BenchmarkQueryArchive(b *testing.B) {
	s, err := Open(testAddr(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fillChatFixture(b, s)
	ids := fillArchiveFast(b, s, 10000)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    ArchiveQuery
	}{
		{"first", ArchiveQuery{}},
		{"middle", ArchiveQuery{After: ids[len(ids)/2]}},
		{"last", ArchiveQuery{BeforeSet: true}},
		{"with", ArchiveQuery{With: jidOf("george.w"), After: ids[len(ids)/2]}},
	} {
		q := bc.q
		q.Portal, q.Owner, q.Max = "acme", "fiona.b", 50
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.QueryArchive(ctx, q)
				if err != nil || len(p.Messages) != 50 {
					b.Fatalf("%d messages, %v", len(p.Messages), err)
				}
			}
		})
	}
}

// fillArchiveFast gives fiona.b n messages in one transaction: every
// other one a colleague message, the rest in 20 visitor chats, one
// message per millisecond. Around them the portal is busy: 5,000 chats of
// george.w's with 4 messages each. It returns fiona's ids in archive
// order.
func fillArchiveFast(b testing.TB, s *Store, n int) []string {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var chats []int64
	for i := 0; i < 20; i++ {
		c := mustChat(b, s, newChat("acme", fmt.Sprintf("Visitor %d", i), ""))
		if err := s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", ChatRoleOwner, t0); err != nil {
			b.Fatal(err)
		}
		chats = append(chats, c.ID)
	}
	var pid, fiona, george int64
	s.r.QueryRow(`SELECT portal_id, id FROM agents WHERE username_key = 'fiona.b'`).Scan(&pid, &fiona)
	s.r.QueryRow(`SELECT id FROM agents WHERE username_key = 'george.w'`).Scan(&george)
	ids := make([]string, 0, n)
	seqs := make([]int64, len(chats))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i := 0; i < n; i++ {
			at := millis(t0) + int64(i)
			body := fmt.Sprintf("message %d", i)
			if i%2 == 0 {
				var id int64
				from, to, fromJID, toJID := george, fiona, jidOf("george.w"), jidOf("fiona.b")
				if i%4 == 0 {
					from, to, fromJID, toJID = fiona, george, toJID, fromJID
				}
				err := tx.QueryRow(`INSERT INTO archive (portal_id, from_id, to_id, from_jid, to_jid, stanza_id, body, stanza, at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, pid, from, to, fromJID, toJID, fmt.Sprintf("st-%d", i), body,
					[]byte("<message type='chat'><body>"+body+"</body></message>"), at).Scan(&id)
				if err != nil {
					return err
				}
				ids = append(ids, archiveID(kindArchive, id, 0))
				continue
			}
			k := (i / 2) % len(chats)
			seqs[k]++
			typ, kind, author := "visitor_message", AuthorVisitor, ""
			if i%4 == 3 {
				typ, kind, author = "message", AuthorAgent, "fiona.b"
			}
			if _, err := tx.Exec(`INSERT INTO chat_events (chat_id, seq, at, type, author_kind, author, author_name, text, visible)
				VALUES (?, ?, ?, ?, ?, ?, 'Fiona B', ?, 1)`, chats[k], seqs[k], at, typ, kind, author, body); err != nil {
				return err
			}
			ids = append(ids, archiveID(kindChat, chats[k], seqs[k]))
		}
		for k, id := range chats {
			if _, err := tx.Exec(`UPDATE chats SET last_seq = ? WHERE id = ?`, seqs[k], id); err != nil {
				return err
			}
		}
		var visitor int64
		tx.QueryRow(`SELECT visitor_id FROM chats WHERE id = ?`, chats[0]).Scan(&visitor)
		for i := 0; i < 5000; i++ {
			var id int64
			at := millis(t0) + int64(i)
			if err := tx.QueryRow(`INSERT INTO chats (public_id, portal_id, number, visitor_id, question, token_hash, created_at, last_seq)
				VALUES (?, ?, ?, ?, 'q', ?, ?, 4) RETURNING id`, fmt.Sprintf("busy-%d", i), pid, 100000+i, visitor, []byte{0}, at).Scan(&id); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO chat_agents (chat_id, agent_id, agent_username, agent_name, role, joined_at)
				VALUES (?, ?, 'george.w', 'George W', 'owner', ?)`, id, george, at); err != nil {
				return err
			}
			for seq := 1; seq <= 4; seq++ {
				if _, err := tx.Exec(`INSERT INTO chat_events (chat_id, seq, at, type, author_kind, text, visible)
					VALUES (?, ?, ?, 'visitor_message', 'visitor', 'busy', 1)`, id, seq, at+int64(seq)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

func TestArchiveWriterBatches(t *testing.T) {
	s, ctx := twoAgents(t)
	w := s.NewArchiveWriter(8, nil) // small: the overflow path writes directly
	const n = 300
	for i := 0; i < n; i++ {
		if err := w.Add("acme", "fiona.b", "george.w", "acme|fiona.b@x", "acme|george.w@x", fmt.Sprintf("id%d", i), fmt.Sprintf("m%d", i), nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Add("acme", "fiona.b", "george.w", "acme|fiona.b@x", "acme|george.w@x", "", "no id", nil, time.Time{}); err == nil {
		t.Fatal("a message without stanza id was accepted")
	}
	w.Close()
	for _, owner := range []string{"fiona.b", "george.w"} {
		page, err := s.QueryArchive(ctx, ArchiveQuery{Portal: "acme", Owner: owner, Max: 10})
		if err != nil || page.Count != n {
			t.Fatalf("%s: %d archived, want %d (%v)", owner, page.Count, n, err)
		}
	}
}

// AfterWritten runs once what was added before it is on disk, and says
// when a write failed.
func TestArchiveWriterAfterWritten(t *testing.T) {
	s, ctx := twoAgents(t)
	w := s.NewArchiveWriter(1024, nil)
	defer w.Close()
	count := func() int {
		page, err := s.QueryArchive(ctx, ArchiveQuery{Portal: "acme", Owner: "fiona.b", Max: 1})
		if err != nil {
			t.Fatal(err)
		}
		return page.Count
	}
	// Nothing queued: at once.
	done := make(chan error, 1)
	w.AfterWritten(func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 3; round++ {
		for i := 0; i < 100; i++ {
			if err := w.Add("acme", "fiona.b", "george.w", "acme|fiona.b@x", "acme|george.w@x", fmt.Sprintf("id%d-%d", round, i), "m", nil, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		w.AfterWritten(func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := count(); n != round*100 {
			t.Fatalf("round %d: %d messages on disk when AfterWritten ran, want %d", round, n, round*100)
		}
	}
	// A write that fails is reported to whoever waits for it.
	if _, err := s.w.Exec(`DROP TABLE archive`); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("acme", "fiona.b", "george.w", "acme|fiona.b@x", "acme|george.w@x", "lost", "m", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err == nil {
		t.Fatal("a failed archive write was reported as written")
	}
}

// twoAgents is a store with portal acme and agents fiona.b and george.w.
func twoAgents(t testing.TB) (*Store, context.Context) {
	t.Helper()
	s := openTest(t)
	ctx := context.Background()
	s.AddPortal(ctx, "acme", "test")
	for _, u := range []string{"fiona.b", "george.w"} {
		if _, err := s.AddAgent(ctx, NewAgent{Portal: "acme", Username: u, Email: u + "@acme.example", Password: "password1"}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return s, ctx
}

// Nodes sharing the store release only their own held messages: a holder
// is "NODE:ID", and a prefix is matched exactly (case and the characters
// LIKE would take for patterns included).
func TestReleaseHeldPrefix(t *testing.T) {
	s, ctx := chatFixture(t)
	for _, holder := range []string{"node-a:sm1", "node-a:sm2", "node-b:sm3", "Node-A:sm4", "node-a_x:sm5", "node%:sm6"} {
		if _, err := s.HoldOffline(ctx, "acme", "fiona.b", "x", []byte("<message><body>"+holder+"</body></message>"), holder); err != nil {
			t.Fatal(err)
		}
	}
	taken := func() int {
		ms, err := s.TakeOffline(ctx, "acme", "fiona.b", 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	if n := taken(); n != 0 {
		t.Fatalf("%d held messages taken before any release", n)
	}
	if _, err := s.ReleaseHeldPrefix(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty prefix: %v", err)
	}
	for _, c := range []struct {
		prefix      string
		n, released int64
	}{
		{"node-a:", 2, 2},
		{"node-a:", 0, 2}, // twice: nothing left
		{"node%:", 1, 3},
		{"node-b:", 1, 4},
	} {
		n, err := s.ReleaseHeldPrefix(ctx, c.prefix)
		if err != nil || n != c.n {
			t.Fatalf("release %q: %d %v, want %d", c.prefix, n, err, c.n)
		}
		if got := taken(); int64(got) != c.released {
			t.Fatalf("after releasing %q a sign-in takes %d, want %d", c.prefix, got, c.released)
		}
	}
	if n, err := s.ReleaseAllHeld(ctx); err != nil || n != 2 {
		t.Fatalf("release all: %d %v, want the 2 of Node-A and node-a_x", n, err)
	}
}
