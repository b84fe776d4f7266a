package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"jabberdesk/address"
	"jabberdesk/commands"
	"jabberdesk/store"
)

// #chats lists a view with each chat's channel: today's forms keep their
// meaning, and views, reply states and channels combine.
func TestChatsViews(t *testing.T) {
	d, anna := newAnnasDesk(t)
	wa := d.channel("wa-sales", store.ChannelWhatsApp)
	recent := d.clock.Now().Add(-time.Minute)

	web := d.chat(NewChat{Question: "Web question"}, false) // #1001
	web.says(anna, "y")
	web.visitorSays("hello?")
	ended := d.customerChat(wa, "1", recent, store.ChatEnded, reasonAgent) // #1002
	ended.event(EventMessage, store.AuthorAgent, "anna.b", "bye")
	waiting := d.customerChat(wa, "2", recent, store.ChatWaiting, "") // #1003
	waiting.event(EventVisitorMessage, store.AuthorVisitor, "", "anyone?")

	for _, tc := range []struct{ body, want string }{
		{"#chats", "Chats (mine):\n#1001 Ann — active — anna.b — web — Web question"},
		{"#chats unreplied", "Chats (live, unreplied):\n" +
			"#1003 Ann — waiting — unassigned — wa-sales (WhatsApp) — Where is my parcel?\n" +
			"#1001 Ann — active — anna.b — web — Web question"},
		{"#chats replied", "No chats in view live, replied."},
		{"#chats all", "Chats (all):\n" +
			"#1003 Ann — waiting — unassigned — wa-sales (WhatsApp) — Where is my parcel?\n" +
			"#1002 Ann — ended — nobody — wa-sales (WhatsApp) — Where is my parcel?\n" +
			"#1001 Ann — active — anna.b — web — Web question"},
		{"#chats mine whatsapp", "No chats in view mine, whatsapp."},
		{"#chats ended replied WA-Sales", "Chats (ended, replied, WA-Sales):\n#1002 Ann — ended — nobody — wa-sales (WhatsApp) — Where is my parcel?"},
		{"#chats unassigned web", "No chats in view unassigned, web."},
		{"#chats all signal", `#chats: "signal" is no channel of portal "acme": name one of its channels (wa-sales), ` +
			`a channel type (telegram, whatsapp, line, messenger, instagram) or web. The views are mine, unassigned, active, live, ended, blocked, all.`},
		{"#chats mine all", "#chats: one view at a time, and first: #chats all — usage: #chats [mine|unassigned|active|live|ended|blocked|all] [replied|unreplied] [CHANNEL]"},
	} {
		if got := d.desk(anna, tc.body); got != tc.want {
			t.Errorf("%s:\n%s\n--- want ---\n%s", tc.body, got, tc.want)
		}
	}
}

// A long view shows the newest chats and says how many more there are.
func TestChatsIsBounded(t *testing.T) {
	d, anna := newAnnasDesk(t)
	tg := d.channel("tg", store.ChannelTelegram)
	for i := range chatsShown + 5 {
		d.customerChat(tg, fmt.Sprint(i), d.clock.Now(), store.ChatMissed, reasonMissed)
	}
	got := d.desk(anna, "#chats ended telegram")
	lines := strings.Split(got, "\n")
	if len(lines) != chatsShown+2 || !strings.HasPrefix(lines[1], "#1025 ") ||
		lines[len(lines)-1] != "…and 5 more; narrow the view with replied, unreplied or a channel." {
		t.Errorf("%d lines:\n%s", len(lines), got)
	}
}

// Every view of the store is a view of #chats, by the same name.
func TestChatsViewWords(t *testing.T) {
	for _, v := range store.ChatViews() {
		c, err := commands.Parse("#chats "+v, commands.AtDesk)
		if err != nil || c.Text != v {
			t.Errorf("#chats %s: %+v %v", v, c, err)
		}
	}
}

// newAnnasDesk is a deskTest with agent anna.b online.
func newAnnasDesk(t *testing.T) (*deskTest, AgentInfo) {
	t.Helper()
	d := newDeskTest(t)
	return d, d.agent(store.NewAgent{Username: "anna.b"}, true)
}

// channel adds a channel of portal acme.
func (d *deskTest) channel(name string, typ store.ChannelType) store.Channel {
	d.t.Helper()
	ch, err := d.st.AddChannel(d.ctx, store.NewChannel{Portal: "acme", Name: name, Type: typ}, "test")
	if err != nil {
		d.t.Fatal(err)
	}
	return ch
}

// customerChat stores the chat a channel customer's message started,
// the message written at (the engine's clock), and leaves it in status
// st (ended with reason when it is over). A live one runs in the engine.
func (d *deskTest) customerChat(ch store.Channel, customer string, at time.Time, st store.ChatStatus, reason endReason) testChat {
	d.t.Helper()
	in, _, err := d.st.StoreInbound(d.ctx, ch.ID, store.InboundMessage{ProviderMessageID: fmt.Sprint(customer, at.UnixNano()),
		CustomerID: customer, Name: "Ann", Text: "Where is my parcel?", At: at})
	if err != nil {
		d.t.Fatal(err)
	}
	sc, err := d.st.CreateChat(d.ctx, store.NewChat{Portal: "acme", PublicID: newPublicID(), TokenHash: hashToken(newSecret(24)),
		Name: "ignored", Question: in.Message.Text, ChannelID: ch.ID, CustomerID: in.Customer.ID, InboundID: in.ID})
	if err != nil {
		d.t.Fatal(err)
	}
	if st != store.ChatWaiting {
		if err := d.st.SetChatStatus(d.ctx, sc.ID, st, at, string(reason)); err != nil {
			d.t.Fatal(err)
		}
	}
	if st.Live() {
		d.e.adopt(sc)
	}
	return testChat{d: d, Started: Started{ChatID: sc.PublicID, VisitorNumber: sc.Number, Status: string(st)}, local: address.VisitorName(sc.Number)}
}

// event appends a message to a stored chat.
func (tc testChat) event(typ, kind, author, text string) {
	tc.d.t.Helper()
	if _, err := tc.d.st.AppendChatEvent(tc.d.ctx, tc.stored().ID, store.ChatEvent{Type: typ, AuthorKind: kind, AuthorName: author, Text: text, Visible: true}); err != nil {
		tc.d.t.Fatal(err)
	}
}

// desk is what an agent's command to the desk contact is answered.
func (d *deskTest) desk(a AgentInfo, body string) string {
	d.t.Helper()
	reply := d.e.DeskSays(d.ctx, "acme", a, body)
	d.settle()
	return reply
}
