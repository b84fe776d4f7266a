package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// viewFixture is portal acme's chats, built by hand: web chats and
// chats of WhatsApp (wa, wa-eu) and Telegram (tg) customers, in every
// state the views tell apart. The numbers are those CreateChat gives.
type viewFixture struct {
	s        *Store
	ctx      context.Context
	channels map[string]Channel
	customer int // provider ids of customers
}

// The chats of newViewFixture, by number.
const (
	webWaiting    = 1001 // web, waiting, nobody wrote
	webFiona      = 1002 // web, active with fiona (george left), the visitor wrote last
	webBlocked    = 1003 // web, ended: the visitor's address was blocked
	waGeorge      = 1004 // wa, active with george, george wrote last
	waBlockedCust = 1005 // wa, ended by an agent; the customer was blocked afterwards
	tgOffered     = 1006 // tg, offered, the customer wrote last
	tgMissed      = 1007 // tg, missed, the customer wrote last
	waeuEnded     = 1008 // wa-eu, ended by an agent, fiona wrote last
	waBlockedKept = 1009 // wa, a blocked customer wrote again: ended at once, reason blocked
)

func newViewFixture(t *testing.T) *viewFixture {
	t.Helper()
	s, ctx := chatFixture(t)
	f := &viewFixture{s: s, ctx: ctx, channels: map[string]Channel{}}
	for name, typ := range map[string]ChannelType{"wa": ChannelWhatsApp, "wa-eu": ChannelWhatsApp, "tg": ChannelTelegram} {
		c, err := s.AddChannel(ctx, NewChannel{Portal: "acme", Name: name, Type: typ}, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.channels[name] = c
	}
	// Another portal's chats are never listed.
	mustChat(t, s, newChat("globex", "Gus", ""))

	f.web(t, webWaiting, ChatWaiting, "")
	c := f.web(t, webFiona, ChatActive, "")
	f.join(t, c, "george.w")
	f.leave(t, c, "george.w")
	f.join(t, c, "fiona.b")
	f.say(t, c, AuthorAgent, "message")
	f.say(t, c, AuthorVisitor, "visitor_message")
	f.web(t, webBlocked, ChatEnded, EndBlocked)

	c, _ = f.channelChat(t, "wa", waGeorge, ChatActive, "")
	f.join(t, c, "george.w")
	f.say(t, c, AuthorVisitor, "visitor_message")
	f.say(t, c, AuthorAgent, "message")
	f.say(t, c, AuthorSystem, "system") // not a message: george still wrote last
	_, blocked := f.channelChat(t, "wa", waBlockedCust, ChatEnded, EndAgent)
	if err := s.BlockCustomer(ctx, blocked, true, "george.w", "spam"); err != nil {
		t.Fatal(err)
	}
	c, _ = f.channelChat(t, "tg", tgOffered, ChatOffered, "")
	f.say(t, c, AuthorVisitor, "visitor_message")
	c, _ = f.channelChat(t, "tg", tgMissed, ChatMissed, EndMissed)
	f.say(t, c, AuthorVisitor, "visitor_message")
	c, _ = f.channelChat(t, "wa-eu", waeuEnded, ChatEnded, EndAgent)
	f.join(t, c, "fiona.b")
	f.say(t, c, AuthorAgent, "message")
	f.leave(t, c, "fiona.b")
	f.channelChat(t, "wa", waBlockedKept, ChatEnded, EndBlocked)
	return f
}

// web starts web chat number with the status given.
func (f *viewFixture) web(t *testing.T, number int64, st ChatStatus, reason string) Chat {
	t.Helper()
	c := mustChat(t, f.s, newChat("acme", "Visitor", ""))
	return f.settle(t, c, number, st, reason)
}

// channelChat starts a chat with a new customer of channel name, as
// their first message would, and returns it with the customer's id.
func (f *viewFixture) channelChat(t *testing.T, name string, number int64, st ChatStatus, reason string) (Chat, int64) {
	t.Helper()
	f.customer++
	ch := f.channels[name]
	in, _, err := f.s.StoreInbound(f.ctx, ch.ID, InboundMessage{ProviderMessageID: fmt.Sprint("m", f.customer), CustomerID: fmt.Sprint("u", f.customer), Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	n := newChat("acme", "ignored", "")
	n.ChannelID, n.CustomerID, n.InboundID = ch.ID, in.Customer.ID, in.ID
	return f.settle(t, mustChat(t, f.s, n), number, st, reason), in.Customer.ID
}

func (f *viewFixture) settle(t *testing.T, c Chat, number int64, st ChatStatus, reason string) Chat {
	t.Helper()
	if c.Number != number {
		t.Fatalf("chat #%d, want #%d", c.Number, number)
	}
	if st != ChatWaiting {
		if err := f.s.SetChatStatus(f.ctx, c.ID, st, time.Now(), reason); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (f *viewFixture) join(t *testing.T, c Chat, agent string) {
	t.Helper()
	if err := f.s.AddChatAgent(f.ctx, c.ID, "acme", agent, ChatRoleOwner, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func (f *viewFixture) leave(t *testing.T, c Chat, agent string) {
	t.Helper()
	if err := f.s.RemoveChatAgent(f.ctx, c.ID, agent, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func (f *viewFixture) say(t *testing.T, c Chat, kind, typ string) {
	t.Helper()
	if _, err := f.s.AppendChatEvent(f.ctx, c.ID, ChatEvent{Type: typ, AuthorKind: kind, Text: "…", Visible: true}); err != nil {
		t.Fatal(err)
	}
}

// numbers lists a view's chats by number.
func (f *viewFixture) numbers(t *testing.T, q ChatQuery) []int64 {
	t.Helper()
	q.Portal = "acme"
	l, err := f.s.ChatsInView(f.ctx, q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	out := []int64{}
	for _, c := range l.Chats {
		out = append(out, c.Number)
	}
	if l.Total != len(out) || l.More() != 0 {
		t.Errorf("%+v: total %d for %d chats", q, l.Total, len(out))
	}
	return out
}

// Every view and filter, alone and together, on hand-built chats; newest
// first.
func TestChatViews(t *testing.T) {
	f := newViewFixture(t)
	for _, tc := range []struct {
		q    ChatQuery
		want []int64
	}{
		{ChatQuery{}, []int64{waBlockedKept, waeuEnded, tgMissed, tgOffered, waBlockedCust, waGeorge, webBlocked, webFiona, webWaiting}},
		{ChatQuery{View: ViewAll}, []int64{waBlockedKept, waeuEnded, tgMissed, tgOffered, waBlockedCust, waGeorge, webBlocked, webFiona, webWaiting}},
		// mine: the chats the agent is in now, not those they left.
		{ChatQuery{View: ViewMine, Agent: "fiona.b"}, []int64{webFiona}},
		{ChatQuery{View: ViewMine, Agent: "George.W"}, []int64{waGeorge}},
		{ChatQuery{View: ViewUnassigned}, []int64{tgOffered, webWaiting}},
		{ChatQuery{View: ViewActive}, []int64{waGeorge, webFiona}},
		{ChatQuery{View: ViewLive}, []int64{tgOffered, waGeorge, webFiona, webWaiting}},
		{ChatQuery{View: ViewEnded}, []int64{waBlockedKept, waeuEnded, tgMissed, waBlockedCust, webBlocked}},
		// blocked: a blocked customer's chats, and chats that ended with a block.
		{ChatQuery{View: ViewBlocked}, []int64{waBlockedKept, waBlockedCust, webBlocked}},
		// replied: an agent wrote last; unreplied: the visitor or customer did.
		{ChatQuery{Reply: Replied}, []int64{waeuEnded, waGeorge}},
		{ChatQuery{Reply: Unreplied}, []int64{tgMissed, tgOffered, webFiona}},
		{ChatQuery{View: ViewLive, Reply: Unreplied}, []int64{tgOffered, webFiona}},
		{ChatQuery{View: ViewEnded, Reply: Replied}, []int64{waeuEnded}},
		{ChatQuery{View: ViewMine, Agent: "fiona.b", Reply: Replied}, []int64{}},
		// channels: by name (any case), by type, web.
		{ChatQuery{Channel: "wa"}, []int64{waBlockedKept, waBlockedCust, waGeorge}},
		{ChatQuery{Channel: "WA-EU"}, []int64{waeuEnded}},
		{ChatQuery{Channel: "whatsapp"}, []int64{waBlockedKept, waeuEnded, waBlockedCust, waGeorge}},
		{ChatQuery{Channel: "Telegram"}, []int64{tgMissed, tgOffered}},
		{ChatQuery{Channel: "line"}, []int64{}},
		{ChatQuery{Channel: "web"}, []int64{webBlocked, webFiona, webWaiting}},
		{ChatQuery{View: ViewMine, Agent: "george.w", Channel: "whatsapp"}, []int64{waGeorge}},
		{ChatQuery{View: ViewMine, Agent: "george.w", Channel: "web"}, []int64{}},
		{ChatQuery{View: ViewEnded, Reply: Unreplied, Channel: "tg"}, []int64{tgMissed}},
		{ChatQuery{View: ViewBlocked, Channel: "web"}, []int64{webBlocked}},
		{ChatQuery{View: ViewUnassigned, Reply: Unreplied, Channel: "whatsapp"}, []int64{}},
		// The CLI's status filter narrows a view too.
		{ChatQuery{View: ViewEnded, Status: ChatMissed}, []int64{tgMissed}},
	} {
		if got := f.numbers(t, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.q, got, tc.want)
		}
	}
}

// A listing is bounded and says how many it left out.
func TestChatViewLimit(t *testing.T) {
	f := newViewFixture(t)
	l, err := f.s.ChatsInView(f.ctx, ChatQuery{Portal: "acme", View: ViewEnded, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Chats) != 2 || l.Chats[0].Number != waBlockedKept || l.Total != 5 || l.More() != 3 {
		t.Errorf("%d chats (first #%d), total %d, more %d", len(l.Chats), l.Chats[0].Number, l.Total, l.More())
	}
	// A listed chat carries its channel and who wrote last.
	l, _ = f.s.ChatsInView(f.ctx, ChatQuery{Portal: "acme", Channel: "tg", Limit: 1})
	if c := l.Chats[0]; c.Channel != "tg" || c.ChannelType != ChannelTelegram || c.LastMessageFrom != AuthorVisitor {
		t.Errorf("listed %+v", c)
	}
}

// Bad queries are refused with what is wrong.
func TestChatViewRefusals(t *testing.T) {
	f := newViewFixture(t)
	for _, tc := range []struct {
		q    ChatQuery
		kind error
		msg  string
	}{
		{ChatQuery{Portal: "nope"}, ErrNotFound, `portal "nope" does not exist`},
		{ChatQuery{Portal: "acme", View: "frob"}, ErrInvalid, `chat view "frob" is not one of mine, unassigned, active, live, ended, blocked, all`},
		{ChatQuery{Portal: "acme", View: ViewMine}, ErrInvalid, "the view mine needs an agent"},
		{ChatQuery{Portal: "acme", View: ViewMine, Agent: "henry.k"}, ErrNotFound, `agent "henry.k" does not exist in portal "acme"`},
		{ChatQuery{Portal: "acme", Reply: "maybe"}, ErrInvalid, `reply state "maybe" is not replied or unreplied`},
		{ChatQuery{Portal: "acme", Status: "gone"}, ErrInvalid, `chat status "gone"`},
		{ChatQuery{Portal: "acme", Limit: ChatViewMax + 1}, ErrInvalid, "at most 1000 chats"},
		{ChatQuery{Portal: "acme", Channel: "signal"}, ErrNotFound,
			`"signal" is no channel of portal "acme": name one of its channels (tg, wa, wa-eu), a channel type (telegram, whatsapp, line, messenger, instagram) or web`},
		{ChatQuery{Portal: "globex", Channel: "wa"}, ErrNotFound, `its channels (none)`},
	} {
		_, err := f.s.ChatsInView(f.ctx, tc.q)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v, want %v with %q", tc.q, err, tc.kind, tc.msg)
		}
	}
	if v, err := ParseChatView("Ended"); err != nil || v != ViewEnded {
		t.Errorf("ParseChatView: %q %v", v, err)
	}
	if r, err := ParseReplyState("UNREPLIED"); err != nil || r != Unreplied {
		t.Errorf("ParseReplyState: %q %v", r, err)
	}
}

// Who wrote last follows the messages, whoever wrote them; other events
// leave it.
func TestLastMessageFrom(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	for _, step := range []struct {
		typ, kind, want string
	}{
		{"agent_joined", AuthorSystem, ""},
		{"visitor_message", AuthorVisitor, AuthorVisitor},
		{"message", AuthorAgent, AuthorAgent},
		{"system", AuthorSystem, AuthorAgent},
		{"message", AuthorVisitor, AuthorVisitor}, // a channel customer's, as bridge/im may store it
	} {
		if _, err := s.AppendChatEvent(ctx, c.ID, ChatEvent{Type: step.typ, AuthorKind: step.kind, Visible: true}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Chat(ctx, c.ID); got.LastMessageFrom != step.want {
			t.Errorf("after %s by %s: %q, want %q", step.typ, step.kind, got.LastMessageFrom, step.want)
		}
	}
}

// The migration that brought last_message_from fills it in for the chats
// there were.
func TestLastMessageFromBackfill(t *testing.T) {
	sqliteOnly(t)
	f := newViewFixture(t)
	before := map[int64]string{}
	for _, c := range mustList(t, f) {
		before[c.Number] = c.LastMessageFrom
	}
	b, err := migrationFiles.ReadFile("migrations/sqlite/0013_chat_views.sql")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "UPDATE chats SET last_message_from")
	end := strings.Index(text[start:], ";")
	if start < 0 || end < 0 {
		t.Fatal("no backfill in the migration")
	}
	if _, err := f.s.w.Exec(`UPDATE chats SET last_message_from = ''`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.w.Exec(text[start : start+end]); err != nil {
		t.Fatal(err)
	}
	for _, c := range mustList(t, f) {
		if c.LastMessageFrom != before[c.Number] {
			t.Errorf("#%d: backfilled %q, kept %q", c.Number, c.LastMessageFrom, before[c.Number])
		}
	}
	if before[webFiona] != AuthorVisitor || before[waGeorge] != AuthorAgent || before[webWaiting] != "" {
		t.Errorf("kept %v", before)
	}
}

func mustList(t *testing.T, f *viewFixture) []Chat {
	t.Helper()
	l, err := f.s.ChatsInView(f.ctx, ChatQuery{Portal: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	return l.Chats
}
