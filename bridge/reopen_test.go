package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

// An ended WhatsApp chat comes back to the agent who reopens it: roster,
// details and last messages, active and owned; it ends again as any chat.
func TestReopenChannelChat(t *testing.T) {
	d, anna := newAnnasDesk(t)
	c := d.customerChat(d.channel("wa", store.ChannelWhatsApp), "4915100000001", d.clock.Now().Add(-time.Hour), store.ChatEnded, reasonAgent)
	for i := 1; i <= 12; i++ {
		switch {
		case i == 1:
			c.event(EventVisitorMessage, store.AuthorVisitor, "", "the very first line")
		case i%2 == 1:
			c.event(EventVisitorMessage, store.AuthorVisitor, "", fmt.Sprint("customer line ", i))
		default:
			c.event(EventMessage, store.AuthorAgent, "Boris", fmt.Sprint("agent line ", i))
		}
	}
	before := c.stored().LastSeq

	reply := d.desk(anna, "#reopen 1001")
	if want := "You reopened chat #1001 with Ann (wa (WhatsApp)); it is in your roster under Visitors."; reply != want {
		t.Fatalf("reply %q, want %q", reply, want)
	}
	c.wantStatus(store.ChatActive, "")
	c.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner})
	if !d.inRoster("anna.b", c.local) || d.e.Load("acme", "anna.b") != 1 {
		t.Errorf("roster %v, load %d", d.inRoster("anna.b", c.local), d.e.Load("acme", "anna.b"))
	}
	d.mustHear("anna.b", "You are chatting with Ann (#1001)")
	d.mustHear("anna.b", "The last 10 of 12 messages (#h shows them all):")
	d.mustHear("anna.b", "(Boris, ")
	d.mustHear("anna.b", "customer line 11")
	if d.heard("anna.b", "the very first line") != 0 || d.heard("anna.b", "only takes templates") != 0 {
		t.Errorf("anna was sent too much:\n%s", d.messages("anna.b"))
	}
	evs, err := d.st.ChatEvents(d.ctx, c.stored().ID, before, false, 0)
	if err != nil || len(evs) != 1 || evs[0].Type != EventReopened || evs[0].Visible {
		t.Fatalf("events after reopening: %+v %v", evs, err)
	}
	if line, _ := eventLine(c.stored(), evs[0]); line != "Reopened by anna.b" {
		t.Errorf("transcript line %q", line)
	}
	if v := d.e.Live(d.ctx, "acme"); len(v.Chats) != 1 || v.Chats[0].Status != store.ChatActive || v.Chats[0].LastMessageAt.IsZero() {
		t.Errorf("the live view of the reopened chat: %+v", v.Chats)
	}

	// A customer is never connected: no grace period ends the chat.
	d.advance(2 * d.e.cfg.VisitorGrace)
	c.wantStatus(store.ChatActive, "")
	c.says(anna, "#e")
	c.wantStatus(store.ChatEnded, reasonAgent)
	if d.inRoster("anna.b", c.local) || d.e.Load("acme", "anna.b") != 0 {
		t.Error("the chat stayed with anna after it ended again")
	}
	if sc := c.stored(); sc.EndedAt == nil || !sc.EndedAt.After(sc.CreatedAt) {
		t.Errorf("the second end is not recorded: %+v", sc.EndedAt)
	}
}

