package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// auditActions returns the portal's newest n audit actions, newest first,
// as "actor action target".
func auditActions(t *testing.T, s *Store, portal string, n int) []string {
	t.Helper()
	es, err := s.Audit(context.Background(), portal, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Actor+" "+e.Action+" "+e.Target)
	}
	return out
}

func TestBlockIP(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	c := mustChat(t, s, newChat("acme", "Ann", ""))

	b, err := s.BlockIP(ctx, "acme", "203.0.113.7", " spam ", "fiona.b", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == 0 || b.Portal != "acme" || b.IP != "203.0.113.7" || b.Reason != "spam" || b.BlockedBy != "fiona.b" ||
		b.ChatNumber != c.Number || !b.CreatedAt.Equal(now) {
		t.Fatalf("blocked %+v", b)
	}
	for ip, want := range map[string]bool{
		"203.0.113.7":        true,
		"::ffff:203.0.113.7": true, // the same address, IPv4-mapped
		"203.0.113.8":        false,
		"":                   false,
		"not an address":     false,
	} {
		if got, err := s.IsBlocked(ctx, "acme", ip); err != nil || got != want {
			t.Errorf("IsBlocked(acme, %q) = %v, %v; want %v", ip, got, err, want)
		}
	}
	// Portals are separate.
	if got, err := s.IsBlocked(ctx, "globex", "203.0.113.7"); err != nil || got {
		t.Errorf("blocked in globex: %v %v", got, err)
	}
	if got, err := s.IsBlocked(ctx, "nope", "203.0.113.7"); err != nil || got {
		t.Errorf("blocked in an unknown portal: %v %v", got, err)
	}

	// Blocking twice, in any spelling, is ErrExists.
	_, err = s.BlockIP(ctx, "acme", "::FFFF:203.0.113.7", "again", "george.w", 0)
	if !errors.Is(err, ErrExists) || err.Error() != "IP address 203.0.113.7 is already blocked" {
		t.Fatalf("second block: %v", err)
	}
	for _, tc := range []struct {
		portal, ip, reason string
		chatID             int64
		kind               error
		want               string
	}{
		{"acme", "203.0.113", "spam", 0, ErrInvalid, `"203.0.113" is not an IP address`},
		{"acme", "203.0.113.9:443", "spam", 0, ErrInvalid, "is not an IP address"},
		{"acme", "", "spam", 0, ErrInvalid, "is not an IP address"},
		{"acme", "203.0.113.9", "  ", 0, ErrInvalid, "a reason is required"},
		{"acme", "203.0.113.9", strings.Repeat("x", BlockReasonMax+1), 0, ErrInvalid, "too long"},
		{"nope", "203.0.113.9", "spam", 0, ErrNotFound, `portal "nope" does not exist`},
		{"globex", "203.0.113.9", "spam", c.ID, ErrNotFound, fmt.Sprintf(`chat %d does not exist in portal "globex"`, c.ID)},
		{"acme", "203.0.113.9", "spam", 999999, ErrNotFound, "chat 999999 does not exist"},
	} {
		_, err := s.BlockIP(ctx, tc.portal, tc.ip, tc.reason, "fiona.b", tc.chatID)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("BlockIP(%q, %q, %q, %d): %v; want %q", tc.portal, tc.ip, tc.reason, tc.chatID, err, tc.want)
		}
	}

	// IPv6 is stored compressed and lowercase, so any spelling matches.
	now = now.Add(time.Minute)
	b6, err := s.BlockIP(ctx, "acme", "2001:DB8:0:0:0::7", "abuse", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if b6.IP != "2001:db8::7" || b6.BlockedBy != "cli" || b6.ChatNumber != 0 {
		t.Fatalf("IPv6 block %+v", b6)
	}
	if got, _ := s.IsBlocked(ctx, "acme", "2001:db8:0000::0007"); !got {
		t.Error("IPv6 address in another spelling is not blocked")
	}
	// The same address may be blocked in another portal too.
	if _, err := s.BlockIP(ctx, "globex", "203.0.113.7", "spam here too", "henry.k", 0); err != nil {
		t.Fatal(err)
	}

	bs, err := s.BlockedIPs(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].IP != "2001:db8::7" || bs[1] != b {
		t.Fatalf("blocked list %+v", bs)
	}
	if _, err := s.BlockedIPs(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("list of unknown portal: %v", err)
	}

	if err := s.UnblockIP(ctx, "acme", "::ffff:203.0.113.7", "george.w"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.IsBlocked(ctx, "acme", "203.0.113.7"); got {
		t.Error("still blocked after unblocking")
	}
	if got, _ := s.IsBlocked(ctx, "globex", "203.0.113.7"); !got {
		t.Error("unblocking in acme unblocked globex")
	}
	err = s.UnblockIP(ctx, "acme", "203.0.113.7", "george.w")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `IP address 203.0.113.7 is not blocked in portal "acme"`) {
		t.Fatalf("second unblock: %v", err)
	}
	if err := s.UnblockIP(ctx, "acme", "bogus", "george.w"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unblock bad address: %v", err)
	}
	if err := s.UnblockIP(ctx, "nope", "203.0.113.7", "cli"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "portal") {
		t.Fatalf("unblock in unknown portal: %v", err)
	}

	want := []string{"george.w block.remove 203.0.113.7", "cli block.add 2001:db8::7", "fiona.b block.add 203.0.113.7"}
	if got := auditActions(t, s, "acme", 3); strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("audit %q, want %q", got, want)
	}
	es, _ := s.Audit(ctx, "acme", 3)
	if es[2].Detail != fmt.Sprintf(`reason="spam" chat=#%d`, c.Number) {
		t.Errorf("block.add detail %q", es[2].Detail)
	}
}

func TestCanonicalIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":          "192.0.2.1",
		" 192.0.2.1 ":        "192.0.2.1",
		"::ffff:1.2.3.4":     "1.2.3.4",
		"::FFFF:102:304":     "1.2.3.4",
		"2001:0DB8::0001":    "2001:db8::1",
		"fe80::1%eth0":       "fe80::1",
		"2001:db8:0:0:1:0:0": "",
		"1.2.3.04":           "",
		"example.com":        "",
	} {
		got, err := CanonicalIP(in)
		if got != want || (err == nil) != (want != "") || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CanonicalIP(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestVisitorNotes(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	// A returning visitor: two chats, one visitor.
	c1 := mustChat(t, s, newChat("acme", "Ann", "ann@example.com"))
	c2 := mustChat(t, s, newChat("acme", "Ann Smith", "ANN@example.com"))
	if c1.VisitorID != c2.VisitorID {
		t.Fatal("not the same visitor")
	}
	other := mustChat(t, s, newChat("acme", "Bob", ""))

	n1, err := s.AddVisitorNote(ctx, c1.ID, "fiona.b", "Fiona B", "  Prefers email.  ")
	if err != nil {
		t.Fatal(err)
	}
	if n1.ID == 0 || n1.Portal != "acme" || n1.VisitorID != c1.VisitorID || n1.ChatNumber != c1.Number ||
		n1.Author != "fiona.b" || n1.AuthorName != "Fiona B" || n1.Text != "Prefers email." || !n1.CreatedAt.Equal(now) {
		t.Fatalf("note %+v", n1)
	}
	now = now.Add(time.Hour)
	n2, err := s.AddVisitorNote(ctx, c2.ID, "george.w", "George W", strings.Repeat("ä", NoteMax))
	if err != nil {
		t.Fatal(err)
	}

	ns, err := s.VisitorNotes(ctx, c2.VisitorID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0] != n1 || ns[1] != n2 || ns[1].ChatNumber != c2.Number {
		t.Fatalf("notes %+v", ns)
	}
	if ns, err := s.VisitorNotes(ctx, other.VisitorID); err != nil || ns == nil || len(ns) != 0 {
		t.Fatalf("another visitor's notes: %+v %v", ns, err)
	}
	if ns, err := s.VisitorNotes(ctx, 999999); err != nil || len(ns) != 0 {
		t.Fatalf("unknown visitor's notes: %+v %v", ns, err)
	}

	for _, tc := range []struct {
		chatID int64
		text   string
		kind   error
		want   string
	}{
		{c1.ID, " \n ", ErrInvalid, "the note text is required"},
		{c1.ID, strings.Repeat("x", NoteMax+1), ErrInvalid, "too long (at most 2000 characters)"},
		{999999, "hello", ErrNotFound, "chat 999999 does not exist"},
	} {
		_, err := s.AddVisitorNote(ctx, tc.chatID, "fiona.b", "Fiona B", tc.text)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddVisitorNote(%d, %.20q): %v; want %q", tc.chatID, tc.text, err, tc.want)
		}
	}
}

// cannedNames renders canned responses as "department/shortcut".
func cannedNames(cs []Canned) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Department+"/"+c.Shortcut)
	}
	return strings.Join(out, " ")
}

