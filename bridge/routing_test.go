package bridge

import (
	"testing"

	"jabberdesk/store"
)

// With broadcast routing a new chat is offered to every agent online,
// and the first y takes it from the others.
func TestBroadcastOffersEveryOnlineAgent(t *testing.T) {
	d := newDeskTest(t)
	anna := d.agent(store.NewAgent{Username: "anna.b"}, true)
	d.agent(store.NewAgent{Username: "boris.c"}, true)
	d.agent(store.NewAgent{Username: "carl.d"}, false)
	c := d.chat(NewChat{}, false)
	if c.Status != string(store.ChatOffered) {
		t.Fatalf("status %s, want offered", c.Status)
	}
	for agent, want := range map[string]int{"anna.b": 1, "boris.c": 1, "carl.d": 0} {
		if got := d.heard(agent, "Reply y to accept"); got != want {
			t.Errorf("%s was offered the chat %d times, want %d", agent, got, want)
		}
	}

	c.says(anna, "y")
	c.wantStatus(store.ChatActive, "")
	d.mustHear("anna.b", "You are chatting with Ann")
	d.mustHear("boris.c", "anna.b took the chat")
	if d.inRoster("boris.c", c.local) || !d.inRoster("anna.b", c.local) {
		t.Error("the contact should have gone from boris's roster only")
	}
	if n := d.e.Load("acme", "anna.b"); n != 1 {
		t.Errorf("anna is in %d chats", n)
	}
	c.mustSee("agent_joined:anna.b")
}

// With round robin the chat is offered to one agent at a time; one who
// does not answer within the offer timeout loses it to the next, and one
// who declines passes it on at once.
func TestRoundRobinOfferTimeout(t *testing.T) {
	d := newDeskTest(t)
	d.department("Sales", store.DeskMapped, store.RoutingRoundRobin)
	anna := d.agent(store.NewAgent{Username: "anna.b", Departments: []string{"Sales"}}, true)
	boris := d.agent(store.NewAgent{Username: "boris.c", Departments: []string{"Sales"}}, true)
	d.agent(store.NewAgent{Username: "carl.d"}, true) // not in Sales
	c := d.chat(NewChat{Department: "Sales"}, false)
	offered := func() (a, b, c int) {
		return d.heard("anna.b", "Reply y to accept"), d.heard("boris.c", "Reply y to accept"), d.heard("carl.d", "Reply y to accept")
	}
	a, b, cc := offered()
	if a+b != 1 || cc != 0 {
		t.Fatalf("offers after the start: anna %d, boris %d, carl %d; want one, to anna or boris", a, b, cc)
	}
	first, second := anna, boris
	if b == 1 {
		first, second = boris, anna
	}

	d.advance(d.e.cfg.OfferTimeout - 1)
	if a2, b2, _ := offered(); a2+b2 != 1 {
		t.Fatal("the offer moved on before its timeout")
	}
	d.advance(1)
	d.mustHear(first.Key, "You did not answer in time; the chat was offered to someone else.")
	if d.heard(second.Key, "Reply y to accept") != 1 {
		t.Fatalf("%s was not offered the chat after %s's timeout", second.Key, first.Key)
	}
	if d.inRoster(first.Key, c.local) {
		t.Errorf("the contact stayed in %s's roster", first.Key)
	}
	c.wantStatus(store.ChatOffered, "")

	// A decline moves on at once, to a new round.
	c.says(second, "n")
	d.mustHear(second.Key, "You declined the chat")
	if d.heard(first.Key, "Reply y to accept") != 2 {
		t.Errorf("%s was not offered the chat again after %s declined", first.Key, second.Key)
	}
	c.says(first, "y")
	c.wantStatus(store.ChatActive, "")
}