// A reopened chat goes on after a restart without a visitor's grace
// period.
func TestReopenedChatSurvivesARestart(t *testing.T) {
	d, anna := newAnnasDesk(t)
	c := d.customerChat(d.channel("tg", store.ChannelTelegram), "77", d.clock.Now().Add(-30*24*time.Hour), store.ChatMissed, reasonMissed)
	if reply := d.desk(anna, "#reopen #1001"); !strings.HasPrefix(reply, "You reopened chat #1001") || strings.Contains(reply, "\n") {
		t.Fatalf("reply %q", reply)
	}
	d.e.Stop()
	e := New(Config{Domain: "example.test"}, d.st, nil)
	e.clock = d.clock
	e.Attach(d.agents)
	if err := e.Start(d.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	d.e = e
	d.advance(2 * e.cfg.VisitorGrace)
	c.wantStatus(store.ChatActive, "")
	if !d.inRoster("anna.b", c.local) {
		t.Error("the restored chat is not in anna's roster")
	}
}

// Outside WhatsApp's 24 hours the chat is reopened, and the agent is told
// that only templates reach the customer; Messenger refuses.
func TestReopenOutsideTheReplyWindow(t *testing.T) {
	d, anna := newAnnasDesk(t)
	long := d.clock.Now().Add(-25 * time.Hour)
	wa := d.customerChat(d.channel("wa", store.ChannelWhatsApp), "491", long, store.ChatEnded, reasonAgent)
	fb := d.customerChat(d.channel("fb", store.ChannelMessenger), "fb-1", long.Add(-48*time.Hour), store.ChatEnded, reasonVisitor)
	ig := d.customerChat(d.channel("ig", store.ChannelInstagram), "ig-1", d.clock.Now().Add(-23*time.Hour), store.ChatEnded, reasonAgent)

	reply := d.desk(anna, fmt.Sprint("#reopen ", wa.VisitorNumber))
	note := "Ann last wrote 25 hours ago: WhatsApp only takes templates until they write again; send one with #tpl NAME ARG…."
	if !strings.HasPrefix(reply, "You reopened chat #1001") || !strings.HasSuffix(reply, "\n"+note) {
		t.Errorf("WhatsApp: %q", reply)
	}
	wa.wantStatus(store.ChatActive, "")
	d.mustHear("anna.b", note)

	reply = d.desk(anna, fmt.Sprint("#reopen ", fb.VisitorNumber))
	if want := "Chat #1002 cannot be reopened: Messenger only lets us write within 24 hours of the customer's last message, and Ann last wrote 3 days ago."; reply != want {
		t.Errorf("Messenger: %q, want %q", reply, want)
	}
	fb.wantStatus(store.ChatEnded, reasonVisitor)

	// Within the window, Instagram is like any channel.
	if reply := d.desk(anna, fmt.Sprint("#reopen ", ig.VisitorNumber)); !strings.HasPrefix(reply, "You reopened chat #1003") || strings.Contains(reply, "template") {
		t.Errorf("Instagram: %q", reply)
	}
}

// Every refusal says why, and changes nothing.
func TestReopenRefusals(t *testing.T) {
	d, anna := newAnnasDesk(t)
	wa := d.channel("wa", store.ChannelWhatsApp)
	recent := d.clock.Now().Add(-time.Minute)

	web := d.chat(NewChat{}, false) // #1001
	web.says(anna, "y")
	web.says(anna, "#e")
	live := d.customerChat(wa, "1", recent, store.ChatActive, "") // #1002
	blocked := d.customerChat(wa, "2", recent, store.ChatEnded, reasonBlocked)
	if err := d.st.BlockCustomer(d.ctx, blocked.stored().CustomerID, true, "boris.c", "spam"); err != nil {
		t.Fatal(err)
	}
	blocking := d.customerChat(wa, "3", recent, store.ChatEnded, reasonAgent)
	if _, err := d.st.SetCustomerState(d.ctx, wa.ID, "3", store.CustomerBlocked); err != nil {
		t.Fatal(err)
	}
	again := d.customerChat(wa, "4", recent, store.ChatEnded, reasonAgent)
	d.customerChat(wa, "4", d.clock.Now(), store.ChatWaiting, "") // #1006: the customer wrote again
	off := d.customerChat(d.channel("tg", store.ChannelTelegram), "5", recent, store.ChatEnded, reasonAgent)
	disabled := true
	if _, err := d.st.UpdateChannel(d.ctx, "acme", "tg", store.ChannelUpdate{Disabled: &disabled}, "test"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		chat testChat
		want string
	}{
		{web, "Chat #1001 cannot be reopened: Ann was a web visitor, who has left the page."},
		{live, "Chat #1002 is not over."},
		{blocked, "Chat #1003 cannot be reopened: Ann is blocked (by boris.c: spam)."},
		{blocking, "Chat #1004 cannot be reopened: Ann blocked this WhatsApp account, so nothing reaches them."},
		{again, "Chat #1005 cannot be reopened: Ann is in chat #1006, which goes on; answer there."},
		{off, "Chat #1007 cannot be reopened: channel tg is disabled."},
	} {
		before := tc.chat.stored()
		if got := d.desk(anna, fmt.Sprint("#reopen ", tc.chat.VisitorNumber)); got != tc.want {
			t.Errorf("#reopen %d: %q, want %q", tc.chat.VisitorNumber, got, tc.want)
		}
		if after := tc.chat.stored(); after.Status != before.Status || after.LastSeq != before.LastSeq || len(after.Agents) != len(before.Agents) {
			t.Errorf("#%d changed: %+v", tc.chat.VisitorNumber, after)
		}
	}
	if got := d.desk(anna, "#reopen 9999"); got != "There is no chat #9999." {
		t.Errorf("no chat: %q", got)
	}
	if got := d.desk(anna, "#reopen"); !strings.Contains(got, "usage: #reopen N") {
		t.Errorf("no number: %q", got)
	}
	if d.e.Load("acme", "anna.b") != 0 {
		t.Errorf("anna is in %d chats", d.e.Load("acme", "anna.b"))
	}
}

// A reopened chat is where the customer's next message goes, and the
// agent's answers are queued for them; the views follow it.
func TestReopenedChatCarriesOn(t *testing.T) {
	ct := newChannelTest(t, store.ChannelWhatsApp)
	tc := ct.accepted("4915112345678")
	tc.says(ct.fiona, "It ships today")
	tc.says(ct.fiona, "#e")
	if got := ct.desk(ct.fiona, "#chats ended replied shop"); !strings.HasPrefix(got, "Chats (ended, replied, shop):\n#1001 Ana — ended — fiona.b — shop (WhatsApp)") {
		t.Fatalf("#chats ended replied shop: %q", got)
	}

	if got := ct.desk(ct.fiona, "#reopen 1001"); !strings.HasPrefix(got, "You reopened chat #1001 with Ana (shop (WhatsApp))") {
		t.Fatalf("#reopen: %q", got)
	}
	ct.customerSays("4915112345678", "Where exactly?")
	ct.mustHear("fiona.b", "Where exactly?")
	if sc, ok, _ := ct.st.LiveChatOfCustomer(ct.ctx, 1); !ok || sc.Number != 1001 {
		t.Fatalf("the customer's live chat: %+v", sc)
	}
	if got := ct.desk(ct.fiona, "#chats mine unreplied whatsapp"); !strings.HasPrefix(got, "Chats (mine, unreplied, whatsapp):\n#1001 Ana — active — fiona.b — shop (WhatsApp)") {
		t.Errorf("#chats mine unreplied whatsapp: %q", got)
	}
	wakes := ct.chans.wakes
	tc.says(ct.fiona, "Hamburg")
	tc.mustSee("message:Hamburg")
	if ct.chans.wakes != wakes+1 {
		t.Errorf("the sender was not woken for the answer; fiona heard:\n%s", ct.messages("fiona.b"))
	}
}

// A blocked customer's later messages are in the blocked view, and their
// chats are not reopened.
func TestBlockedCustomersChatsAreInTheBlockedView(t *testing.T) {
	ct := newChannelTest(t, store.ChannelTelegram)
	tc := ct.accepted("777")
	tc.says(ct.fiona, "#b spam")
	ct.customerSays("777", "let me in")
	if got := ct.desk(ct.fiona, "#chats blocked telegram"); got != "Chats (blocked, telegram):\n#1001 Ana — ended — fiona.b — shop (Telegram) — Where is order 4711?" {
		t.Errorf("#chats blocked telegram: %q", got)
	}
	if got := ct.desk(ct.fiona, "#reopen 1001"); got != "Chat #1001 cannot be reopened: Ana is blocked (by fiona.b: spam)." {
		t.Errorf("#reopen: %q", got)
	}
}
