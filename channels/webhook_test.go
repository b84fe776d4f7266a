package channels_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "channels", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var received = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// provider builds a Provider of typ with fixed secrets and clock, no fake.
func provider(t testing.TB, typ channels.Type) (channels.Provider, channels.Secrets) {
	t.Helper()
	s := channels.Secrets{
		BotToken: "123456:AAbbCCdd", SecretToken: "tg-secret_1", AccessToken: "access-token-1",
		AppSecret: "app-secret-1", VerifyToken: "verify-1", ChannelSecret: "line-secret-1",
	}
	p, err := channels.New(channels.Config{Type: typ, Secrets: s, PhoneNumberID: "106540352242922", Now: func() time.Time { return received }})
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func TestWebhookVerification(t *testing.T) {
	bodies := map[channels.Type][]byte{
		channels.Telegram: load(t, "telegram_text.json"), channels.WhatsApp: load(t, "whatsapp_text.json"),
		channels.LINE: load(t, "line_text.json"), channels.Messenger: load(t, "messenger_text.json"),
		channels.Instagram: load(t, "instagram_text.json"),
	}
	for _, typ := range channels.Types() {
		t.Run(string(typ), func(t *testing.T) {
			p, s := provider(t, typ)
			body := bodies[typ]
			good := channelstest.Sign(typ, s, body)
			if ev, err := p.Webhook(good, body); err != nil || len(ev) != 1 {
				t.Fatalf("signed webhook: %d events, %v", len(ev), err)
			}
			other := s
			other.SecretToken, other.AppSecret, other.ChannelSecret = "wrong", "wrong", "wrong"
			tampered := append(bytes.Clone(body[:len(body)-2]), ' ', '}')
			cases := map[string]http.Header{
				"missing":      {},
				"wrong secret": channelstest.Sign(typ, other, body),
				"garbage":      garbage(good),
			}
			if typ != channels.Telegram { // Telegram's secret header does not cover the body
				cases["other body"] = channelstest.Sign(typ, s, tampered)
			}
			for name, h := range cases {
				if _, err := p.Webhook(h, body); !errors.Is(err, channels.ErrUnauthorized) || channels.WebhookStatus(err) != 401 {
					t.Errorf("%s: %v, want 401 ErrUnauthorized", name, err)
				}
			}
			// Nothing is parsed before verification: a body that is not
			// even JSON fails verification, not parsing.
			if _, err := p.Webhook(http.Header{}, []byte("{not json")); !errors.Is(err, channels.ErrUnauthorized) {
				t.Errorf("unsigned junk: %v", err)
			}
			junk := []byte("{not json")
			if _, err := p.Webhook(channelstest.Sign(typ, s, junk), junk); channels.WebhookStatus(err) != 400 {
				t.Errorf("signed junk: %v, want 400", err)
			}
		})
	}
}

// garbage keeps the header names but replaces their values with a value of
// the right length whose last character differs.
func garbage(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if k == "Content-Type" {
			continue
		}
		b := []byte(v[0])
		b[len(b)-2] ^= 1
		out.Set(k, string(b))
	}
	return out
}

func TestWebhookTooLarge(t *testing.T) {
	p, s := provider(t, channels.LINE)
	body := []byte(`{"events":[]}` + strings.Repeat(" ", channels.MaxWebhookBody))
	if _, err := p.Webhook(channelstest.Sign(channels.LINE, s, body), body); channels.WebhookStatus(err) != 413 {
		t.Fatalf("%v, want 413", err)
	}
}

func TestWebhookTooManyEvents(t *testing.T) {
	p, s := provider(t, channels.LINE)
	ev := `{"type":"unfollow","mode":"active","timestamp":1,"source":{"type":"user","userId":"U1"},"webhookEventId":"x","deliveryContext":{"isRedelivery":false}},`
	body := []byte(`{"events":[` + strings.TrimSuffix(strings.Repeat(ev, channels.MaxEvents+1), ",") + `]}`)
	if _, err := p.Webhook(channelstest.Sign(channels.LINE, s, body), body); !errors.Is(err, channels.ErrBadPayload) {
		t.Fatalf("%v, want ErrBadPayload", err)
	}
}

