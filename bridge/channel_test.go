package bridge

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/address"
	"jabberdesk/store"
)

// fakeChannels records what the engine asks of the IM channels.
type fakeChannels struct {
	mu     sync.Mutex
	wakes  int
	typing []int64 // customer ids
}

func (f *fakeChannels) Wake() { f.mu.Lock(); f.wakes++; f.mu.Unlock() }
func (f *fakeChannels) Typing(_, customerID int64) {
	f.mu.Lock()
	f.typing = append(f.typing, customerID)
	f.mu.Unlock()
}

// channelTest is a deskTest with one channel of a type, routed to
// Support, and an online agent.
type channelTest struct {
	*deskTest
	ch    store.Channel
	chans *fakeChannels
	fiona AgentInfo
	n     int
}

func newChannelTest(t *testing.T, typ store.ChannelType) *channelTest {
	d := newDeskTest(t)
	d.department("Support", "", "")
	fiona := d.agent(store.NewAgent{Username: "fiona.b", Departments: []string{"Support"}}, true)
	ch, err := d.st.AddChannel(d.ctx, store.NewChannel{Portal: "acme", Name: "shop", Type: typ, Department: "Support",
		Secrets: map[string]string{"bot_token": "1:x", "secret_token": "s", "access_token": "a", "app_secret": "b",
			"verify_token": "v", "channel_secret": "c", "phone_number_id": "1"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	chans := &fakeChannels{}
	d.e.AttachChannels(chans)
	return &channelTest{deskTest: d, ch: ch, chans: chans, fiona: fiona}
}

// inbound stores a customer's message as a webhook would.
func (ct *channelTest) inbound(user, text string) store.Inbound {
	ct.t.Helper()
	ct.n++
	in, _, err := ct.st.StoreInbound(ct.ctx, ct.ch.ID, store.InboundMessage{ProviderMessageID: user + "-" + string(rune('a'+ct.n)),
		CustomerID: user, Name: "Ana", Text: text, At: ct.clock.Now()})
	if err != nil {
		ct.t.Fatal(err)
	}
	return in
}

// customerSays stores and delivers a customer's message.
func (ct *channelTest) customerSays(user, text string) store.Inbound {
	ct.t.Helper()
	in := ct.inbound(user, text)
	if err := ct.e.CustomerMessage(ct.ctx, in); err != nil {
		ct.t.Fatal(err)
	}
	ct.settle()
	return in
}

// accepted is the customer's chat once fiona accepted it.
func (ct *channelTest) accepted(user string) testChat {
	ct.t.Helper()
	ct.customerSays(user, "Where is order 4711?")
	ct.mustHear("fiona.b", "Where is order 4711?")
	sc, ok, err := ct.st.LiveChatOfCustomer(ct.ctx, 1)
	if err != nil || !ok {
		ct.t.Fatalf("no live chat: %v", err)
	}
	tc := testChat{d: ct.deskTest, Started: Started{VisitorNumber: sc.Number}, local: address.VisitorName(sc.Number)}
	tc.says(ct.fiona, "y")
	ct.mustHear("fiona.b", "Channel: shop")
	return tc
}

// queued lists every message queued so far, oldest first (nothing sends
// them here).
func (ct *channelTest) queued() []store.Outbound {
	ct.t.Helper()
	var out []store.Outbound
	for id := int64(1); ; id++ {
		o, err := ct.st.Outbound(ct.ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return out
		}
		if err != nil {
			ct.t.Fatal(err)
		}
		out = append(out, o)
	}
}

// outbound lists the queued messages' texts.
func (ct *channelTest) outbound() []string {
	ct.t.Helper()
	var out []string
	for _, o := range ct.queued() {
		out = append(out, o.Payload.Text)
	}
	return out
}

func TestCustomerMessageReachesOneChatOnce(t *testing.T) {
	ct := newChannelTest(t, store.ChannelTelegram)
	first := ct.customerSays("777", "Where is order 4711?")
	if err := ct.e.CustomerMessage(ct.ctx, first); !errors.Is(err, store.ErrDelivered) {
		t.Fatalf("a repeat: %v, want ErrDelivered", err)
	}
	ct.customerSays("777", "It is urgent")
	tc := testChat{d: ct.deskTest, Started: Started{VisitorNumber: 1001}, local: "v-1001"}
	tc.says(ct.fiona, "y")
	ct.mustHear("fiona.b", "It is urgent") // replayed on accept
	ct.customerSays("777", "Thanks")
	ct.mustHear("fiona.b", "Thanks")
	tc.mustSee("visitor_message:It is urgent", "visitor_message:Thanks")
	if sc := tc.stored(); sc.Question != "Where is order 4711?" || sc.Channel != "shop" {
		t.Fatalf("chat %+v", sc)
	}
	if c := ct.e.chatByNumber("acme", 1001); c == nil || c.contact().Status != "Where is order 4711? — shop" {
		t.Fatalf("roster card %+v", c.contact())
	}

	// The agent's words are queued with the chat event, and the worker woken.
	tc.says(ct.fiona, "It ships today")
	if got := ct.outbound(); len(got) != 1 || got[0] != "It ships today" || ct.chans.wakes != 1 {
		t.Fatalf("queued %q, %d wakes", got, ct.chans.wakes)
	}
	// Typing goes to the provider; it never reaches a widget.
	if err := ct.e.AgentSays("acme", ct.fiona, tc.local, "", "composing"); err != nil {
		t.Fatal(err)
	}
	ct.settle()
	if len(ct.chans.typing) != 1 {
		t.Fatalf("typing sent %d times", len(ct.chans.typing))
	}
	ct.e.TellChat(tc.stored().ID, "Not delivered: test line")
	ct.settle()
	ct.mustHear("fiona.b", "Not delivered: test line")

	// The chat ended, the next message starts another.
	tc.says(ct.fiona, "#e")
	ct.customerSays("777", "One more thing")
	if sc, ok, _ := ct.st.LiveChatOfCustomer(ct.ctx, 1); !ok || sc.Number != 1002 || sc.Question != "One more thing" {
		t.Fatalf("the next chat: %+v", sc)
	}
}

func TestReplyWindowRefusesFreeText(t *testing.T) {
	ct := newChannelTest(t, store.ChannelWhatsApp)
	tc := ct.accepted("4915112345678")
	tc.says(ct.fiona, "within the window")
	ct.advance(25 * time.Hour)
	tc.says(ct.fiona, "too late")
	ct.mustHear("fiona.b", "Not sent: the customer last wrote more than 24 hours ago, and WhatsApp then only takes templates")
	if got := ct.outbound(); strings.Join(got, "|") != "within the window" {
		t.Fatalf("queued %q", got)
	}
	// The customer writes again: the window opens again.
	ct.customerSays("4915112345678", "Hello?")
	wakes := ct.chans.wakes
	tc.says(ct.fiona, "Hello again")
	if ct.heard("fiona.b", "Not sent") != 1 || ct.chans.wakes != wakes+1 {
		t.Fatalf("after the customer wrote again: %d refusals, %d wakes", ct.heard("fiona.b", "Not sent"), ct.chans.wakes-wakes)
	}
}

func TestBlockedCustomerIsKeptNotOffered(t *testing.T) {
	ct := newChannelTest(t, store.ChannelLINE)
	tc := ct.accepted("U4af4980629c8d6ab4a3e1a2b2f1e0cd1")
	tc.says(ct.fiona, "#b spam")
	ct.mustHear("fiona.b", "LINE customer U4af4980629c8d6ab4a3e1a2b2f1e0cd1 blocked")
	tc.wantStatus(store.ChatEnded, reasonBlocked)
	before := ct.heard("fiona.b", "asks")
	ct.customerSays("U4af4980629c8d6ab4a3e1a2b2f1e0cd1", "let me in")
	if ct.heard("fiona.b", "asks") != before {
		t.Fatal("a blocked customer's message was offered")
	}
	sc, ok, err := ct.st.BlockedChatOfCustomer(ct.ctx, 1)
	if err != nil || !ok || sc.Number != tc.VisitorNumber {
		t.Fatalf("blocked chat %+v, %v, %v", sc, ok, err)
	}
	tc.mustSee("visitor_message:let me in")
}

// Outside the 24-hour window of WhatsApp, Messenger and Instagram an
// agent's words are refused with one line that says what can be done,
// and neither queued nor kept in the transcript; Telegram and LINE have
// no window.
func TestReplyWindowByProvider(t *testing.T) {
	forEachType(t, map[store.ChannelType]string{
		store.ChannelWhatsApp:  "Not sent: the customer last wrote more than 24 hours ago, and WhatsApp then only takes templates: #tpl lists them.",
		store.ChannelMessenger: "Not sent: the customer last wrote more than 24 hours ago, and Messenger only lets us answer within 24 hours of their last message.",
		store.ChannelInstagram: "Not sent: the customer last wrote more than 24 hours ago, and Instagram only lets us answer within 24 hours of their last message.",
		store.ChannelTelegram:  "",
		store.ChannelLINE:      "",
	}, func(t *testing.T, ct *channelTest, tc testChat, want string) {
		ct.advance(25 * time.Hour)
		tc.says(ct.fiona, "It ships today")
		queued := ct.outbound()
		if want == "" {
			if strings.Join(queued, "|") != "It ships today" {
				t.Errorf("queued %q", queued)
			}
			tc.mustSee("message:It ships today")
			return
		}
		if ct.heard("fiona.b", want) != 1 || ct.heard("fiona.b", "Not sent") != 1 {
			t.Errorf("fiona.b was not told %q once; got:\n%s", want, ct.messages("fiona.b"))
		}
		if len(queued) != 0 || slices.Contains(tc.visitorSaw(), "message:It ships today") {
			t.Errorf("refused, yet queued %q or in the transcript %q", queued, tc.visitorSaw())
		}
	})
}

// forEachType runs f in a subtest for each channel type in wants, with
// the chat of a customer of that type that fiona.b accepted, and the
// type's want.
func forEachType(t *testing.T, wants map[store.ChannelType]string, f func(t *testing.T, ct *channelTest, tc testChat, want string)) {
	for typ, want := range wants {
		t.Run(string(typ), func(t *testing.T) {
			ct := newChannelTest(t, typ)
			f(t, ct, ct.accepted("4915112345678"), want)
		})
	}
}

// A customer who blocked the account is sent nothing, templates
// included, until they follow it again.
func TestCustomerWhoBlockedUsIsSentNothing(t *testing.T) {
	ct := newChannelTest(t, store.ChannelWhatsApp)
	addTemplate(t, ct, store.Template{Name: "order_update", Language: "en_US", Body: "Hi {{1}}!"})
	tc := ct.accepted("4915112345678")
	if _, err := ct.st.SetCustomerState(ct.ctx, ct.ch.ID, "4915112345678", store.CustomerBlocked); err != nil {
		t.Fatal(err)
	}
	const line = "Not sent: the customer blocked this WhatsApp account; nothing reaches them until they follow it again."
	tc.says(ct.fiona, "Hello?")
	tc.says(ct.fiona, "#tpl order_update Ana")
	if n := ct.heard("fiona.b", line); n != 2 {
		t.Errorf("told %d times %q; got:\n%s", n, line, ct.messages("fiona.b"))
	}
	if q := ct.queued(); len(q) != 0 {
		t.Errorf("queued %+v", q)
	}
}
