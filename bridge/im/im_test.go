package im

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// fakeDesk stands for the chat engine: it shows customer messages in
// chats in the store the way the engine does (a new chat, or an event in
// the live one, marked delivered in the same transaction) and records the
// lines it is asked to tell.
type fakeDesk struct {
	st *store.Store
	mu sync.Mutex
	n  int
	// shown are the texts shown, in order; lines the lines told by chat.
	shown []string
	lines map[int64][]string
	// refuse holds an error to answer once for a text instead of showing
	// it (an agent not keeping up, say).
	refuse map[string]error
}

func (d *fakeDesk) CustomerMessage(ctx context.Context, in store.Inbound) error {
	d.mu.Lock()
	err, refused := d.refuse[in.Message.Text]
	delete(d.refuse, in.Message.Text)
	d.mu.Unlock()
	if refused {
		return err
	}
	chat, live, err := d.st.LiveChatOfCustomer(ctx, in.Customer.ID)
	if err != nil {
		return err
	}
	if live {
		_, err = d.st.AppendChatEvent(ctx, chat.ID, store.ChatEvent{Type: "message", AuthorKind: store.AuthorVisitor,
			Text: in.Message.Text, Visible: true, InboundID: in.ID})
	} else {
		d.mu.Lock()
		d.n++
		id := []byte{byte(d.n), byte(in.ID)}
		d.mu.Unlock()
		h := sha256.Sum256(id)
		_, err = d.st.CreateChat(ctx, store.NewChat{Portal: "acme", PublicID: string(rune('a'+in.ID)) + "x" + in.Message.ProviderMessageID,
			TokenHash: h[:], Name: "x", Question: in.Message.Text, ChannelID: in.ChannelID, CustomerID: in.Customer.ID, InboundID: in.ID})
	}
	if err == nil {
		d.mu.Lock()
		d.shown = append(d.shown, in.Message.Text)
		d.mu.Unlock()
	}
	return err
}

func (d *fakeDesk) TellChat(chatID int64, line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lines[chatID] = append(d.lines[chatID], line)
}

func (d *fakeDesk) shownTexts() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.shown...)
}

func (d *fakeDesk) told(chatID int64) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines[chatID]...)
}

type fixture struct {
	st   *store.Store
	fake *channelstest.Fake
	ch   store.Channel
	desk *fakeDesk
	svc  *Service
	hook string // the webhook URL
}

// newFixture makes a Service for one channel of type typ against the
// provider's fake, running it if run is set (else f.run starts it).
func newFixture(t *testing.T, typ channels.Type, run bool, tweaks ...func(*Config)) *fixture {
	t.Helper()
	return newFixtureWith(t, typ, run, func(_ *fixture, cfg *Config) {
		for _, tweak := range tweaks {
			tweak(cfg)
		}
	})
}

// newFixtureWith is newFixture with a change to the Service's
// configuration before it is made (the fake desk is the default Desk).
func newFixtureWith(t *testing.T, typ channels.Type, run bool, tweak func(*fixture, *Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	fake := channelstest.New(t, typ)
	sec := fake.Secrets
	secrets := map[string]string{"bot_token": sec.BotToken, "secret_token": sec.SecretToken, "access_token": sec.AccessToken,
		"app_secret": sec.AppSecret, "verify_token": sec.VerifyToken, "channel_secret": sec.ChannelSecret, "phone_number_id": fake.PhoneNumberID}
	for k, v := range secrets {
		if v == "" {
			delete(secrets, k)
		}
	}
	ch, err := st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: string(typ), Type: store.ChannelType(typ), APIBase: fake.URL, Secrets: secrets}, "test")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, fake: fake, ch: ch, desk: &fakeDesk{st: st, lines: map[int64][]string{}, refuse: map[string]error{}}}
	cfg := Config{Store: st, Desk: f.desk, Logger: slog.New(slog.DiscardHandler),
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }, MaxAttempts: 5, InboundRetry: 10 * time.Millisecond}
	if tweak != nil {
		tweak(f, &cfg)
	}
	f.svc = New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/hooks/{id}", f.svc)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.hook = srv.URL + "/hooks/" + ch.PublicID
	if run {
		f.run(t)
	}
	return f
}

