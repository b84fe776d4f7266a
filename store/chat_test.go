package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var publicIDs atomic.Int64

// chatFixture makes portals acme (department Sales; agents fiona.b and
// george.w) and globex (agent henry.k).
func chatFixture(t *testing.T) (*Store, context.Context) {
	t.Helper()
	s := openTest(t)
	return s, fillChatFixture(t, s)
}

func fillChatFixture(t testing.TB, s *Store) context.Context {
	t.Helper()
	ctx := context.Background()
	for _, p := range []string{"acme", "globex"} {
		if _, err := s.AddPortal(ctx, p, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddDepartment(ctx, "acme", "Sales", "", "", "test"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []NewAgent{
		{Portal: "acme", Username: "fiona.b", DisplayName: "Fiona B", Email: "fiona@acme.example", Departments: []string{"Sales"}},
		{Portal: "acme", Username: "george.w", DisplayName: "George W", Email: "george@acme.example"},
		{Portal: "globex", Username: "henry.k", DisplayName: "Henry K", Email: "henry@globex.example"},
	} {
		a.Password = "12345678"
		if _, err := s.AddAgent(ctx, a, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// newChat is a valid chat request for portal.
func newChat(portal, name, email string) NewChat {
	id := fmt.Sprintf("pub-%d", publicIDs.Add(1))
	h := sha256.Sum256([]byte("token-" + id))
	return NewChat{Portal: portal, PublicID: id, TokenHash: h[:], Name: name, Email: email, Question: "Where is my order?",
		IP: "192.0.2.7", UserAgent: "Mozilla/5.0", Browser: "Firefox", OS: "Linux", Country: "DE", PageURL: "https://acme.example/shop", Language: "de"}
}

func mustChat(t testing.TB, s *Store, n NewChat) Chat {
	t.Helper()
	c, err := s.CreateChat(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateChat(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	n := newChat("acme", " Ann Visitor ", "")
	n.Phone = "+49 30 1234"
	n.Department = "sales"
	c := mustChat(t, s, n)
	if c.ID == 0 || c.Number != 1001 || c.Status != ChatWaiting || c.Department != "Sales" || c.VisitorName != "Ann Visitor" ||
		c.VisitorPhone != "+49 30 1234" || !c.CreatedAt.Equal(now) || c.LastVisitorAt == nil || !c.LastVisitorAt.Equal(now) {
		t.Fatalf("created %+v", c)
	}
	got, err := s.Chat(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.LastVisitorAt, got.LastVisitorAt = nil, nil // compared above
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, c)
	}
	if got.OfferedAt != nil || got.AcceptedAt != nil || got.FirstReplyAt != nil || got.EndedAt != nil || len(got.Agents) != 0 {
		t.Fatalf("times or agents set on a new chat: %+v", got)
	}
	if string(got.TokenHash) != string(n.TokenHash) {
		t.Fatal("token hash not kept")
	}
	if byPub, err := s.ChatByPublicID(ctx, n.PublicID); err != nil || byPub.ID != c.ID {
		t.Fatalf("by public id: %+v %v", byPub, err)
	}
	if byNum, err := s.ChatByNumber(ctx, "acme", 1001); err != nil || byNum.ID != c.ID {
		t.Fatalf("by number: %+v %v", byNum, err)
	}

	// Without department and email: a new visitor every time.
	c2 := mustChat(t, s, newChat("acme", "Ann Visitor", ""))
	if c2.Number != 1002 || c2.Department != "" || c2.VisitorID == c.VisitorID {
		t.Fatalf("second chat %+v", c2)
	}
	// Numbers are per portal.
	if g := mustChat(t, s, newChat("globex", "Gus", "")); g.Number != 1001 {
		t.Fatalf("globex's first chat is #%d", g.Number)
	}
	if c3 := mustChat(t, s, newChat("acme", "Bob", "")); c3.Number != 1003 {
		t.Fatalf("third acme chat is #%d", c3.Number)
	}

	// Removing the department keeps the chat and its department name.
	if err := s.RemoveDepartment(ctx, "acme", "Sales", "test"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Chat(ctx, c.ID); err != nil || got.Department != "Sales" {
		t.Fatalf("after removing the department: %+v %v", got, err)
	}
}

func TestCreateChatErrors(t *testing.T) {
	s, ctx := chatFixture(t)
	for _, tc := range []struct {
		change func(*NewChat)
		kind   error
		want   string
	}{
		{func(n *NewChat) { n.Portal = "nope" }, ErrNotFound, `portal "nope" does not exist`},
		{func(n *NewChat) { n.Department = "Billing" }, ErrNotFound, `department "Billing" does not exist in portal "acme"`},
		{func(n *NewChat) { n.Portal, n.Department = "globex", "Sales" }, ErrNotFound, `department "Sales" does not exist in portal "globex"`},
		{func(n *NewChat) { n.Name = "  " }, ErrInvalid, "name is required"},
		{func(n *NewChat) { n.Name = strings.Repeat("ä", 201) }, ErrInvalid, "name is too long"},
		{func(n *NewChat) { n.Question = "" }, ErrInvalid, "question is required"},
		{func(n *NewChat) { n.Question = strings.Repeat("x", 2001) }, ErrInvalid, "question is too long"},
		{func(n *NewChat) { n.Email = "not an email" }, ErrInvalid, "is not a valid address"},
	} {
		n := newChat("acme", "Ann", "")
		tc.change(&n)
		_, err := s.CreateChat(ctx, n)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %v %q", err, tc.kind, tc.want)
		}
	}
	n := newChat("acme", strings.Repeat("ä", 200), "")
	n.Question = strings.Repeat("x", 2000)
	mustChat(t, s, n)
	if _, err := s.CreateChat(ctx, n); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("reused public id: %v", err)
	}
	n = newChat("acme", "Ann", "")
	n.TokenHash = []byte("the token itself")
	if _, err := s.CreateChat(ctx, n); err == nil {
		t.Error("a token hash that is no SHA-256 was accepted")
	}
	// Failed attempts use up no visitor numbers.
	if c := mustChat(t, s, newChat("acme", "Ann", "")); c.Number != 1002 {
		t.Errorf("number after failures: %d", c.Number)
	}
	if _, err := s.Chat(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown chat: %v", err)
	}
	if _, err := s.ChatByNumber(ctx, "acme", 4711); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "#4711") {
		t.Errorf("unknown number: %v", err)
	}
	if _, err := s.ChatByNumber(ctx, "nope", 1001); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "portal") {
		t.Errorf("unknown portal: %v", err)
	}
	if _, err := s.ChatByPublicID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown public id: %v", err)
	}
}

func TestReturningVisitor(t *testing.T) {
	s, ctx := chatFixture(t)
	n := newChat("acme", "Ann", "Ann@Example.com")
	n.Phone = "123"
	c1 := mustChat(t, s, n)
	c2 := mustChat(t, s, newChat("acme", "Ann Smith", "ann@example.COM"))
	if c2.VisitorID != c1.VisitorID {
		t.Fatal("same email, different visitor")
	}
	if c2.VisitorName != "Ann Smith" || c2.VisitorEmail != "ann@example.COM" || c2.VisitorPhone != "123" {
		t.Fatalf("returning visitor's details %+v", c2)
	}
	// The first chat shows the visitor's current details.
	if got, _ := s.Chat(ctx, c1.ID); got.VisitorName != "Ann Smith" || got.VisitorPhone != "123" {
		t.Fatalf("first chat %+v", got)
	}
	n = newChat("acme", "Ann S.", "ann@example.com")
	n.Phone = "456"
	if c3 := mustChat(t, s, n); c3.VisitorID != c1.VisitorID || c3.VisitorPhone != "456" {
		t.Fatalf("phone not updated: %+v", c3)
	}
	v, err := s.Visitor(ctx, c1.VisitorID)
	if err != nil || v.Name != "Ann S." || v.Phone != "456" || v.Portal != "acme" {
		t.Fatalf("visitor %+v %v", v, err)
	}
	// Another portal's visitor with the same email is someone else.
	if g := mustChat(t, s, newChat("globex", "Ann", "ann@example.com")); g.VisitorID == c1.VisitorID {
		t.Fatal("visitor shared across portals")
	}
	cs, err := s.VisitorChats(ctx, c1.VisitorID, 0)
	if err != nil || len(cs) != 3 || cs[0].Number != 1003 || cs[2].Number != 1001 {
		t.Fatalf("visitor chats %+v %v", cs, err)
	}
	if cs, _ := s.VisitorChats(ctx, c1.VisitorID, 1); len(cs) != 1 || cs[0].Number != 1003 {
		t.Fatalf("limited visitor chats %+v", cs)
	}

	later := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if err := s.TouchVisitor(ctx, c1.ID, later); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchVisitor(ctx, c1.ID, later.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Chat(ctx, c1.ID)
	v, _ = s.Visitor(ctx, c1.VisitorID)
	if !got.LastVisitorAt.Equal(later) || !v.LastSeenAt.Equal(later) {
		t.Fatalf("touch: chat %v visitor %v, want %v", got.LastVisitorAt, v.LastSeenAt, later)
	}
	if err := s.TouchVisitor(ctx, 999, later); !errors.Is(err, ErrNotFound) {
		t.Fatalf("touch unknown chat: %v", err)
	}
}

func TestChatStatus(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	for i, st := range []ChatStatus{ChatOffered, ChatWaiting, ChatOffered, ChatActive, ChatActive, ChatEnded, ChatMissed} {
		if err := s.SetChatStatus(ctx, c.ID, st, at(i), fmt.Sprintf("reason %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Chat(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ChatMissed || !got.OfferedAt.Equal(at(0)) || !got.AcceptedAt.Equal(at(3)) || !got.EndedAt.Equal(at(5)) || got.EndReason != "reason 5" {
		t.Fatalf("after transitions: status %s offered %v accepted %v ended %v reason %q",
			got.Status, got.OfferedAt, got.AcceptedAt, got.EndedAt, got.EndReason)
	}
	if err := s.SetChatStatus(ctx, c.ID, "paused", t0, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad status: %v", err)
	}
	if err := s.SetChatStatus(ctx, 999, ChatEnded, t0, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown chat: %v", err)
	}
	if st, err := ParseChatStatus("Active"); err != nil || st != ChatActive || !st.Live() || ChatEnded.Live() || ChatMissed.Live() {
		t.Fatalf("parse: %v %v", st, err)
	}
	if _, err := ParseChatStatus("gone"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("parse gone: %v", err)
	}
}

func TestChatsAndLiveChats(t *testing.T) {
	s, ctx := chatFixture(t)
	var ids []int64
	for i := range 5 {
		ids = append(ids, mustChat(t, s, newChat("acme", fmt.Sprint("Visitor ", i), "")).ID)
	}
	g := mustChat(t, s, newChat("globex", "Gus", ""))
	now := time.Now()
	s.SetChatStatus(ctx, ids[0], ChatEnded, now, "visitor")
	s.SetChatStatus(ctx, ids[1], ChatMissed, now, "timeout")
	s.SetChatStatus(ctx, ids[2], ChatActive, now, "")
	s.SetChatStatus(ctx, ids[3], ChatOffered, now, "")
	if err := s.AddChatAgent(ctx, ids[2], "acme", "fiona.b", ChatRoleOwner, now); err != nil {
		t.Fatal(err)
	}

	live, err := s.LiveChats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, c := range live {
		got = append(got, c.ID)
		if !c.Status.Live() {
			t.Errorf("live chat %d is %s", c.ID, c.Status)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint([]int64{ids[2], ids[3], ids[4], g.ID}) {
		t.Fatalf("live chats %v", got)
	}
	if len(live[0].Agents) != 1 || live[0].Agents[0].Username != "fiona.b" {
		t.Fatalf("live chat agents %+v", live[0].Agents)
	}

	all, err := s.Chats(ctx, "acme", "", 0)
	if err != nil || len(all) != 5 || all[0].ID != ids[4] || all[4].ID != ids[0] {
		t.Fatalf("all chats %+v %v", all, err)
	}
	if all[2].ID != ids[2] || len(all[2].Agents) != 1 {
		t.Fatalf("agents not filled in the list: %+v", all[2])
	}
	if some, _ := s.Chats(ctx, "acme", "", 2); len(some) != 2 || some[0].ID != ids[4] {
		t.Fatalf("limited chats %+v", some)
	}
	if ended, err := s.Chats(ctx, "acme", ChatEnded, 10); err != nil || len(ended) != 1 || ended[0].ID != ids[0] || ended[0].EndReason != "visitor" {
		t.Fatalf("ended chats %+v %v", ended, err)
	}
	if _, err := s.Chats(ctx, "acme", "paused", 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := s.Chats(ctx, "nope", "", 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown portal: %v", err)
	}
}

func TestChatEvents(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	other := mustChat(t, s, newChat("acme", "Bob", ""))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	events := []ChatEvent{
		{Type: "message", AuthorKind: AuthorVisitor, AuthorName: "Ann", Text: "hello", Visible: true, At: t0},
		{Type: "offer", AuthorKind: AuthorSystem, Text: "offered to fiona.b", At: t0.Add(time.Second)},
		{Type: "agent_joined", AuthorKind: AuthorAgent, Author: "fiona.b", AuthorName: "Fiona B", Visible: true, At: t0.Add(2 * time.Second)},
		{Type: "message", AuthorKind: AuthorAgent, Author: "fiona.b", AuthorName: "Fiona B", Text: "hi Ann", Visible: true, At: t0.Add(3 * time.Second)},
		{Type: "push_url", AuthorKind: AuthorAgent, Author: "fiona.b", Data: `{"url":"https://acme.example/faq"}`, Visible: true, At: t0.Add(4 * time.Second)},
		{Type: "message", AuthorKind: AuthorAgent, Author: "fiona.b", Text: "anything else?", Visible: true, At: t0.Add(5 * time.Second)},
	}
	for i, e := range events {
		got, err := s.AppendChatEvent(ctx, c.ID, e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != int64(i+1) || !got.At.Equal(e.At) {
			t.Fatalf("event %d: seq %d at %v", i, got.Seq, got.At)
		}
		events[i] = got
	}
	// Another chat numbers its own events from 1; At defaults to now.
	before := time.Now().Add(-time.Second)
	if e, err := s.AppendChatEvent(ctx, other.ID, ChatEvent{Type: "system", AuthorKind: AuthorSystem, Text: "x"}); err != nil || e.Seq != 1 || e.At.Before(before) {
		t.Fatalf("other chat: %+v %v", e, err)
	}

	all, err := s.ChatEvents(ctx, c.ID, 0, false, 0)
	if err != nil || fmt.Sprintf("%+v", all) != fmt.Sprintf("%+v", events) {
		t.Fatalf("transcript\n%+v %v\nwant\n%+v", all, err, events)
	}
	vis, _ := s.ChatEvents(ctx, c.ID, 0, true, 0)
	if seqs(vis) != "1 3 4 5 6" {
		t.Fatalf("visible events %s", seqs(vis))
	}
	if after, _ := s.ChatEvents(ctx, c.ID, 3, true, 0); seqs(after) != "4 5 6" {
		t.Fatalf("visible after 3: %s", seqs(after))
	}
	if after, _ := s.ChatEvents(ctx, c.ID, 1, false, 2); seqs(after) != "2 3" {
		t.Fatalf("2 after 1: %s", seqs(after))
	}
	if none, err := s.ChatEvents(ctx, c.ID, 6, true, 0); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("after the last: %v %v", none, err)
	}

	got, _ := s.Chat(ctx, c.ID)
	if got.LastSeq != 6 || got.FirstReplyAt == nil || !got.FirstReplyAt.Equal(events[3].At) {
		t.Fatalf("last seq %d, first reply %v; want 6, %v", got.LastSeq, got.FirstReplyAt, events[3].At)
	}
	if o, _ := s.Chat(ctx, other.ID); o.FirstReplyAt != nil {
		t.Fatal("a system line counted as the first reply")
	}

	if _, err := s.AppendChatEvent(ctx, 999, ChatEvent{Type: "message", AuthorKind: AuthorVisitor}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown chat: %v", err)
	}
	if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{Type: "message", AuthorKind: "bot"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad author kind: %v", err)
	}
	if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{AuthorKind: AuthorSystem}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no type: %v", err)
	}
	if got, _ := s.Chat(ctx, c.ID); got.LastSeq != 6 {
		t.Fatalf("failed appends moved last seq to %d", got.LastSeq)
	}
}

func seqs(es []ChatEvent) string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprint(e.Seq))
	}
	return strings.Join(out, " ")
}

func TestChatAgents(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	steps := []error{
		s.AddChatAgent(ctx, c.ID, "acme", "Fiona.B", ChatRoleOwner, at(0)),
		s.AddChatAgent(ctx, c.ID, "acme", "george.w", ChatRoleMonitor, at(1)),
		s.AddChatAgent(ctx, c.ID, "acme", "george.w", ChatRoleInvited, at(2)), // already in: new role
		s.RemoveChatAgent(ctx, c.ID, "fiona.b", at(3)),
		s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", ChatRoleInvited, at(4)), // back again: a new stay
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	got, err := s.Chat(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, a := range got.Agents {
		d := fmt.Sprintf("%s/%s/%s/%d", a.Username, a.Name, a.Role, a.JoinedAt.Sub(t0)/time.Second)
		if a.LeftAt != nil {
			d += fmt.Sprintf("-%d", a.LeftAt.Sub(t0)/time.Second)
		}
		desc = append(desc, d)
	}
	want := "fiona.b/Fiona B/owner/0-3 george.w/George W/invited/1 fiona.b/Fiona B/invited/4"
	if strings.Join(desc, " ") != want {
		t.Fatalf("agents %q\nwant %q", strings.Join(desc, " "), want)
	}

	// Joining, leaving and joining again within one millisecond reopens
	// that stay.
	for i, step := range []func() error{
		func() error { return s.RemoveChatAgent(ctx, c.ID, "george.w", at(5)) },
		func() error { return s.AddChatAgent(ctx, c.ID, "acme", "george.w", ChatRoleInvited, at(5)) },
		func() error { return s.RemoveChatAgent(ctx, c.ID, "george.w", at(5)) },
		func() error { return s.AddChatAgent(ctx, c.ID, "acme", "george.w", ChatRoleOwner, at(5)) },
	} {
		if err := step(); err != nil {
			t.Fatalf("same-millisecond step %d: %v", i, err)
		}
	}
	if got, _ := s.Chat(ctx, c.ID); len(got.Agents) != 4 || got.Agents[3].LeftAt != nil || got.Agents[3].Role != ChatRoleOwner ||
		!got.Agents[3].JoinedAt.Equal(at(5)) || !got.Agents[1].LeftAt.Equal(at(5)) {
		t.Fatalf("after rejoining in the same millisecond: %+v", got.Agents)
	}

	if err := s.RemoveChatAgent(ctx, c.ID, "fiona.b", at(7)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveChatAgent(ctx, c.ID, "fiona.b", at(8)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
	if err := s.AddChatAgent(ctx, c.ID, "acme", "nobody.here", ChatRoleOwner, at(9)); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `agent "nobody.here"`) {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := s.AddChatAgent(ctx, 999, "acme", "fiona.b", ChatRoleOwner, at(9)); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "chat 999") {
		t.Fatalf("unknown chat: %v", err)
	}
	if err := s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", "boss", at(9)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}

	// Removing an agent removes their stays; the chat stays.
	if err := s.RemoveAgent(ctx, "acme", "fiona.b", "test"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Chat(ctx, c.ID); err != nil || len(got.Agents) != 2 || got.Agents[0].Username != "george.w" || got.Agents[1].Username != "george.w" {
		t.Fatalf("after removing fiona.b: %+v %v", got.Agents, err)
	}
}

func TestCrossPortalAgentRefused(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	now := time.Now()
	// henry.k is an agent of globex, not of acme.
	if err := s.AddChatAgent(ctx, c.ID, "acme", "henry.k", ChatRoleOwner, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other portal's agent added: %v", err)
	}
	// Naming the agent's portal does not help: the chat is not in it.
	if err := s.AddChatAgent(ctx, c.ID, "globex", "henry.k", ChatRoleOwner, now); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "does not exist in portal \"globex\"") {
		t.Fatalf("chat of another portal: %v", err)
	}
	if _, err := s.AddOffer(ctx, c.ID, "acme", "henry.k", OfferChat, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("offer to other portal's agent: %v", err)
	}
	if _, err := s.AddOffer(ctx, c.ID, "globex", "henry.k", OfferChat, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("offer of another portal's chat: %v", err)
	}
	if err := s.RemoveChatAgent(ctx, c.ID, "henry.k", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove other portal's agent: %v", err)
	}
	got, _ := s.Chat(ctx, c.ID)
	os, _ := s.Offers(ctx, c.ID)
	if len(got.Agents) != 0 || len(os) != 0 {
		t.Fatalf("something was stored: %+v %+v", got.Agents, os)
	}
}

func TestOffers(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	id1, err := s.AddOffer(ctx, c.ID, "acme", "FIONA.B", OfferChat, t0)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.AddOffer(ctx, c.ID, "acme", "george.w", OfferChat, t0)
	if err != nil || id2 == id1 {
		t.Fatal(id2, err)
	}
	if err := s.AnswerOffer(ctx, id2, OfferAccepted, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.AnswerOffer(ctx, id1, OfferWithdrawn, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A late answer changes nothing.
	if err := s.AnswerOffer(ctx, id1, OfferTimeout, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	id3, err := s.AddOffer(ctx, c.ID, "acme", "fiona.b", OfferInvite, t0.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	os, err := s.Offers(ctx, c.ID)
	if err != nil || len(os) != 3 {
		t.Fatalf("offers %+v %v", os, err)
	}
	if o := os[0]; o.ID != id1 || o.Username != "fiona.b" || o.Kind != OfferChat || o.Answer != OfferWithdrawn ||
		!o.OfferedAt.Equal(t0) || !o.AnsweredAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("first offer %+v", o)
	}
	if o := os[1]; o.ID != id2 || o.Username != "george.w" || o.Answer != OfferAccepted {
		t.Fatalf("second offer %+v", o)
	}
	if o := os[2]; o.ID != id3 || o.Kind != OfferInvite || o.Answer != "" || o.AnsweredAt != nil {
		t.Fatalf("third offer %+v", o)
	}
	if err := s.AnswerOffer(ctx, 999, OfferDeclined, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown offer: %v", err)
	}
	if err := s.AnswerOffer(ctx, id3, "maybe", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad answer: %v", err)
	}
	if _, err := s.AddOffer(ctx, c.ID, "acme", "fiona.b", "gift", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
	if _, err := s.AddOffer(ctx, 999, "acme", "fiona.b", OfferChat, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown chat: %v", err)
	}
}

func TestRemovePortalRemovesChats(t *testing.T) {
	s, ctx := chatFixture(t)
	now := time.Now()
	c := mustChat(t, s, newChat("globex", "Gus", "gus@example.com"))
	if err := s.AddChatAgent(ctx, c.ID, "globex", "henry.k", ChatRoleOwner, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOffer(ctx, c.ID, "globex", "henry.k", OfferChat, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{Type: "message", AuthorKind: AuthorVisitor, Text: "hi", Visible: true}); err != nil {
		t.Fatal(err)
	}
	keep := mustChat(t, s, newChat("acme", "Ann", "ann@example.com"))

	if err := s.RemovePortal(ctx, "globex", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Chat(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("chat of removed portal: %v", err)
	}
	for _, table := range []string{"visitors", "portal_counters", "chats", "chat_agents", "chat_events", "chat_offers"} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"visitors": 1, "portal_counters": 1, "chats": 1}[table]
		if n != want {
			t.Errorf("%s: %d rows left, want %d", table, n, want)
		}
	}
	if got, err := s.Chat(ctx, keep.ID); err != nil || got.Portal != "acme" {
		t.Fatalf("other portal's chat: %+v %v", got, err)
	}
}

// TestChatQueriesUseIndexes guards against the chat queries scanning or
// sorting a whole table: these are the queries of LiveChats, Chats,
// VisitorChats, ChatByNumber, ChatByPublicID, ChatEvents, RemoveChatAgent
// and Offers.
func TestChatQueriesUseIndexes(t *testing.T) {
	sqliteOnly(t)
	s, _ := chatFixture(t)
	for _, q := range []string{
		`SELECT ` + chatColumns + chatFrom + ` WHERE c.status IN ('waiting', 'offered', 'active') ORDER BY c.id`,
		`SELECT ` + chatColumns + chatFrom + ` WHERE c.portal_id = 1 AND c.status = 'ended' ORDER BY c.id DESC`,
		`SELECT ` + chatColumns + chatFrom + ` WHERE c.portal_id = 1 ORDER BY c.number DESC`,
		`SELECT ` + chatColumns + chatFrom + ` WHERE c.visitor_id = 1 ORDER BY c.id DESC`,
		`SELECT ` + chatColumns + chatFrom + ` WHERE p.name = 'acme' AND c.number = 1001`,
		`SELECT ` + chatColumns + chatFrom + ` WHERE c.public_id = 'x'`,
		`SELECT * FROM chat_events WHERE chat_id = 1 AND seq > 5 AND visible = 1 ORDER BY seq`,
		`SELECT * FROM chat_agents WHERE chat_id = 1 AND left_at IS NULL AND agent_id IN (SELECT id FROM agents WHERE portal_id = 1)`,
		`SELECT * FROM chat_offers WHERE chat_id = 1 ORDER BY id`,
	} {
		plan := queryPlan(t, s, q)
		p := strings.Join(plan, "; ")
		for _, step := range plan {
			// Sorting a chat's few agents for json_group_array is fine.
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " USING ") || step == "USE TEMP B-TREE FOR ORDER BY" {
				t.Errorf("%s\nplan: %s", q, p)
			}
		}
		if strings.Contains(p, "USING INDEX chats_live") != strings.Contains(q, "'waiting'") {
			t.Errorf("%s\nplan: %s", q, p)
		}
	}
}

// BenchmarkAppendChatEvent measures the cost of storing one chat message,
// with messages going to 50 chats at once.
func BenchmarkAppendChatEvent(b *testing.B) {
	s, err := Open(testAddr(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := fillChatFixture(b, s)
	const chats = 50
	ids := make([]int64, chats)
	for i := range ids {
		c, err := s.CreateChat(ctx, newChat("acme", fmt.Sprint("Visitor ", i), ""))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)%chats]
			e := ChatEvent{Type: "message", AuthorKind: AuthorAgent, Author: "fiona.b", AuthorName: "Fiona B",
				Text: "Your order left our warehouse this morning.", Visible: true}
			if _, err := s.AppendChatEvent(ctx, id, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