func TestHandshake(t *testing.T) {
	for _, typ := range []channels.Type{channels.WhatsApp, channels.Messenger, channels.Instagram} {
		p, s := provider(t, typ)
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {s.VerifyToken}, "hub.challenge": {"1158201444"}}
		if ch, err := p.Handshake(q); err != nil || ch != "1158201444" {
			t.Errorf("%s: %q %v", typ, ch, err)
		}
		q.Set("hub.verify_token", "nope")
		if _, err := p.Handshake(q); channels.WebhookStatus(err) != 403 {
			t.Errorf("%s wrong token: %v, want 403", typ, err)
		}
		q.Set("hub.verify_token", s.VerifyToken)
		q.Set("hub.mode", "unsubscribe")
		if _, err := p.Handshake(q); channels.WebhookStatus(err) != 403 {
			t.Errorf("%s wrong mode: %v, want 403", typ, err)
		}
	}
	for _, typ := range []channels.Type{channels.Telegram, channels.LINE} {
		p, _ := provider(t, typ)
		if _, err := p.Handshake(url.Values{}); channels.WebhookStatus(err) != 405 {
			t.Errorf("%s: %v, want 405", typ, err)
		}
	}
}

func parse(t *testing.T, typ channels.Type, file string) []channels.Event {
	t.Helper()
	p, s := provider(t, typ)
	body := load(t, file)
	ev, err := p.Webhook(channelstest.Sign(typ, s, body), body)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev
}

func one(t *testing.T, typ channels.Type, file string) channels.Event {
	t.Helper()
	ev := parse(t, typ, file)
	if len(ev) != 1 {
		t.Fatalf("%s: %d events, want 1: %+v", file, len(ev), ev)
	}
	if !ev[0].ReceivedAt.Equal(received) {
		t.Errorf("%s: ReceivedAt %v", file, ev[0].ReceivedAt)
	}
	return ev[0]
}

func check(t *testing.T, name string, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", name, got, want)
	}
}

func TestParseTelegram(t *testing.T) {
	e := one(t, channels.Telegram, "telegram_text.json")
	check(t, "kind", e.Kind, channels.EventMessage)
	check(t, "user", e.UserID, "582937461")
	check(t, "name", e.Name, "Ana Souza")
	check(t, "id", e.MessageID, "582937461:4021")
	check(t, "text", e.Text, "Hi, my order #1182 has not arrived yet")
	check(t, "time", e.Time, time.Unix(1750016800, 0).UTC())

	e = one(t, channels.Telegram, "telegram_photo.json")
	check(t, "caption", e.Text, "The box was damaged")
	if len(e.Attachments) != 1 {
		t.Fatalf("photo attachments %+v", e.Attachments)
	}
	check(t, "largest photo", e.Attachments[0].ID, "AgACAgIAAxkBAAIBZ2Zx-large")
	check(t, "photo kind", e.Attachments[0].Kind, "image")

	e = one(t, channels.Telegram, "telegram_document.json")
	a := e.Attachments[0]
	check(t, "doc", a, channels.Attachment{Kind: "file", ID: "BQACAgIAAxkBAAIBaGZx1", MIME: "application/pdf", Name: "invoice-1182.pdf", Size: 48213})

	for _, f := range []string{"telegram_edited.json", "telegram_group.json"} {
		if ev := parse(t, channels.Telegram, f); len(ev) != 0 {
			t.Errorf("%s: %+v, want skipped", f, ev)
		}
	}
}