// run starts the Service until the test ends.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// post delivers a webhook body with header and returns the status.
func (f *fixture) post(t *testing.T, body []byte, header http.Header) int {
	t.Helper()
	return f.fake.Post(t, f.hook, body, header)
}

// A webhook is verified before anything is stored; a good one is stored
// once however often the provider delivers it, and reaches a chat once.
func TestWebhookStoresOnceAfterVerifying(t *testing.T) {
	for _, typ := range []channels.Type{channels.Telegram, channels.WhatsApp, channels.LINE, channels.Messenger, channels.Instagram} {
		t.Run(string(typ), func(t *testing.T) {
			f := newFixture(t, typ, true)
			body := f.fake.TextMessage("4915112345678", "Ann", "Where is my parcel?")
			forged := http.Header{}
			for k, v := range f.fake.Sign(body) {
				forged[k] = []string{strings.Repeat("0", len(v[0]))}
			}
			if code := f.post(t, body, forged); code != http.StatusUnauthorized {
				t.Errorf("forged signature: %d", code)
			}
			if code := f.post(t, body, nil); code != http.StatusUnauthorized {
				t.Errorf("no signature: %d", code)
			}
			if pending, _ := f.st.PendingInbound(context.Background(), 10); len(pending) != 0 {
				t.Fatalf("a refused webhook stored %+v", pending)
			}
			for range 3 { // the provider retries
				if code := f.post(t, body, f.fake.Sign(body)); code != http.StatusOK {
					t.Fatalf("signed webhook: %d", code)
				}
			}
			testwait.For(t, "the message in a chat", func() bool { return len(f.desk.shownTexts()) == 1 })
			time.Sleep(20 * time.Millisecond) // a second delivery would come now
			if got := f.desk.shownTexts(); len(got) != 1 || got[0] != "Where is my parcel?" {
				t.Errorf("shown %q", got)
			}
		})
	}
}

func TestMetaHandshakeAndDisabledChannel(t *testing.T) {
	f := newFixture(t, channels.WhatsApp, true)
	q := f.fake.HandshakeQuery("challenge-123")
	res, err := http.Get(f.hook + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || b.String() != "challenge-123" {
		t.Errorf("handshake: %d %q", res.StatusCode, b.String())
	}
	q.Set("hub.verify_token", "wrong")
	if res, _ := http.Get(f.hook + "?" + q.Encode()); res.StatusCode != http.StatusForbidden {
		t.Errorf("wrong verify token: %d", res.StatusCode)
	}
	if res, _ := http.Get(f.hook[:strings.LastIndex(f.hook, "/")+1] + "nope?" + q.Encode()); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown webhook: %d", res.StatusCode)
	}
	off := true
	if _, err := f.st.UpdateChannel(context.Background(), "acme", f.ch.Name, store.ChannelUpdate{Disabled: &off}, "test"); err != nil {
		t.Fatal(err)
	}
	body := f.fake.TextMessage("491", "Ann", "hi")
	if code := f.post(t, body, f.fake.Sign(body)); code != http.StatusServiceUnavailable {
		t.Errorf("disabled channel: %d", code)
	}
}