func TestCanned(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	hello, err := s.AddCanned(ctx, "acme", "", "hello", "", " Hello! How can I help? ", "fiona.b")
	if err != nil {
		t.Fatal(err)
	}
	if hello.ID == 0 || hello.Portal != "acme" || hello.Department != "" || hello.Shortcut != "hello" ||
		hello.Category != DefaultCannedCategory || hello.Text != "Hello! How can I help?" || !hello.CreatedAt.Equal(now) {
		t.Fatalf("added %+v", hello)
	}
	salesHello, err := s.AddCanned(ctx, "acme", "sales", "Hello", "Greetings", "Hi from Sales!", "fiona.b")
	if err != nil {
		t.Fatal(err)
	}
	if salesHello.Department != "Sales" {
		t.Fatalf("department is %q, want the stored name", salesHello.Department)
	}
	for _, a := range [][4]string{
		{"", "bye", "Closing", "Goodbye!"},
		{"", "refund", "billing", "Refunds take 5 days."},
		{"Sales", "price.list", "Billing", "See our price list."},
		{"", "a_b-c.D9", "", "All allowed characters."},
	} {
		if _, err := s.AddCanned(ctx, "acme", a[0], a[1], a[2], a[3], "cli"); err != nil {
			t.Fatal(err)
		}
	}

	// A category differing only in case is the existing one.
	if c, _ := s.CannedByShortcut(ctx, "acme", "Sales", "price.list"); c.Category != "billing" {
		t.Errorf("category %q, want the existing spelling \"billing\"", c.Category)
	}

	for _, tc := range []struct {
		portal, dept, shortcut, text string
		kind                         error
		want                         string
	}{
		{"acme", "", "HELLO", "x", ErrExists, `canned response "HELLO" already exists in portal "acme" (for all departments)`},
		{"acme", "SALES", "hello", "x", ErrExists, `canned response "hello" already exists for department "Sales" in portal "acme"`},
		{"acme", "Billing", "hi", "x", ErrNotFound, `department "Billing" does not exist in portal "acme" (see: jabberdesk dept list acme)`},
		{"globex", "Sales", "hi", "x", ErrNotFound, `department "Sales" does not exist in portal "globex"`},
		{"nope", "", "hi", "x", ErrNotFound, `portal "nope" does not exist`},
		{"acme", "", "", "x", ErrInvalid, "a shortcut is required"},
		{"acme", "", "two words", "x", ErrInvalid, "not allowed: ' '"},
		{"acme", "", "#hi", "x", ErrInvalid, "not allowed: '#'"},
		{"acme", "", "grüß", "x", ErrInvalid, "not allowed: 'ü'"},
		{"acme", "", strings.Repeat("a", ShortcutMax+1), "x", ErrInvalid, "too long"},
		{"acme", "", "empty", "  ", ErrInvalid, `the text of canned response "empty" is required`},
		{"acme", "", "long", strings.Repeat("x", CannedTextMax+1), ErrInvalid, "too long"},
	} {
		_, err := s.AddCanned(ctx, tc.portal, tc.dept, tc.shortcut, "", tc.text, "cli")
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddCanned(%q, %q, %.40q): %v; want %q", tc.portal, tc.dept, tc.shortcut, err, tc.want)
		}
	}
	if _, err := s.AddCanned(ctx, "acme", "", strings.Repeat("a", ShortcutMax), "", "longest", "cli"); err != nil {
		t.Fatalf("30-character shortcut: %v", err)
	}
	if err := s.RemoveCanned(ctx, "acme", "", strings.Repeat("A", ShortcutMax), "cli"); err != nil {
		t.Fatal(err)
	}

	// Lookup: case-insensitive, the department's own first.
	for _, tc := range []struct{ dept, shortcut, want string }{
		{"Sales", "HELLO", "Hi from Sales!"},
		{"sales", "hello", "Hi from Sales!"},
		{"", "Hello", "Hello! How can I help?"},
		{"Gone", "hello", "Hello! How can I help?"}, // a removed department has none of its own
		{"Sales", "bye", "Goodbye!"},
		{"Sales", "Price.List", "See our price list."},
	} {
		c, err := s.CannedByShortcut(ctx, "acme", tc.dept, tc.shortcut)
		if err != nil || c.Text != tc.want || c.Portal != "acme" {
			t.Errorf("CannedByShortcut(%q, %q) = %+v, %v; want %q", tc.dept, tc.shortcut, c, err, tc.want)
		}
	}
	for _, tc := range []struct{ portal, dept, shortcut string }{
		{"acme", "", "price.list"}, // Sales only
		{"acme", "Sales", "nope"},
		{"globex", "", "hello"}, // portals are separate
	} {
		_, err := s.CannedByShortcut(ctx, tc.portal, tc.dept, tc.shortcut)
		if !errors.Is(err, ErrNotFound) || err.Error() != fmt.Sprintf("no canned response %q (#r lists them)", tc.shortcut) {
			t.Errorf("CannedByShortcut(%q, %q, %q): %v", tc.portal, tc.dept, tc.shortcut, err)
		}
	}
	if _, err := s.CannedByShortcut(ctx, "nope", "", "hello"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "portal") {
		t.Errorf("unknown portal: %v", err)
	}

	// Listings: by category (ignoring case), then shortcut; the portal-wide
	// "hello" is overridden in Sales.
	for _, tc := range []struct{ dept, want string }{
		{"Sales", "Sales/price.list /refund /bye /a_b-c.D9 Sales/Hello"},
		{"", "/refund /bye /a_b-c.D9 /hello"},
		{"Gone", "/refund /bye /a_b-c.D9 /hello"},
	} {
		cs, err := s.CannedFor(ctx, "acme", tc.dept)
		if err != nil || cannedNames(cs) != tc.want {
			t.Errorf("CannedFor(%q) = %q, %v; want %q", tc.dept, cannedNames(cs), err, tc.want)
		}
	}
	if cs, err := s.CannedFor(ctx, "globex", ""); err != nil || cs == nil || len(cs) != 0 {
		t.Errorf("globex: %+v %v", cs, err)
	}
	if _, err := s.CannedFor(ctx, "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown portal: %v", err)
	}
	cs, err := s.CannedList(ctx, "acme")
	if want := "/refund /bye /a_b-c.D9 /hello Sales/price.list Sales/Hello"; err != nil || cannedNames(cs) != want {
		t.Fatalf("CannedList = %q, %v; want %q", cannedNames(cs), err, want)
	}
	if cs[3] != hello || cs[5] != salesHello {
		t.Fatalf("listed %+v, %+v; added %+v, %+v", cs[3], cs[5], hello, salesHello)
	}

	// Removing the department's "hello" uncovers the portal-wide one.
	if err := s.RemoveCanned(ctx, "acme", "SALES", "HELLO", "george.w"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.CannedByShortcut(ctx, "acme", "Sales", "hello"); err != nil || c.ID != hello.ID {
		t.Fatalf("after removal: %+v %v", c, err)
	}
	err = s.RemoveCanned(ctx, "acme", "Sales", "hello", "george.w")
	if !errors.Is(err, ErrNotFound) || err.Error() != `canned response "hello" does not exist for department "Sales" in portal "acme" (see: jabberdesk canned list acme)` {
		t.Fatalf("second removal: %v", err)
	}
	if err := s.RemoveCanned(ctx, "acme", "", "price.list", "cli"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing a department's response as portal-wide: %v", err)
	}
	if err := s.RemoveCanned(ctx, "acme", "Billing", "hello", "cli"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "jabberdesk dept list") {
		t.Fatalf("removal in unknown department: %v", err)
	}
	if err := s.RemoveCanned(ctx, "globex", "", "hello", "cli"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removal in another portal: %v", err)
	}

	want := []string{"george.w canned.remove Hello", "cli canned.remove " + strings.Repeat("a", ShortcutMax),
		"cli canned.add " + strings.Repeat("a", ShortcutMax), "cli canned.add a_b-c.D9"}
	if got := auditActions(t, s, "acme", 4); strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("audit %q, want %q", got, want)
	}
	es, _ := s.Audit(ctx, "acme", 100)
	var adds int
	for _, e := range es {
		if e.Action == "canned.add" {
			adds++
		}
		if e.Action == "canned.add" && e.Target == "Hello" && e.Detail != `department="Sales" category="Greetings"` {
			t.Errorf("canned.add detail %q", e.Detail)
		}
	}
	if adds != 7 {
		t.Errorf("%d canned.add rows, want 7", adds)
	}

	// A department's responses go with it.
	if err := s.RemoveDepartment(ctx, "acme", "Sales", "test"); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.CannedList(ctx, "acme"); err != nil || cannedNames(cs) != "/refund /bye /a_b-c.D9 /hello" {
		t.Fatalf("after removing Sales: %q %v", cannedNames(cs), err)
	}
}

