package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/control"
	"jabberdesk/store"
)

func TestChannelCLI(t *testing.T) {
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Support")
	const secret = "123456:AAH-very-secret"
	r := cli(t, dir, `{"bot_token":"`+secret+`"}`, "channel", "add", "acme", "Telegram", "tg-support", "--dept", "support")
	if r.code != 0 || !strings.Contains(r.stdout, "Added telegram channel tg-support") || !strings.Contains(r.stdout, "/hooks/") ||
		!strings.Contains(r.stdout, "Providers only call HTTPS addresses") {
		t.Fatalf("channel add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Secrets: JSON on standard input, checked per type, never echoed.
	for _, tc := range []struct{ stdin, want string }{
		{`{"bot_token":"` + secret, "not valid JSON at byte"},
		{`{"bot_token":5}`, "every value must be a string"},
		{`{"access_token":"x"}`, "telegram channels have no secret access_token"},
		{`{}`, "need the secrets bot_token"},
	} {
		r := cli(t, dir, tc.stdin, "channel", "add", "acme", "telegram", "tg-2")
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, secret) {
			t.Errorf("stdin %s: %d %q", tc.stdin, r.code, r.stderr)
		}
	}
	if r := cli(t, dir, `{"bot_token":"x"}`, "channel", "add", "acme", "signal", "s"); r.code != 1 || !strings.Contains(r.stderr, "not one of telegram, whatsapp") {
		t.Errorf("unknown type: %d %q", r.code, r.stderr)
	}

	var list []channelView
	okJSON(t, dir, &list, "channel", "list", "acme")
	if len(list) != 1 || list[0].Department != "Support" || list[0].Status != "ok" || !strings.HasSuffix(list[0].Webhook, "/hooks/"+list[0].PublicID) ||
		strings.Join(list[0].SecretNames, ",") != "bot_token,secret_token" {
		t.Fatalf("list: %+v", list)
	}
	for _, args := range [][]string{{"channel", "list", "acme"}, {"channel", "show", "acme", "TG-SUPPORT"}, {"channel", "list", "acme", "--json"}} {
		if out := ok(t, dir, args...); strings.Contains(out, secret) || strings.Contains(out, "AAH") {
			t.Errorf("%v prints a secret:\n%s", args, out)
		}
	}
	if out := ok(t, dir, "channel", "show", "acme", "tg-support"); !strings.Contains(out, "bot_token, secret_token") ||
		!strings.Contains(out, "setWebhook") {
		t.Errorf("show:\n%s", out)
	}

	if r := cli(t, dir, `{"bot_token":"654321:NEW"}`, "channel", "set", "acme", "tg-support", "--secrets-stdin", "--no-dept", "--disable"); r.code != 0 ||
		!strings.Contains(r.stdout, "department -, disabled") {
		t.Errorf("set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	fails(t, dir, 2, "nothing to change", "channel", "set", "acme", "tg-support")
	fails(t, dir, 2, "exclude each other", "channel", "set", "acme", "tg-support", "--disable", "--enable")
	fails(t, dir, 1, "does not exist", "channel", "show", "acme", "nope")

	// Templates.
	ok(t, dir, "channel", "set", "acme", "tg-support", "--enable")
	fails(t, dir, 2, "--language and --body are required", "template", "add", "acme", "tg-support", "hello")
	if out := ok(t, dir, "template", "add", "acme", "tg-support", "order_update", "--language", "en_US", "--body", "Hi {{1}}, order {{2}} shipped."); !strings.Contains(out, "with 2 placeholders") {
		t.Errorf("template add: %q", out)
	}
	if out := ok(t, dir, "template", "list", "acme", "tg-support"); !strings.Contains(out, "order_update") || !strings.Contains(out, "approved") {
		t.Errorf("template list:\n%s", out)
	}
	ok(t, dir, "template", "remove", "acme", "tg-support", "order_update")
	if out := ok(t, dir, "template", "list", "acme", "tg-support"); !strings.Contains(out, "has no templates") {
		t.Errorf("after remove:\n%s", out)
	}

	ok(t, dir, "channel", "remove", "acme", "tg-support", "--keep-webhook") // it speaks to Telegram itself
	if out := ok(t, dir, "channel", "list", "acme"); !strings.Contains(out, "has no channels") {
		t.Errorf("after remove:\n%s", out)
	}
}

// secretsOf is the JSON of a fake's secrets, as channel add reads them.
func secretsOf(t *testing.T, f *channelstest.Fake) string {
	t.Helper()
	m := map[string]string{"bot_token": f.Secrets.BotToken, "secret_token": f.Secrets.SecretToken, "access_token": f.Secrets.AccessToken,
		"app_secret": f.Secrets.AppSecret, "verify_token": f.Secrets.VerifyToken, "channel_secret": f.Secrets.ChannelSecret, "phone_number_id": f.PhoneNumberID}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// channel check calls the provider with the channel's token, prints the
// account and records the answer as the channel's state.
func TestChannelCheckCLI(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	tg := channelstest.New(t, channels.Telegram)
	if r := cli(t, dir, secretsOf(t, tg), "channel", "add", "acme", "telegram", "tg", "--api-base", tg.URL); r.code != 0 {
		t.Fatalf("channel add: %d %q", r.code, r.stderr)
	}
	var res channelCheck
	okJSON(t, dir, &res, "channel", "check", "acme", "tg")
	if !res.OK || res.Account == nil || res.Account.Name != "@helpdesk_bot" || res.Account.ID != "7123456789" || res.Status != store.ChannelOK {
		t.Errorf("check --json: %+v", res)
	}
	if out := ok(t, dir, "channel", "check", "acme", "tg"); out != "Channel tg (telegram) of portal acme reaches @helpdesk_bot (id 7123456789); state ok.\n" {
		t.Errorf("check: %q", out)
	}

	const wrong = "999999:AAwrongwrongwrongwrongwrongwrongwro"
	if r := cli(t, dir, `{"bot_token":"`+wrong+`"}`, "channel", "set", "acme", "tg", "--secrets-stdin"); r.code != 0 {
		t.Fatalf("channel set: %d %q", r.code, r.stderr)
	}
	r := fails(t, dir, 1, "jabberdesk: channel check: Telegram refused the token of channel tg (telegram: token_expired: HTTP 401: code 401: Unauthorized); "+
		"set a new one: jabberdesk channel set acme tg --secrets-stdin\n", "channel", "check", "acme", "tg")
	if r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, wrong) {
		t.Errorf("refused check: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if out := ok(t, dir, "channel", "list", "acme"); !strings.Contains(out, "token_expired (token check: 401 Unauthorized)") {
		t.Errorf("list after a refused check:\n%s", out)
	}
	r = cli(t, dir, "", "channel", "check", "acme", "tg", "--json")
	res = channelCheck{}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 || res.OK || res.Failure != channels.TokenExpired ||
		res.Status != store.ChannelTokenExpired || !strings.Contains(res.Error, "refused the token") {
		t.Errorf("refused check --json: %d %+v %v", r.code, res, err)
	}

	// No answer leaves the state as it was.
	dead := httptest.NewServer(nil)
	dead.Close()
	if r := cli(t, dir, secretsOf(t, tg), "channel", "set", "acme", "tg", "--secrets-stdin", "--api-base", dead.URL); r.code != 0 {
		t.Fatalf("channel set: %d %q", r.code, r.stderr)
	}
	r = fails(t, dir, 1, "Telegram did not answer the check of channel tg", "channel", "check", "acme", "tg")
	if strings.Contains(r.stderr, tg.Secrets.BotToken) || !strings.Contains(r.stderr, "[redacted]") {
		t.Errorf("no answer: %q", r.stderr)
	}
	if out := ok(t, dir, "channel", "show", "acme", "tg"); !strings.Contains(out, "token_expired") {
		t.Errorf("show after no answer:\n%s", out)
	}
	// A good check clears token_expired.
	ok(t, dir, "channel", "set", "acme", "tg", "--api-base", tg.URL)
	ok(t, dir, "channel", "check", "acme", "tg")
	var list []channelView
	okJSON(t, dir, &list, "channel", "list", "acme")
	if len(list) != 1 || list[0].Status != store.ChannelOK || list[0].StatusDetail != "" {
		t.Errorf("list after a good check: %+v", list)
	}

	wa := channelstest.New(t, channels.WhatsApp)
	if r := cli(t, dir, secretsOf(t, wa), "channel", "add", "acme", "whatsapp", "wa", "--api-base", wa.URL); r.code != 0 {
		t.Fatalf("channel add: %d %q", r.code, r.stderr)
	}
	okJSON(t, dir, &res, "channel", "check", "acme", "wa")
	if !res.OK || res.Account == nil || res.Account.ID != wa.PhoneNumberID || res.Account.Name == "" {
		t.Errorf("whatsapp check: %+v", res)
	}
}

// channel add and set tell a running server, which registers the
// webhook; the state that leaves is what they print.
func TestChannelChangeReachesServer(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	st := openStore(t, dir)
	var mu sync.Mutex
	var got []control.Event
	srv, err := control.Listen(control.SocketPath(filepath.Join(dir, "data")), func(ctx context.Context, ev control.Event) error {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		c, err := st.Channel(ctx, ev.Portal, ev.Channel)
		if err == nil {
			_, err = st.SetChannelStatus(ctx, c.ID, store.ChannelProviderError, "webhook not registered: 400 Bad Request: bad webhook", nil)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()

	r := cli(t, dir, `{"bot_token":"123456:AAH-secret"}`, "channel", "add", "acme", "telegram", "tg")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "State: provider_error (webhook not registered: 400 Bad Request: bad webhook)") {
		t.Errorf("channel add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if out := ok(t, dir, "channel", "set", "acme", "tg", "--enable"); !strings.Contains(out, "provider_error (webhook not registered") {
		t.Errorf("channel set: %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	want := control.Event{Op: control.OpChannelChanged, Portal: "acme", Channel: "tg"}
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("server received %v", got)
	}
}

// Removing a Telegram channel deletes its webhook at Telegram; where
// Telegram cannot be reached the channel goes all the same, and the
// command says so.
func TestChannelRemoveDeletesTheTelegramWebhook(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	tg := channelstest.New(t, channels.Telegram)
	if r := cli(t, dir, secretsOf(t, tg), "channel", "add", "acme", "telegram", "tg", "--api-base", tg.URL); r.code != 0 {
		t.Fatalf("channel add: %d %q", r.code, r.stderr)
	}
	if err := tg.Provider().Register(t.Context(), "https://desk.example.com/hooks/x"); err != nil {
		t.Fatal(err)
	}
	if out := ok(t, dir, "channel", "remove", "acme", "tg"); !strings.Contains(out, "its webhook was deleted at Telegram") {
		t.Errorf("remove: %q", out)
	}
	if reg := tg.Webhook(); reg.URL != "" {
		t.Errorf("still registered: %+v", reg)
	}

	if r := cli(t, dir, secretsOf(t, tg), "channel", "add", "acme", "telegram", "tg2", "--api-base", tg.URL); r.code != 0 {
		t.Fatalf("channel add: %d %q", r.code, r.stderr)
	}
	tg.FailNext(1, channelstest.Fault{Kind: channels.TokenExpired})
	out := ok(t, dir, "channel", "remove", "acme", "tg2")
	if !strings.Contains(out, "could not be deleted at Telegram") || strings.Contains(out, tg.Secrets.BotToken) {
		t.Errorf("remove with Telegram refusing: %q", out)
	}
	if out := ok(t, dir, "channel", "list", "acme"); !strings.Contains(out, "has no channels") {
		t.Errorf("after remove:\n%s", out)
	}
}