// chatWith stores a customer message and returns the customer and chat
// it started.
func (f *fixture) chatWith(t *testing.T, user string) (store.ChannelCustomer, store.Chat) {
	t.Helper()
	body := f.fake.TextMessage(user, "Ann", "Hello from "+user)
	if code := f.post(t, body, f.fake.Sign(body)); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	var chat store.Chat
	testwait.For(t, "the chat", func() bool {
		cs, _ := f.st.Chats(context.Background(), "acme", "", 10)
		for _, c := range cs {
			if c.CustomerProviderID == user {
				chat = c
				return true
			}
		}
		return false
	})
	cust, err := f.st.Customer(context.Background(), chat.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	return cust, chat
}

// liveChat shows a customer message in a new chat the way the engine
// would, without the Service, and returns the customer and the chat.
func (f *fixture) liveChat(t *testing.T, user, messageID string) (store.ChannelCustomer, store.Chat) {
	t.Helper()
	ctx := context.Background()
	in, _, err := f.st.StoreInbound(ctx, f.ch.ID, store.InboundMessage{ProviderMessageID: messageID, CustomerID: user, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.desk.CustomerMessage(ctx, in); err != nil {
		t.Fatal(err)
	}
	chat, _, err := f.st.LiveChatOfCustomer(ctx, in.Customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	return in.Customer, chat
}

// queue is an agent writing text in the chat.
func (f *fixture) queue(t *testing.T, cust store.ChannelCustomer, chat store.Chat, text string) store.Outbound {
	t.Helper()
	ev, err := f.st.AppendChatEvent(context.Background(), chat.ID, store.ChatEvent{Type: "message", AuthorKind: store.AuthorAgent, Author: "fiona.b",
		Text: text, Visible: true, Outbound: &store.Outbound{ChannelID: f.ch.ID, CustomerID: cust.ID, Payload: store.OutboundPayload{Text: text}}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Wake()
	return *ev.Outbound
}

func (f *fixture) waitState(t *testing.T, id int64, want store.OutboundState) store.Outbound {
	t.Helper()
	var o store.Outbound
	testwait.For(t, "message "+string(want), func() bool {
		o, _ = f.st.Outbound(context.Background(), id)
		return o.State == want
	})
	return o
}

func sentTexts(f *channelstest.Fake) []string {
	var out []string
	for _, r := range f.Sent() {
		out = append(out, string(r.Body))
	}
	return out
}

// Messages go out in order, once each, through a rate limit and a 5xx.
func TestOutboundInOrderThroughRetries(t *testing.T) {
	f := newFixture(t, channels.Telegram, true)
	cust, chat := f.chatWith(t, "777")
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.RateLimited, RetryAfter: 0})
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.Temporary})
	first := f.queue(t, cust, chat, "first")
	second := f.queue(t, cust, chat, "second")
	f.waitState(t, second.ID, store.OutboundSent)
	o := f.waitState(t, first.ID, store.OutboundSent)
	if o.Attempts != 3 {
		t.Errorf("first took %d attempts, want 3", o.Attempts)
	}
	sent := sentTexts(f.fake)
	if len(sent) != 2 || !strings.Contains(sent[0], "first") || !strings.Contains(sent[1], "second") {
		t.Errorf("delivered %q", sent)
	}
	if got := f.svc.Counts()[countKey{"acme", "telegram", "sent"}]; got != 2 {
		t.Errorf("sent count %d", got)
	}
}

// Each failure the provider reports is one clear line for the agents and
// the channel's or customer's state.
func TestOutboundFailures(t *testing.T) {
	for _, tc := range []struct {
		typ     channels.Type
		fault   channels.Kind
		line    string
		channel store.ChannelStatus
		blocked bool
	}{
		{channels.Telegram, channels.CustomerBlocked, "Not delivered: the customer blocked this Telegram account.", store.ChannelOK, true},
		{channels.Telegram, channels.TokenExpired, "Not delivered: the Telegram channel telegram is no longer authorised", store.ChannelTokenExpired, false},
		{channels.WhatsApp, channels.OutsideWindow, "Not delivered: WhatsApp allows free replies only within 24 hours", store.ChannelOK, false},
		{channels.Messenger, channels.ProviderError, "Not delivered: Messenger refused the message:", store.ChannelProviderError, false},
	} {
		t.Run(string(tc.typ)+"/"+string(tc.fault), func(t *testing.T) {
			f := newFixture(t, tc.typ, true)
			cust, chat := f.chatWith(t, "1234567")
			f.fake.FailNext(1, channelstest.Fault{Kind: tc.fault})
			o := f.queue(t, cust, chat, "hello")
			f.waitState(t, o.ID, store.OutboundFailed)
			testwait.For(t, "the line", func() bool { return len(f.desk.told(chat.ID)) == 1 })
			if got := f.desk.told(chat.ID)[0]; !strings.HasPrefix(got, tc.line) {
				t.Errorf("line %q", got)
			}
			ch, _ := f.st.ChannelByID(context.Background(), f.ch.ID)
			c, _ := f.st.Customer(context.Background(), cust.ID)
			if ch.Status != tc.channel || (c.State == store.CustomerBlocked) != tc.blocked {
				t.Errorf("channel %s, customer %s", ch.Status, c.State)
			}
			if len(f.fake.Sent()) != 0 {
				t.Errorf("delivered after all: %q", sentTexts(f.fake))
			}
		})
	}
}

// A message the provider took and later reports failed (a WhatsApp
// status) is told to the agents.
func TestFailedStatusIsTold(t *testing.T) {
	f := newFixture(t, channels.WhatsApp, true)
	cust, chat := f.chatWith(t, "4915112345678")
	o := f.waitState(t, f.queue(t, cust, chat, "hello").ID, store.OutboundSent)
	body := f.fake.Status(o.ProviderMessageID, "4915112345678", "failed", 131047, "Re-engagement message")
	if code := f.post(t, body, f.fake.Sign(body)); code != 200 {
		t.Fatalf("status webhook %d", code)
	}
	testwait.For(t, "the line", func() bool { return len(f.desk.told(chat.ID)) == 1 })
	if got := f.desk.told(chat.ID)[0]; !strings.Contains(got, "24 hours") {
		t.Errorf("line %q", got)
	}
}

// A message whose answer is lost (the connection drops after it was
// sent) is sent again only where the provider recognises the repeat
// (LINE); elsewhere it is not repeated and the agents are told. Either
// way the customer gets it once.
func TestLostAnswer(t *testing.T) {
	for _, typ := range []channels.Type{channels.LINE, channels.Telegram} {
		t.Run(string(typ), func(t *testing.T) {
			f := newFixture(t, typ, true)
			cust, chat := f.chatWith(t, channelstest.UserID(typ))
			// No reply token: a LINE reply could not be repeated safely.
			if _, err := f.st.TakeReplyToken(context.Background(), cust.ID, time.Time{}); err != nil {
				t.Fatal(err)
			}
			f.fake.FailNext(1, channelstest.Fault{Hangup: true, Delivered: true})
			o := f.queue(t, cust, chat, "once only")
			want := store.OutboundSent
			if typ != channels.LINE {
				want = store.OutboundFailed
			}
			f.waitState(t, o.ID, want)
			if n := len(f.fake.Sent()); n != 1 {
				t.Errorf("delivered %d times", n)
			}
			told := f.desk.told(chat.ID)
			if want == store.OutboundFailed && (len(told) != 1 || !strings.HasPrefix(told[0], "Delivery unknown: no answer from Telegram")) {
				t.Errorf("told %q", told)
			}
		})
	}
}

// After a crash, a message left in flight is sent again where the
// provider recognises the repeat (LINE: once, though the crashed attempt
// had reached it); elsewhere it is not repeated and the agents are told.
func TestInFlightAfterACrash(t *testing.T) {
	for _, typ := range []channels.Type{channels.LINE, channels.Telegram} {
		t.Run(string(typ), func(t *testing.T) {
			f := newFixture(t, typ, false)
			ctx := context.Background()
			cust, chat := f.liveChat(t, channelstest.UserID(typ), "m1")
			o := f.queue(t, cust, chat, "once only")
			// The crashed attempt: marked in flight, and (on LINE) it reached
			// the provider with the message's send key.
			flight := store.InFlightOnce
			if typ == channels.LINE {
				flight = store.InFlightRepeatable
			}
			if err := f.st.OutboundInFlight(ctx, o.ID, flight); err != nil {
				t.Fatal(err)
			}
			if typ == channels.LINE {
				if _, err := f.fake.Provider().Send(ctx, channels.Message{To: cust.ProviderID, Text: "once only", SendID: o.SendKey}); err != nil {
					t.Fatal(err)
				}
			}
			f.run(t)
			want := store.OutboundSent
			if typ != channels.LINE {
				want = store.OutboundFailed
			}
			f.waitState(t, o.ID, want)
			if n, wantN := len(f.fake.Sent()), map[bool]int{true: 1, false: 0}[typ == channels.LINE]; n != wantN {
				t.Errorf("delivered %d times, want %d", n, wantN)
			}
			told := f.desk.told(chat.ID)
			if want == store.OutboundFailed && (len(told) != 1 || !strings.HasPrefix(told[0], "Delivery unknown: the server stopped")) {
				t.Errorf("told %q", told)
			}
		})
	}
}

// A provider that does not answer holds up only its own channel: another
// channel's messages go out meanwhile.
func TestSlowProviderStallsOnlyItsChannel(t *testing.T) {
	f := newFixture(t, channels.Telegram, true)
	ctx := context.Background()
	slow := f.slowChannel(t)
	body := f.fake.TextMessage("555", "Sam", "Hello from the slow channel")
	hook := strings.TrimSuffix(f.hook, f.ch.PublicID) + slow.PublicID
	if code := f.fake.PostSigned(t, hook, body); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	var slowChat store.Chat
	testwait.For(t, "the slow channel's chat", func() bool {
		c, ok, _ := f.st.LiveChatOfCustomer(ctx, 1)
		slowChat = c
		return ok
	})
	slowCust, err := f.st.Customer(ctx, slowChat.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AppendChatEvent(ctx, slowChat.ID, store.ChatEvent{Type: "message", AuthorKind: store.AuthorAgent, Author: "fiona.b",
		Text: "to the slow one", Visible: true,
		Outbound: &store.Outbound{ChannelID: slow.ID, CustomerID: slowCust.ID, Payload: store.OutboundPayload{Text: "to the slow one"}}}); err != nil {
		t.Fatal(err)
	}
	f.svc.Wake()
	testwait.For(t, "the slow send under way", func() bool {
		o, err := f.st.Outbound(ctx, 1)
		return err == nil && o.InFlight != store.NotInFlight
	})
	cust, chat := f.chatWith(t, "777")
	o := f.queue(t, cust, chat, "to the quick one")
	f.waitState(t, o.ID, store.OutboundSent)
}

// A send that ends while the worker goes through a list of due messages
// read before it ended does not make the worker start that message again:
// not the one just delivered, nor (as here) one whose retry waits for its
// backoff.
func TestSendEndingDuringAPassIsNotRepeated(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	f.svc.cfg.Backoff = func(int) time.Duration { return time.Hour }
	ctx := context.Background()
	cust, chat := f.liveChat(t, "777", "m1")
	o := f.queue(t, cust, chat, "once for now")
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.Temporary})
	// Between the listing and the loop over it, a send of the listed
	// message runs to its end (the provider answers 502: retry in an
	// hour), as one started by the pass before would.
	f.svc.listed = func(due []store.Outbound) {
		f.svc.listed = nil
		for _, d := range due {
			if f.svc.startSending(d) {
				if err := f.svc.send(ctx, d); err != nil {
					t.Error(err)
				}
				f.svc.doneSending(d)
			}
		}
	}
	f.svc.sendDue(ctx)
	f.svc.sending.Wait()
	if n := len(f.fake.Requests()); n != 1 {
		t.Errorf("the provider was asked %d times, want once", n)
	}
	got, err := f.st.Outbound(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.OutboundPending || got.Attempts != 1 || !got.NextAttemptAt.After(time.Now().Add(59*time.Minute)) {
		t.Errorf("message %+v, want pending after one attempt, next in an hour", got)
	}
	// The next pass, with nothing under way, leaves it to its time.
	f.svc.sendDue(ctx)
	f.svc.sending.Wait()
	if n := len(f.fake.Requests()); n != 1 {
		t.Errorf("the provider was asked %d times, want once", n)
	}
}

// errorCount counts the log records at level error.
type errorCount struct {
	slog.Handler
	n *atomic.Int64
}

func (h errorCount) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.n.Add(1)
	}
	return nil
}