func TestAuditAgentAction(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	if err := s.AuditAgentAction(ctx, "acme", "fiona.b", 1042, "#b spam", "IP address 203.0.113.7 blocked"); err != nil {
		t.Fatal(err)
	}
	if err := s.AuditAgentAction(ctx, "acme", "george.w", 0, "#take 1042", strings.Repeat("ä", 600)); err != nil {
		t.Fatal(err)
	}
	es, err := s.Audit(ctx, "acme", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("entries %+v", es)
	}
	e := es[1]
	if e.Actor != "fiona.b" || e.Action != AuditCommandAction || e.Target != "chat #1042" || e.Portal != "acme" || !e.At.Equal(now) ||
		e.Detail != `command="#b spam" result="IP address 203.0.113.7 blocked"` {
		t.Fatalf("entry %+v", e)
	}
	e = es[0]
	if e.Actor != "george.w" || e.Target != "" ||
		e.Detail != `command="#take 1042" result="`+strings.Repeat("ä", auditTextMax-1)+`…"` {
		t.Fatalf("entry %+v", e)
	}
}

func TestRemovePortalRemovesDeskData(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("globex", "Gus", "gus@example.com"))
	if _, err := s.BlockIP(ctx, "globex", "192.0.2.7", "spam", "henry.k", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVisitorNote(ctx, c.ID, "henry.k", "Henry K", "note"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCanned(ctx, "globex", "", "hello", "", "Hello!", "cli"); err != nil {
		t.Fatal(err)
	}
	keep := mustChat(t, s, newChat("acme", "Ann", ""))
	if _, err := s.BlockIP(ctx, "acme", "192.0.2.7", "spam", "fiona.b", keep.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePortal(ctx, "globex", "test"); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"blocked_ips": 1, "visitor_notes": 0, "canned_responses": 0} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d rows left, want %d", table, n, want)
		}
	}
}

