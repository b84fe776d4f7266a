package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestChannels(t *testing.T) {
	s, ctx := chatFixture(t)
	secrets := map[string]string{"bot_token": "123:secret-token", "secret": "hook-secret"}
	c, err := s.AddChannel(ctx, NewChannel{Portal: "acme", Name: "tg-sales", Type: "telegram", Department: "sales", Secrets: secrets}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PublicID) != 24 || c.Department != "Sales" || c.Status != ChannelOK {
		t.Errorf("added %+v", c)
	}
	for _, bad := range []NewChannel{
		{Portal: "acme", Name: "TG-SALES", Type: "telegram"},              // taken, any case
		{Portal: "acme", Name: "has space", Type: "telegram"},             // not a word
		{Portal: "acme", Name: "Ended", Type: "telegram"},                 // a view of #chats
		{Portal: "acme", Name: "unreplied", Type: "telegram"},             // a reply filter of #chats
		{Portal: "acme", Name: "web", Type: "telegram"},                   // the web chats of #chats
		{Portal: "acme", Name: "wa", Type: "signal"},                      // no such type
		{Portal: "acme", Name: "wa", Type: "whatsapp", Department: "Ops"}, // no such department
		{Portal: "acme", Name: "wa", Type: "whatsapp", APIBase: "ftp://x"},
		{Portal: "nope", Name: "wa", Type: "whatsapp"},
	} {
		if _, err := s.AddChannel(ctx, bad, "test"); err == nil {
			t.Errorf("AddChannel(%+v) accepted", bad)
		}
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "secret") {
		t.Errorf("secrets in JSON: %s", b)
	}
	got, err := s.ChannelByPublicID(ctx, c.PublicID)
	if err != nil || got.Secrets["bot_token"] != "123:secret-token" || got.Name != "tg-sales" {
		t.Fatalf("by public id: %+v %v", got, err)
	}
	if _, err := s.ChannelByPublicID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown public id: %v", err)
	}

	none, off, base := "", true, "http://127.0.0.1:9"
	u, err := s.UpdateChannel(ctx, "acme", "TG-Sales", ChannelUpdate{Department: &none, APIBase: &base, Disabled: &off,
		Secrets: map[string]string{"secret": "", "bot_token": "456:new"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if u.Department != "" || u.APIBase != base || !u.Disabled || len(u.Secrets) != 1 || u.Secrets["bot_token"] != "456:new" {
		t.Errorf("updated %+v", u)
	}
	if list, err := s.Channels(ctx, "acme"); err != nil || len(list) != 1 || list[0].Secrets["bot_token"] != "456:new" {
		t.Errorf("list %+v %v", list, err)
	}
	if list, _ := s.Channels(ctx, "globex"); len(list) != 0 {
		t.Errorf("globex sees %+v", list)
	}

	until := time.Now().Add(time.Minute)
	if changed, err := s.SetChannelStatus(ctx, c.ID, ChannelRateLimited, "429", &until); err != nil || !changed {
		t.Fatalf("set status: %v %v", changed, err)
	}
	if changed, _ := s.SetChannelStatus(ctx, c.ID, ChannelRateLimited, "429", &until); changed {
		t.Error("the same status again counts as a change")
	}
	if got, _ := s.ChannelByID(ctx, c.ID); got.Status != ChannelRateLimited || got.StatusUntil == nil {
		t.Errorf("status %+v", got)
	}
	if err := s.RemoveChannel(ctx, "acme", "tg-sales", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Channel(ctx, "acme", "tg-sales"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed channel: %v", err)
	}
}

// channelFixture is a WhatsApp channel of portal acme.
func channelFixture(t *testing.T) (*Store, Channel) {
	t.Helper()
	s, ctx := chatFixture(t)
	c, err := s.AddChannel(ctx, NewChannel{Portal: "acme", Name: "wa", Type: ChannelWhatsApp, Department: "Sales"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// A customer's message is kept once, reaches one chat once (even when it
// is delivered again after a crash), and later messages find the live
// chat.
func TestInboundReachesAChatOnce(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	m := InboundMessage{ProviderMessageID: "wamid.1", CustomerID: "4915112345678", Name: "Ann", Phone: "+49 151 12345678", Text: "Hello\x00?"}
	in, dup, err := s.StoreInbound(ctx, ch.ID, m)
	if err != nil || dup {
		t.Fatalf("store: %v %v", dup, err)
	}
	if _, dup, _ := s.StoreInbound(ctx, ch.ID, m); !dup {
		t.Error("a provider retry was stored twice")
	}
	if in.Customer.Name != "Ann" || in.Customer.LastInboundAt == nil || in.Customer.VisitorID == 0 {
		t.Errorf("customer %+v", in.Customer)
	}
	pending, err := s.PendingInbound(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Message.Text != m.Text || pending[0].Customer.ID != in.Customer.ID {
		t.Fatalf("pending %+v %v", pending, err)
	}
	if got, err := s.InboundByID(ctx, in.ID); err != nil || got.Message.Text != pending[0].Message.Text || got.Customer.ID != in.Customer.ID || got.ChannelID != ch.ID {
		t.Fatalf("by id %+v %v", got, err)
	}
	if _, err := s.InboundByID(ctx, in.ID+100); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	n := newChat("acme", "ignored", "")
	n.Question, n.ChannelID, n.CustomerID, n.InboundID = m.Text, ch.ID, in.Customer.ID, in.ID
	chat, err := s.CreateChat(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if chat.VisitorName != "Ann" || chat.Channel != "wa" || chat.ChannelType != ChannelWhatsApp || chat.CustomerProviderID != "4915112345678" {
		t.Errorf("chat %+v", chat)
	}
	if again, err := s.Chat(ctx, chat.ID); err != nil || again.Channel != "wa" || again.CustomerID != in.Customer.ID {
		t.Errorf("read back %+v %v", again, err)
	}
	n.PublicID += "x"
	if _, err := s.CreateChat(ctx, n); !errors.Is(err, ErrDelivered) {
		t.Errorf("a second chat for the same message: %v", err)
	}
	if pending, _ := s.PendingInbound(ctx, 10); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}

	// The next message goes to the live chat, once.
	in2, _, err := s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "wamid.2", CustomerID: "4915112345678", Text: "Still there?"})
	if err != nil {
		t.Fatal(err)
	}
	live, ok, err := s.LiveChatOfCustomer(ctx, in2.Customer.ID)
	if err != nil || !ok || live.ID != chat.ID {
		t.Fatalf("live chat %+v %v %v", live, ok, err)
	}
	ev := ChatEvent{Type: "message", AuthorKind: AuthorVisitor, Text: "Still there?", Visible: true, InboundID: in2.ID}
	if _, err := s.AppendChatEvent(ctx, chat.ID, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendChatEvent(ctx, chat.ID, ev); !errors.Is(err, ErrDelivered) {
		t.Errorf("the same message appended twice: %v", err)
	}
	if evs, _ := s.ChatEvents(ctx, chat.ID, 0, false, 0); len(evs) != 1 {
		t.Errorf("%d events, want 1", len(evs))
	}
	if in2.Customer.Name != "Ann" {
		t.Errorf("a message without a name renamed the customer: %q", in2.Customer.Name)
	}
}

func TestCustomerStateBlockAndReplyToken(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	at := time.Now().Add(-10 * time.Second).UTC().Truncate(time.Millisecond)
	in, _, err := s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "m1", CustomerID: "U1", Text: "hi", ReplyToken: "rt-1", At: at})
	if err != nil {
		t.Fatal(err)
	}
	if in.Customer.Name != "Customer U1" {
		t.Errorf("a customer without a name is %q", in.Customer.Name)
	}
	if tok, err := s.TakeReplyToken(ctx, in.Customer.ID, at.Add(time.Second)); err != nil || tok != "" {
		t.Errorf("an old token was given: %q %v", tok, err)
	}
	if tok, err := s.TakeReplyToken(ctx, in.Customer.ID, at.Add(-time.Second)); err != nil || tok != "rt-1" {
		t.Errorf("token %q %v", tok, err)
	}
	if tok, _ := s.TakeReplyToken(ctx, in.Customer.ID, at.Add(-time.Second)); tok != "" {
		t.Errorf("a reply token was given twice")
	}
	if changed, err := s.SetCustomerState(ctx, ch.ID, "U1", CustomerBlocked); err != nil || !changed {
		t.Errorf("set state: %v %v", changed, err)
	}
	if err := s.BlockCustomer(ctx, in.Customer.ID, true, "fiona.b", "spam"); err != nil {
		t.Fatal(err)
	}
	c, err := s.Customer(ctx, in.Customer.ID)
	if err != nil || c.State != CustomerBlocked || !c.Blocked || c.BlockedBy != "fiona.b" || c.BlockedReason != "spam" {
		t.Errorf("customer %+v %v", c, err)
	}
	// Writing again means they no longer block the account.
	s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "m2", CustomerID: "U1", Text: "back"})
	if c, _ := s.Customer(ctx, in.Customer.ID); c.State != CustomerOK || !c.Blocked {
		t.Errorf("after writing: %+v", c)
	}
}

func TestOutboundQueue(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	now := time.Now()
	s.now = func() time.Time { return now }
	var customers []int64
	for _, id := range []string{"A", "B"} {
		in, _, err := s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "m" + id, CustomerID: id, Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		customers = append(customers, in.Customer.ID)
	}
	enqueue := func(customer int64, text string) Outbound {
		t.Helper()
		o, err := s.EnqueueOutbound(ctx, Outbound{ChannelID: ch.ID, CustomerID: customer, Payload: OutboundPayload{Text: text}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	a1, a2, b1 := enqueue(customers[0], "a1"), enqueue(customers[0], "a2"), enqueue(customers[1], "b1")
	if len(a1.SendKey) != 36 || a1.SendKey == a2.SendKey || a1.SendKey[14] != '4' {
		t.Errorf("send keys %q %q", a1.SendKey, a2.SendKey)
	}
	for _, bad := range []OutboundPayload{{}, {Text: " "}, {File: &OutboundFile{}}, {Template: &OutboundTemplate{Name: "x"}},
		{Text: "x", Template: &OutboundTemplate{Name: "x", Language: "en"}}} {
		if _, err := s.EnqueueOutbound(ctx, Outbound{ChannelID: ch.ID, CustomerID: customers[0], Payload: bad}); err == nil {
			t.Errorf("queued %+v", bad)
		}
	}
	if o, err := s.Outbound(ctx, a1.ID); err != nil || o.Payload.Text != "a1" || o.Kind != OutboundKindText {
		t.Errorf("read back %+v %v", o, err)
	}
	due := func() []int64 {
		t.Helper()
		os, err := s.DueOutbound(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, o := range os {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if got := due(); len(got) != 2 || got[0] != a1.ID || got[1] != b1.ID {
		t.Fatalf("due %v, want a1 and b1 (a2 waits for a1)", got)
	}
	// a1 fails for a while: a2 waits behind it, b1 goes on.
	if err := s.OutboundRetry(ctx, a1.ID, now.Add(time.Minute), "429"); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 1 || got[0] != b1.ID {
		t.Fatalf("due %v, want b1 only", got)
	}
	if next, ok, err := s.NextOutboundAt(ctx); err != nil || !ok || !next.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("next %v %v %v", next, ok, err)
	}
	s.OutboundSent(ctx, b1.ID, "wamid.out.1")
	now = now.Add(time.Minute)
	if got := due(); len(got) != 1 || got[0] != a1.ID {
		t.Fatalf("due %v, want a1 again", got)
	}
	if err := s.OutboundSent(ctx, a1.ID, "wamid.out.2"); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboundSent(ctx, a1.ID, "again"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a sent message was sent again: %v", err)
	}
	if got := due(); len(got) != 1 || got[0] != a2.ID {
		t.Fatalf("due %v, want a2", got)
	}
	s.OutboundFailed(ctx, a2.ID, "customer_blocked")
	if got := due(); len(got) != 0 {
		t.Errorf("due %v after all are done", got)
	}
	o, err := s.Outbound(ctx, a1.ID)
	if err != nil || o.State != OutboundSent || o.Attempts != 2 || o.ProviderMessageID != "wamid.out.2" || o.DoneAt == nil {
		t.Errorf("a1 %+v %v", o, err)
	}
	if _, ok, _ := s.NextOutboundAt(ctx); ok {
		t.Error("something is still pending")
	}
}

func TestTemplates(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	tpl := Template{Name: "order_update", Language: "en_US", Body: "Hi {{1}}, your order {{2}} has shipped."}
	if _, err := s.AddTemplate(ctx, "acme", "wa", tpl, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTemplate(ctx, "acme", "wa", tpl, "test"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	for _, bad := range []Template{{Name: "Order Update", Language: "en", Body: "x"}, {Name: "x", Body: "x"}, {Name: "x", Language: "en"},
		{Name: "x", Language: "en", Body: "x", Status: "maybe"}} {
		if _, err := s.AddTemplate(ctx, "acme", "wa", bad, "test"); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	list, err := s.Templates(ctx, ch.ID)
	if err != nil || len(list) != 1 || list[0].Status != TemplateApproved || list[0].Channel != "wa" {
		t.Fatalf("templates %+v %v", list, err)
	}
	if n := list[0].Placeholders(); n != 2 {
		t.Errorf("placeholders %d", n)
	}
	if got := list[0].Fill([]string{"Ann", "#42"}); got != "Hi Ann, your order #42 has shipped." {
		t.Errorf("filled %q", got)
	}
	if got := list[0].Fill([]string{"{{2}}", "$1"}); got != "Hi {{2}}, your order $1 has shipped." {
		t.Errorf("filled with placeholder-like arguments: %q", got)
	}
	if n := (Template{Body: "{{x}} {{3}} {{03}}"}).Placeholders(); n != 3 {
		t.Errorf("placeholders of odd body %d", n)
	}
	if err := s.RemoveTemplate(ctx, "acme", "wa", "order_update", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveTemplate(ctx, "acme", "wa", "order_update", "", "test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed twice: %v", err)
	}
}

// An agent's message to a customer is queued with its chat event, in one
// transaction; a message being sent is in flight until its outcome, and
// one left in flight by a crash is listed.
func TestOutboundWithTheChatEvent(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	in, _, err := s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "m1", CustomerID: "C", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	n := newChat("acme", "x", "")
	n.ChannelID, n.CustomerID, n.InboundID = ch.ID, in.Customer.ID, in.ID
	chat, err := s.CreateChat(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	bad := &Outbound{ChannelID: ch.ID, CustomerID: in.Customer.ID}
	if _, err := s.AppendChatEvent(ctx, chat.ID, ChatEvent{Type: "message", AuthorKind: AuthorAgent, Text: "x", Outbound: bad}); err == nil {
		t.Fatal("a bad payload was queued")
	}
	if evs, _ := s.ChatEvents(ctx, chat.ID, 0, false, 0); len(evs) != 0 {
		t.Fatalf("the event of a refused message was kept: %+v", evs)
	}
	ev, err := s.AppendChatEvent(ctx, chat.ID, ChatEvent{Type: "message", AuthorKind: AuthorAgent, Author: "fiona.b", Text: "Hello",
		Outbound: &Outbound{ChannelID: ch.ID, CustomerID: in.Customer.ID, Payload: OutboundPayload{Text: "Hello"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Outbound == nil || ev.Outbound.ID == 0 || ev.Outbound.ChatID != chat.ID || ev.Outbound.SendKey == "" {
		t.Fatalf("queued %+v", ev.Outbound)
	}
	id := ev.Outbound.ID
	if err := s.OutboundInFlight(ctx, id, InFlightOnce); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbound(ctx, time.Now().Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("a message in flight is due again: %+v", due)
	}
	if fl, err := s.InFlightOutbound(ctx); err != nil || len(fl) != 1 || fl[0].ID != id || fl[0].InFlight != InFlightOnce {
		t.Fatalf("in flight %+v %v", fl, err)
	}
	if err := s.OutboundSent(ctx, id, "wamid.X"); err != nil {
		t.Fatal(err)
	}
	if fl, _ := s.InFlightOutbound(ctx); len(fl) != 0 {
		t.Errorf("still in flight after sending: %+v", fl)
	}
	if o, err := s.OutboundByProviderID(ctx, ch.ID, "wamid.X"); err != nil || o.ID != id || o.ChatID != chat.ID {
		t.Errorf("by provider id: %+v %v", o, err)
	}
	if err := s.SetCustomerName(ctx, in.Customer.ID, "Carla\nC"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Chat(ctx, chat.ID); got.VisitorName != "Carla C" {
		t.Errorf("visitor name %q", got.VisitorName)
	}
}

func TestReplyWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	for _, tc := range []struct {
		typ  ChannelType
		last *time.Time
		open bool
	}{
		{ChannelWhatsApp, at(23 * time.Hour), true},
		{ChannelWhatsApp, at(24 * time.Hour), false},
		{ChannelMessenger, nil, false},
		{ChannelInstagram, at(time.Minute), true},
		{ChannelTelegram, at(30 * 24 * time.Hour), true},
		{ChannelLINE, nil, true},
	} {
		c := ChannelCustomer{LastInboundAt: tc.last}
		if got := c.WindowOpen(tc.typ, now); got != tc.open {
			t.Errorf("%s, last %v: open %v, want %v", tc.typ, tc.last, got, tc.open)
		}
	}
}