var saysRE = regexp.MustCompile(`(\d+) says (\d+)`)

// Many customers' messages queued at once each reach the provider
// exactly once, each customer's in order, with no send started for a
// message that was already sent.
func TestManyCustomersInOrderOnce(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	var errs atomic.Int64
	f.svc.log = slog.New(errorCount{slog.DiscardHandler, &errs})
	const customers, each = 40, 5
	type queued struct {
		cust store.ChannelCustomer
		chat store.Chat
	}
	all := make([]queued, customers)
	for i := range all {
		all[i].cust, all[i].chat = f.liveChat(t, fmt.Sprint(1000+i), fmt.Sprint("m", i))
	}
	f.run(t)
	var last store.Outbound
	for k := range each {
		for _, q := range all {
			last = f.queue(t, q.cust, q.chat, fmt.Sprintf("%s says %d", q.cust.ProviderID, k))
		}
	}
	f.waitState(t, last.ID, store.OutboundSent)
	testwait.For(t, "every message sent", func() bool { return len(f.fake.Sent()) >= customers*each })
	next := map[string]int{} // by customer: the number of the next message
	for _, r := range f.fake.Sent() {
		m := saysRE.FindStringSubmatch(string(r.Body))
		if m == nil {
			t.Fatalf("sent %q", r.Body)
		}
		to, k := m[1], 0
		fmt.Sscan(m[2], &k)
		if k != next[to] {
			t.Errorf("customer %s got message %d, want %d", to, k, next[to])
		}
		next[to] = k + 1
	}
	if n := len(f.fake.Requests()); n != customers*each {
		t.Errorf("the provider was asked %d times for %d messages", n, customers*each)
	}
	if n := errs.Load(); n != 0 {
		t.Errorf("%d errors logged", n)
	}
}