// TestDeskQueriesUseIndexes guards against the queries that run for hash
// commands, and IsBlocked for every new chat, scanning a whole table.
func TestDeskQueriesUseIndexes(t *testing.T) {
	sqliteOnly(t)
	s, _ := chatFixture(t)
	for _, tc := range []struct {
		q     string
		args  []any
		index string
	}{
		{isBlockedQuery, []any{"acme", "192.0.2.7"}, "sqlite_autoindex_blocked_ips_1"},
		{visitorNotesQuery, []any{1}, "visitor_notes_visitor"},
		{cannedByShortcutQuery, []any{1, 1, "hello"}, "canned_responses_key"},
		{cannedForQuery, []any{1, 1}, "canned_responses_key"},
		{cannedListQuery, []any{1}, "canned_responses_key"},
	} {
		plan := queryPlan(t, s, tc.q, tc.args...)
		p := strings.Join(plan, "; ")
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " USING ") && step != "SCAN CONSTANT ROW" {
				t.Errorf("%s\nplan: %s", tc.q, p)
			}
		}
		if !strings.Contains(p, tc.index) {
			t.Errorf("%s\nplan does not use %s: %s", tc.q, tc.index, p)
		}
	}
}

// BenchmarkIsBlocked measures the check made for every new chat, with
// 10,000 addresses blocked.
func BenchmarkIsBlocked(b *testing.B) {
	s, err := Open(testAddr(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := fillChatFixture(b, s)
	for i := range 10000 {
		if _, err := s.BlockIP(ctx, "acme", fmt.Sprintf("10.%d.%d.1", i/256, i%256), "spam", "cli", 0); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) % 20000 // half of them blocked
			if _, err := s.IsBlocked(ctx, "acme", fmt.Sprintf("10.%d.%d.1", i/256, i%256)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
