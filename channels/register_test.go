package channels_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

// Telegram's webhook is registered with setWebhook: the URL, the
// channel's secret token, message updates only, pending updates kept.
func TestTelegramRegister(t *testing.T) {
	f := channelstest.New(t, channels.Telegram)
	p := f.Provider()
	ctx := context.Background()
	const hook = "https://desk.example.com/hooks/0123456789abcdef01234567"
	if err := p.Register(ctx, hook); err != nil {
		t.Fatal(err)
	}
	got := f.Webhook()
	if got.URL != hook || got.SecretToken != f.Secrets.SecretToken || !slices.Equal(got.AllowedUpdates, []string{"message"}) || got.DropPendingUpdates {
		t.Errorf("registered %+v", got)
	}
	reqs := f.Requests()
	if last := reqs[len(reqs)-1]; last.Endpoint != "setWebhook" || last.JSON["drop_pending_updates"] != false || len(f.Sent()) != 0 {
		t.Errorf("request %+v", last)
	}
	if err := p.Register(ctx, hook); err != nil {
		t.Errorf("registering again: %v", err)
	}
	if err := p.Register(ctx, ""); channels.AsFailure(err) == nil || f.Webhook().URL != hook {
		t.Errorf("an empty URL: %v, webhook %q", err, f.Webhook().URL)
	}
}

// What Telegram refuses comes back as a typed failure without secrets:
// a URL that is not https, a revoked token, no answer at all.
func TestTelegramRegisterRefused(t *testing.T) {
	ctx := context.Background()
	f := channelstest.New(t, channels.Telegram)
	err := f.Provider().Register(ctx, "http://desk.example.com/hooks/x")
	if fl := channels.AsFailure(err); fl == nil || fl.Kind != channels.ProviderError || fl.Code != 400 || !strings.Contains(fl.Text, "HTTPS URL must be provided") {
		t.Errorf("http URL: %v", err)
	}
	if f.Webhook().URL != "" {
		t.Errorf("registered %+v", f.Webhook())
	}

	cfg := f.Config()
	cfg.Secrets.BotToken = "999999:" + strings.Repeat("w", 35)
	wrong, err := channels.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.Register(ctx, "https://desk.example.com/hooks/x")
	if fl := channels.AsFailure(err); fl == nil || fl.Kind != channels.TokenExpired {
		t.Errorf("wrong token: %v", err)
	}
	noSecrets(t, cfg.Secrets, err.Error())

	f.FailNext(1, channelstest.Fault{Hangup: true})
	err = f.Provider().Register(ctx, "https://desk.example.com/hooks/x")
	if fl := channels.AsFailure(err); fl == nil || fl.Kind != channels.Temporary || !fl.Retryable() {
		t.Errorf("hangup: %v", err)
	}
	noSecrets(t, f.Secrets, err.Error())
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("the URL in %q is not redacted", err)
	}

	cfg = f.Config()
	cfg.Secrets.SecretToken = "not allowed!"
	odd, err := channels.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := odd.Register(ctx, "https://desk.example.com/hooks/x"); channels.AsFailure(err) == nil || !strings.Contains(err.Error(), "unallowed characters") {
		t.Errorf("bad secret token: %v", err)
	}
}

// The other providers take the webhook URL in their consoles.
func TestRegisterUnsupportedElsewhere(t *testing.T) {
	for _, typ := range []channels.Type{channels.WhatsApp, channels.LINE, channels.Messenger, channels.Instagram} {
		f := channelstest.New(t, typ)
		if err := f.Provider().Register(context.Background(), "https://desk.example.com/hooks/x"); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s: %v", typ, err)
		}
		if n := len(f.Requests()); n != 0 {
			t.Errorf("%s: %d requests", typ, n)
		}
	}
}

// Unregister deletes Telegram's webhook; the others have none to delete.
func TestUnregister(t *testing.T) {
	ctx := context.Background()
	f := channelstest.New(t, channels.Telegram)
	if err := f.Provider().Register(ctx, "https://desk.example.com/hooks/x"); err != nil {
		t.Fatal(err)
	}
	if err := f.Provider().Unregister(ctx); err != nil || f.Webhook().URL != "" {
		t.Fatalf("unregister: %v, %+v", err, f.Webhook())
	}
	for _, typ := range []channels.Type{channels.WhatsApp, channels.LINE, channels.Messenger, channels.Instagram} {
		if err := channelstest.New(t, typ).Provider().Unregister(ctx); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", typ, err)
		}
	}
}