// A customer message that cannot be shown now holds back the customer's
// later ones, and not the other customers': each chat reads in order.
func TestRefusedMessageHoldsBackLaterOnes(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	ctx := context.Background()
	f.liveChat(t, "777", "a0")
	f.liveChat(t, "888", "b0")
	for _, m := range []struct{ id, user, text string }{{"a1", "777", "one"}, {"b1", "888", "other"}, {"a2", "777", "two"}} {
		if _, _, err := f.st.StoreInbound(ctx, f.ch.ID, store.InboundMessage{ProviderMessageID: m.id, CustomerID: m.user, Text: m.text}); err != nil {
			t.Fatal(err)
		}
	}
	f.desk.refuse["one"] = errors.New("an agent's client is not keeping up")
	if again := f.svc.deliverPending(ctx); !again {
		t.Error("a refused message is not tried again")
	}
	if got := strings.Join(f.desk.shownTexts(), ","); got != "hi,hi,other" {
		t.Errorf("after the refusal shown %s, want hi,hi,other", got)
	}
	if again := f.svc.deliverPending(ctx); again {
		t.Error("tried again with nothing refused")
	}
	if got := strings.Join(f.desk.shownTexts(), ","); got != "hi,hi,other,one,two" {
		t.Errorf("shown %s, want hi,hi,other,one,two", got)
	}
}