// An agent at max_chats is not offered more chats; the chat waits, and is
// offered once one of theirs ends.
func TestMaxChatsHoldsOffersBack(t *testing.T) {
	d := newDeskTest(t)
	anna := d.agent(store.NewAgent{Username: "anna.b", MaxChats: 1}, true)
	first := d.chat(NewChat{Name: "Ann"}, false)
	first.says(anna, "y")

	second := d.chat(NewChat{Name: "Bob"}, false)
	if second.Status != string(store.ChatWaiting) {
		t.Fatalf("the second chat is %s, want waiting", second.Status)
	}
	if n := d.heard("anna.b", "Bob (#"); n != 0 {
		t.Fatalf("anna was offered a chat beyond her max_chats")
	}

	first.says(anna, "#e")
	first.wantStatus(store.ChatEnded, reasonAgent)
	if d.heard("anna.b", "Bob (#") == 0 {
		t.Fatalf("the waiting chat was not offered to anna once she was free; she got:\n%s", d.messages("anna.b"))
	}
	second.wantStatus(store.ChatOffered, "")
}

// A new chat with nobody online is missed at once; the visitor is told.
func TestNobodyOnlineMissesAtOnce(t *testing.T) {
	d := newDeskTest(t)
	d.agent(store.NewAgent{Username: "anna.b"}, false)
	c := d.chat(NewChat{}, false)
	if c.Status != string(store.ChatMissed) {
		t.Fatalf("status %s, want missed", c.Status)
	}
	c.wantStatus(store.ChatMissed, reasonMissed)
	saw := c.visitorSaw()
	if len(saw) != 2 || saw[0] != "system:"+d.e.cfg.MissedText || saw[1] != "ended:missed" {
		t.Errorf("the visitor saw %q", saw)
	}
}

// A chat nobody accepts within the queue timeout is missed, and the
// agents it was offered to are told so.
func TestQueueTimeoutMissesTheChat(t *testing.T) {
	d := newDeskTest(t)
	d.agent(store.NewAgent{Username: "anna.b"}, true)
	c := d.chat(NewChat{}, false)
	d.advance(d.e.cfg.QueueTimeout - storeSkew)
	c.wantStatus(store.ChatOffered, "")
	d.advance(2 * storeSkew)
	c.wantStatus(store.ChatMissed, reasonMissed)
	d.mustHear("anna.b", "Nobody accepted the chat with Ann")
	if d.inRoster("anna.b", c.local) {
		t.Error("the missed chat stayed in anna's roster")
	}
	if d.e.chatByNumber("acme", c.Started.VisitorNumber) != nil {
		t.Error("the missed chat is still live")
	}
}

// With the portal's convert setting "missed", a missed chat becomes a
// ticket, or is flagged when its visitor left no email.
func TestMissedChatBecomesTicket(t *testing.T) {
	d := newDeskTest(t)
	if err := d.st.SetPortalSetting(d.ctx, "acme", store.SettingConvert, store.ConvertMissed, "test"); err != nil {
		t.Fatal(err)
	}
	d.agent(store.NewAgent{Username: "anna.b"}, true)

	withEmail := d.chat(NewChat{Email: "ann@example.com"}, false)
	d.advance(d.e.cfg.QueueTimeout + storeSkew)
	withEmail.wantStatus(store.ChatMissed, reasonMissed)
	tk, err := d.st.TicketForChat(d.ctx, withEmail.stored().ID)
	if err != nil {
		t.Fatalf("no ticket for the missed chat: %v", err)
	}
	if !tk.Missed || tk.ContactEmail != "ann@example.com" {
		t.Errorf("ticket %+v", tk)
	}

	d.setOnline("anna.b", false)
	noEmail := d.chat(NewChat{Name: "Bob"}, false)
	noEmail.wantStatus(store.ChatMissed, reasonMissed)
	flagged, err := d.st.FlaggedChats(d.ctx, "acme")
	if err != nil || len(flagged) != 1 || flagged[0].Number != noEmail.VisitorNumber {
		t.Errorf("flagged %+v %v, want chat #%d", flagged, err, noEmail.VisitorNumber)
	}
}
