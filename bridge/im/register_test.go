package im

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// logBuffer collects log lines from the Service's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// publicAt sets the Service's public URL and collects its logs.
func publicAt(url string, logs *logBuffer) func(*Config) {
	return func(c *Config) {
		c.PublicURL = url
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
}

// noSecret fails when the fake's secrets (or another) appear in text.
func noSecret(t *testing.T, f *channelstest.Fake, text string, more ...string) {
	t.Helper()
	for _, v := range append([]string{f.Secrets.BotToken, f.Secrets.SecretToken}, more...) {
		if v != "" && strings.Contains(text, v) {
			t.Errorf("secret %q… appears in:\n%s", v[:4], text)
		}
	}
}

func (f *fixture) setWebhookCalls() int {
	n := 0
	for _, r := range f.fake.Requests() {
		if r.Endpoint == "setWebhook" {
			n++
		}
	}
	return n
}

func (f *fixture) channel(t *testing.T) store.Channel {
	t.Helper()
	ch, err := f.st.ChannelByID(context.Background(), f.ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// Run registers each enabled Telegram channel's webhook URL and secret
// token; what Telegram then posts there with that token is taken.
func TestRunRegistersTelegramWebhooks(t *testing.T) {
	logs := &logBuffer{}
	f := newFixture(t, channels.Telegram, false, publicAt("https://desk.example.com/", logs))
	ctx := context.Background()
	off, err := f.st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "a-off", Type: store.ChannelTelegram, APIBase: f.fake.URL, Secrets: f.ch.Secrets}, "test")
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := f.st.UpdateChannel(ctx, "acme", off.Name, store.ChannelUpdate{Disabled: &yes}, "test"); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	testwait.For(t, "the webhook registered", func() bool { return f.fake.Webhook().URL != "" })
	reg := f.fake.Webhook()
	if want := "https://desk.example.com/hooks/" + f.ch.PublicID; reg.URL != want || f.svc.WebhookURL(f.ch) != want {
		t.Errorf("registered %q, want %q", reg.URL, want)
	}
	if reg.SecretToken != f.fake.Secrets.SecretToken || strings.Join(reg.AllowedUpdates, ",") != "message" {
		t.Errorf("registered %+v", reg)
	}
	if n := f.setWebhookCalls(); n != 1 {
		t.Errorf("%d setWebhook calls: the disabled channel was registered too", n)
	}
	body := f.fake.TextMessage("777", "Ann", "hello")
	if code := f.post(t, body, http.Header{"X-Telegram-Bot-Api-Secret-Token": {reg.SecretToken}}); code != http.StatusOK {
		t.Errorf("update with the registered secret: %d", code)
	}
	testwait.For(t, "the message in a chat", func() bool { return len(f.desk.shownTexts()) == 1 })
	// The log line follows the registration's answer: wait for it too.
	testwait.For(t, "the registration logged", func() bool { return strings.Contains(logs.String(), "webhook registered") })
	noSecret(t, f.fake, logs.String())
}

// A refused registration is the channel's status, logged without
// secrets; registering again once it is fixed makes it ok.
func TestRegistrationFailuresAreTheChannelStatus(t *testing.T) {
	logs := &logBuffer{}
	f := newFixture(t, channels.Telegram, false, publicAt("https://desk.example.com", logs))
	ctx := context.Background()
	const wrong = "999999:AAwrongwrongwrongwrongwrongwrongwro"
	if _, err := f.st.UpdateChannel(ctx, "acme", f.ch.Name, store.ChannelUpdate{Secrets: map[string]string{"bot_token": wrong}}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChannelChanged(ctx, "acme", f.ch.Name); err != nil {
		t.Fatal(err)
	}
	if ch := f.channel(t); ch.Status != store.ChannelTokenExpired || !strings.HasPrefix(ch.StatusDetail, "webhook not registered: 401") {
		t.Errorf("wrong token: %s %q", ch.Status, ch.StatusDetail)
	}
	if _, err := f.st.UpdateChannel(ctx, "acme", f.ch.Name, store.ChannelUpdate{Secrets: map[string]string{"bot_token": f.fake.Secrets.BotToken}}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChannelChanged(ctx, "acme", f.ch.Name); err != nil {
		t.Fatal(err)
	}
	if ch := f.channel(t); ch.Status != store.ChannelOK || f.fake.Webhook().URL == "" {
		t.Errorf("fixed: %s %q, webhook %+v", ch.Status, ch.StatusDetail, f.fake.Webhook())
	}
	if !strings.Contains(logs.String(), "webhook not registered") {
		t.Errorf("logs:\n%s", logs)
	}
	noSecret(t, f.fake, logs.String(), wrong)

	// Telegram refuses a URL that is not https; it is tried all the same.
	plain := newFixture(t, channels.Telegram, false, publicAt("http://desk.example.com", &logBuffer{}))
	err := plain.svc.RegisterWebhooks(ctx)
	if err == nil || !strings.Contains(err.Error(), "portal acme channel telegram") || plain.setWebhookCalls() != 1 {
		t.Errorf("http: %v", err)
	}
	want := "webhook not registered: 400 Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
	if ch := plain.channel(t); ch.Status != store.ChannelProviderError || ch.StatusDetail != want {
		t.Errorf("http: %s %q", ch.Status, ch.StatusDetail)
	}
}

// A registration that fails for a while is tried again until it works,
// without touching the channel's status; the failures' texts quote the
// Bot API's URL without the token.
func TestRegistrationRetried(t *testing.T) {
	logs := &logBuffer{}
	f := newFixture(t, channels.Telegram, false, publicAt("https://desk.example.com", logs))
	f.fake.FailNext(1, channelstest.Fault{Hangup: true})
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.RateLimited, RetryAfter: 0})
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.Temporary})
	f.run(t)
	testwait.For(t, "the webhook registered", func() bool { return f.fake.Webhook().URL != "" })
	if n := f.setWebhookCalls(); n != 4 {
		t.Errorf("%d setWebhook calls, want 4", n)
	}
	if ch := f.channel(t); ch.Status != store.ChannelOK {
		t.Errorf("status %s %q", ch.Status, ch.StatusDetail)
	}
	testwait.For(t, "the log line", func() bool { return strings.Contains(logs.String(), "webhook registered") })
	if !strings.Contains(logs.String(), "trying again") || !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("logs:\n%s", logs)
	}
	noSecret(t, f.fake, logs.String())
	f.svc.mu.Lock()
	left := len(f.svc.regRetries)
	f.svc.mu.Unlock()
	if left != 0 {
		t.Errorf("%d retries left", left)
	}
}