func TestParseWhatsApp(t *testing.T) {
	e := one(t, channels.WhatsApp, "whatsapp_text.json")
	check(t, "user", e.UserID, "16505551234")
	check(t, "phone", e.Phone, "16505551234")
	check(t, "name", e.Name, "Sheena Nelson")
	check(t, "id", e.MessageID, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
	check(t, "text", e.Text, "Does it come in another color?")
	check(t, "time", e.Time, time.Unix(1749416383, 0).UTC())

	e = one(t, channels.WhatsApp, "whatsapp_image.json")
	check(t, "caption", e.Text, "Taj Mahal")
	check(t, "image", e.Attachments[0], channels.Attachment{Kind: "image", ID: "1003383421387256", MIME: "image/jpeg"})

	e = one(t, channels.WhatsApp, "whatsapp_document.json")
	check(t, "document", e.Attachments[0], channels.Attachment{Kind: "file", ID: "1003383421387257", MIME: "application/pdf", Name: "receipt.pdf"})

	e = one(t, channels.WhatsApp, "whatsapp_status_failed.json")
	check(t, "kind", e.Kind, channels.EventStatus)
	check(t, "state", e.Status.State, "failed")
	check(t, "message", e.Status.MessageID, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA")
	f := e.Status.Failure
	if f == nil || f.Kind != channels.OutsideWindow || f.Code != 131047 || !strings.Contains(f.Text, "24 hours") {
		t.Errorf("failure %+v", f)
	}

	d := one(t, channels.WhatsApp, "whatsapp_status_delivered.json")
	check(t, "delivered", d.Status.State, "delivered")
	if d.Status.Failure != nil || d.MessageID == e.MessageID {
		t.Errorf("delivered status %+v: dedupe key must differ from the failed one", d)
	}

	if ev := parse(t, channels.WhatsApp, "whatsapp_reaction.json"); len(ev) != 0 {
		t.Errorf("reaction: %+v, want skipped", ev)
	}
}

func TestParseWhatsAppOtherNumber(t *testing.T) {
	p, s := provider(t, channels.WhatsApp)
	body := bytes.ReplaceAll(load(t, "whatsapp_text.json"), []byte("106540352242922"), []byte("999"))
	ev, err := p.Webhook(channelstest.Sign(channels.WhatsApp, s, body), body)
	if err != nil || len(ev) != 0 {
		t.Fatalf("another phone number's message: %+v %v", ev, err)
	}
}

func TestParseLINE(t *testing.T) {
	e := one(t, channels.LINE, "line_text.json")
	check(t, "user", e.UserID, "U4af4980629a1b2c3d4e5f60718293a4b")
	check(t, "id", e.MessageID, "444573844083572737")
	check(t, "text", e.Text, "Hello, is the shop open today?")
	check(t, "reply token", e.ReplyToken, "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA")
	check(t, "time", e.Time, time.UnixMilli(1462629479859).UTC())

	e = one(t, channels.LINE, "line_image.json")
	check(t, "image", e.Attachments[0], channels.Attachment{Kind: "image", ID: "354718705033693859"})

	e = one(t, channels.LINE, "line_file.json")
	check(t, "file", e.Attachments[0], channels.Attachment{Kind: "file", ID: "325708", Name: "file.txt", Size: 2138})

	e = one(t, channels.LINE, "line_follow.json")
	check(t, "follow", e.Kind, channels.EventFollow)
	check(t, "follow id", e.MessageID, "01HMQGW40RZJPJM3RAJP7BHC2Q")
	check(t, "follow token", e.ReplyToken, "85cbe770fa8b4f45bbe077b1d4be4a36")

	e = one(t, channels.LINE, "line_unfollow.json")
	check(t, "unfollow", e.Kind, channels.EventUnfollow)
	check(t, "unfollow user", e.UserID, "U3d3edab4f36c6292e6d8a8131f141b8b")

	for _, f := range []string{"line_group_and_unknown.json", "line_verify.json"} {
		if ev := parse(t, channels.LINE, f); len(ev) != 0 {
			t.Errorf("%s: %+v, want none", f, ev)
		}
	}
}

func TestParseMeta(t *testing.T) {
	e := one(t, channels.Messenger, "messenger_text.json")
	check(t, "user", e.UserID, "1254477777772919")
	check(t, "id", e.MessageID, "mid.1457764197618:41d102a3e1ae206a38")
	check(t, "text", e.Text, "hello, world!")
	check(t, "time", e.Time, time.UnixMilli(1458692752478).UTC())

	e = one(t, channels.Messenger, "messenger_image.json")
	a := e.Attachments[0]
	check(t, "kind", a.Kind, "image")
	check(t, "url", a.URL, "https://scontent.xx.fbcdn.net/v/t1.15752-9/123_n.jpg?_nc_cat=1&oh=abc&oe=5F00")

	if ev := parse(t, channels.Messenger, "messenger_echo_and_read.json"); len(ev) != 0 {
		t.Errorf("echo and read: %+v, want skipped", ev)
	}

	e = one(t, channels.Instagram, "instagram_text.json")
	check(t, "ig user", e.UserID, "1944391452323945")
	check(t, "ig text", e.Text, "Is this jacket still available?")
	e = one(t, channels.Instagram, "instagram_image.json")
	check(t, "ig image", e.Attachments[0].Kind, "image")

	// A page payload is not an Instagram one, and the other way round.
	if ev := parse(t, channels.Instagram, "messenger_text.json"); len(ev) != 0 {
		t.Errorf("page object on instagram: %+v", ev)
	}
}
