package main

import (
	"strings"
	"testing"
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

	ok(t, dir, "channel", "remove", "acme", "tg-support")
	if out := ok(t, dir, "channel", "list", "acme"); !strings.Contains(out, "has no channels") {
		t.Errorf("after remove:\n%s", out)
	}
}