// Only enabled Telegram channels are registered; a removed channel, or
// a server without a public URL, is no error of the CLI's.
func TestChannelChangedRegistersOnlyWhatNeedsIt(t *testing.T) {
	ctx := context.Background()
	wa := newFixture(t, channels.WhatsApp, false, publicAt("https://desk.example.com", &logBuffer{}))
	if err := wa.svc.ChannelChanged(ctx, "acme", wa.ch.Name); err != nil || len(wa.fake.Requests()) != 0 {
		t.Errorf("whatsapp: %v, %d requests", err, len(wa.fake.Requests()))
	}
	if err := wa.svc.ChannelChanged(ctx, "acme", "gone"); err != nil {
		t.Errorf("removed: %v", err)
	}
	tg := newFixture(t, channels.Telegram, false, publicAt("https://desk.example.com", &logBuffer{}))
	yes := true
	if _, err := tg.st.UpdateChannel(ctx, "acme", tg.ch.Name, store.ChannelUpdate{Disabled: &yes}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := tg.svc.ChannelChanged(ctx, "acme", tg.ch.Name); err != nil || tg.setWebhookCalls() != 0 {
		t.Errorf("disabled: %v, %d calls", err, tg.setWebhookCalls())
	}
	none := newFixture(t, channels.Telegram, false)
	if err := none.svc.RegisterWebhooks(ctx); !errors.Is(err, errNoPublicURL) || none.setWebhookCalls() != 0 {
		t.Errorf("no public URL: %v", err)
	}
	// Without Telegram channels, a missing public URL is no error.
	if err := newFixture(t, channels.WhatsApp, false).svc.RegisterWebhooks(ctx); err != nil {
		t.Errorf("no public URL, no Telegram channel: %v", err)
	}
}

func TestAccountState(t *testing.T) {
	expired := &channels.Failure{Kind: channels.TokenExpired, Status: 401, Code: 401, Text: "Unauthorized"}
	refused := &channels.Failure{Kind: channels.ProviderError, Status: 400, Code: 400, Text: "Bad Request: bad webhook"}
	blocked := &channels.Failure{Kind: channels.CustomerBlocked, Code: 403, Text: "Forbidden"}
	for _, tc := range []struct {
		now    store.ChannelStatus
		err    error
		st     store.ChannelStatus
		detail string
		record bool
	}{
		{store.ChannelOK, nil, store.ChannelOK, "", false},
		{store.ChannelTokenExpired, nil, store.ChannelOK, "", true},
		{store.ChannelProviderError, nil, store.ChannelOK, "", true},
		{store.ChannelRateLimited, nil, store.ChannelOK, "", false},
		{store.ChannelOK, expired, store.ChannelTokenExpired, "check: 401 Unauthorized", true},
		{store.ChannelOK, refused, store.ChannelProviderError, "check: 400 Bad Request: bad webhook", true},
		{store.ChannelOK, blocked, store.ChannelProviderError, "check: 403 Forbidden", true},
		{store.ChannelTokenExpired, &channels.Failure{Kind: channels.Temporary}, "", "", false},
		{store.ChannelOK, &channels.Failure{Kind: channels.RateLimited}, "", "", false},
		{store.ChannelOK, errors.New("channels: telegram channel needs secret_token"), store.ChannelProviderError, "check: channels: telegram channel needs secret_token", true},
	} {
		st, detail, record := accountState(store.Channel{Status: tc.now}, tc.err, "check")
		if st != tc.st || detail != tc.detail || record != tc.record {
			t.Errorf("%s, %v: %s %q %v; want %s %q %v", tc.now, tc.err, st, detail, record, tc.st, tc.detail, tc.record)
		}
	}
}

// A token check's answer is the channel's status.
func TestCheckChannel(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	ctx := context.Background()
	if _, err := f.st.SetChannelStatus(ctx, f.ch.ID, store.ChannelTokenExpired, "401 Unauthorized", nil); err != nil {
		t.Fatal(err)
	}
	acct, err := CheckChannel(ctx, f.st, f.channel(t), f.fake.Server.Client())
	if err != nil || acct.Name != "@helpdesk_bot" || acct.ID == "" {
		t.Fatalf("check: %+v %v", acct, err)
	}
	if ch := f.channel(t); ch.Status != store.ChannelOK || ch.StatusDetail != "" {
		t.Errorf("after a good check: %s %q", ch.Status, ch.StatusDetail)
	}
	ch := f.channel(t)
	ch.Secrets["bot_token"] = "999999:AAwrongwrongwrongwrongwrongwrongwro"
	_, err = CheckChannel(ctx, f.st, ch, f.fake.Server.Client())
	if fl := channels.AsFailure(err); fl == nil || fl.Kind != channels.TokenExpired {
		t.Fatalf("wrong token: %v", err)
	}
	noSecret(t, f.fake, err.Error(), ch.Secrets["bot_token"])
	if ch := f.channel(t); ch.Status != store.ChannelTokenExpired || ch.StatusDetail != "token check: 401 Unauthorized" {
		t.Errorf("after a refused check: %s %q", ch.Status, ch.StatusDetail)
	}
}