// A send under way when the service stops finishes, and its outcome is
// recorded: the message is not left in flight (after a restart it would
// count as one that may or may not have been delivered).
func TestStopDuringASendRecordsItsOutcome(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	ctx := context.Background()
	asked, release := make(chan struct{}), make(chan struct{})
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sendMessage") {
			close(asked)
			<-release
		}
		f.fake.Server.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	if _, err := f.st.UpdateChannel(ctx, "acme", f.ch.Name, store.ChannelUpdate{APIBase: &gate.URL}, "test"); err != nil {
		t.Fatal(err)
	}
	cust, chat := f.liveChat(t, "777", "m1")
	o := f.queue(t, cust, chat, "sent while stopping")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.svc.Run(runCtx) }()
	<-asked
	stop()
	close(release)
	<-done
	got, err := f.st.Outbound(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.OutboundSent || got.InFlight != store.NotInFlight || len(f.fake.Sent()) != 1 {
		t.Errorf("message %s, in flight %v, delivered %d times; want sent once", got.State, got.InFlight, len(f.fake.Sent()))
	}
}

// A retry that comes due while a pass goes through its list is not left
// for the worker's idle wait: the worker goes again at once.
func TestRetryDueDuringAPassIsNotMissed(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	ctx := context.Background()
	t0 := time.Now()
	var now atomic.Pointer[time.Time]
	now.Store(&t0)
	f.svc.cfg.Now = func() time.Time { return *now.Load() }
	cust, chat := f.liveChat(t, "777", "m1")
	o := f.queue(t, cust, chat, "retried")
	if err := f.st.OutboundRetry(ctx, o.ID, t0.Add(time.Second), "502"); err != nil {
		t.Fatal(err)
	}
	f.svc.listed = func([]store.Outbound) {
		later := t0.Add(2 * time.Second)
		now.Store(&later)
	}
	if wait := f.svc.sendDue(ctx); wait != 0 {
		t.Errorf("the worker would sleep %v with a message due", wait)
	}
	f.svc.listed = nil
	if wait := f.svc.sendDue(ctx); wait != idleWait {
		t.Errorf("the worker would sleep %v with the message under way, want %v", wait, idleWait)
	}
	f.svc.sending.Wait()
	f.waitState(t, o.ID, store.OutboundSent)
}

// A customer whose name the provider does not give is not asked for on
// every message: one lookup, then the default name stands for a while.
func TestNameLookupIsNotRepeatedOnEveryMessage(t *testing.T) {
	f := newFixture(t, channels.Messenger, true)
	user := channelstest.UserID(channels.Messenger) // no profile: the lookup fails
	for i, text := range []string{"first", "second", "third"} {
		body := f.fake.TextMessage(user, "", text)
		if code := f.post(t, body, f.fake.Sign(body)); code != http.StatusOK {
			t.Fatalf("webhook %d: %d", i, code)
		}
		testwait.For(t, "the message shown", func() bool { return len(f.desk.shownTexts()) == i+1 })
	}
	n := 0
	for _, r := range f.fake.Requests() {
		if r.Endpoint == "profile" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the name was looked up %d times", n)
	}
}

// A LINE customer who blocks the account, or follows it again, is the
// customer's state, and the agents of their live chat are told once.
func TestUnfollowAndFollowAreToldInTheChat(t *testing.T) {
	f := newFixture(t, channels.LINE, true)
	user := channelstest.UserID(channels.LINE)
	_, chat := f.chatWith(t, user)
	for range 2 { // a repeat changes nothing and tells nobody again
		if code := f.fake.PostSigned(t, f.hook, f.fake.Unfollow(user)); code != http.StatusOK {
			t.Fatalf("unfollow: %d", code)
		}
	}
	if code := f.fake.PostSigned(t, f.hook, f.fake.Follow(user, true)); code != http.StatusOK {
		t.Fatalf("follow: %d", code)
	}
	told := strings.Join(f.desk.told(chat.ID), "\n")
	if strings.Count(told, "blocked this LINE account") != 1 || strings.Count(told, "follows this LINE account again") != 1 {
		t.Fatalf("told:\n%s", told)
	}
	cu, err := f.st.CustomerByProviderID(context.Background(), f.ch.ID, user)
	if err != nil || cu.State != store.CustomerOK {
		t.Fatalf("customer %+v, %v", cu, err)
	}
}

// A channel whose provider does not answer, with more messages due than
// the sender reads at once, does not hide another channel's message
// queued after them.
func TestBacklogOfASlowChannelDoesNotHideAnother(t *testing.T) {
	f := newFixture(t, channels.Telegram, true)
	ctx := context.Background()
	slow := f.slowChannel(t)
	for i := range maxSending + 10 { // one message each to more customers than a listing reads
		in, _, err := f.st.StoreInbound(ctx, slow.ID, store.InboundMessage{ProviderMessageID: fmt.Sprint("m", i), CustomerID: fmt.Sprint(9000 + i),
			Name: "C", Text: "hi", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.EnqueueOutbound(ctx, store.Outbound{ChannelID: slow.ID, CustomerID: in.Customer.ID, Payload: store.OutboundPayload{Text: "to the slow one"}}); err != nil {
			t.Fatal(err)
		}
	}
	// One pass finds them all due, the quick one last.
	cust, chat := f.chatWith(t, "777")
	o := f.queue(t, cust, chat, "to the quick one")
	f.waitState(t, o.ID, store.OutboundSent)
}

// slowChannel adds a Telegram channel whose provider takes requests and
// answers none until the test ends.
func (f *fixture) slowChannel(t *testing.T) store.Channel {
	t.Helper()
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) }) // before the server closes: it waits for its handlers
	slow, err := f.st.AddChannel(context.Background(), store.NewChannel{Portal: "acme", Name: "slow", Type: store.ChannelTelegram, APIBase: stuck.URL,
		Secrets: map[string]string{"bot_token": f.fake.Secrets.BotToken, "secret_token": f.fake.Secrets.SecretToken}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return slow
}
