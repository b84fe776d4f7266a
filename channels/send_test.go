package channels_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

// customer is a user id of the right shape for each type.
var customer = map[channels.Type]string{
	channels.Telegram: "582937461", channels.WhatsApp: "16505551234", channels.LINE: "U4af4980629a1b2c3d4e5f60718293a4b",
	channels.Messenger: "1254477777772919", channels.Instagram: "1944391452323945",
}

// noSecrets fails when any secret of s appears in text.
func noSecrets(t *testing.T, s channels.Secrets, text string) {
	t.Helper()
	for _, v := range []string{s.BotToken, s.SecretToken, s.AccessToken, s.AppSecret, s.VerifyToken, s.ChannelSecret} {
		if v != "" && strings.Contains(text, v) {
			t.Errorf("secret %q… appears in %q", v[:3], text)
		}
	}
}

func send(t *testing.T, p channels.Provider, m channels.Message) channels.Result {
	t.Helper()
	r, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("send %+v: %v", m, err)
	}
	return r
}

func TestSendFailures(t *testing.T) {
	type tc struct {
		typ        channels.Type
		fault      channelstest.Fault
		kind       channels.Kind
		code       int
		retryAfter time.Duration
	}
	var cases []tc
	for _, typ := range channels.Types() {
		cases = append(cases,
			tc{typ, channelstest.Fault{Kind: channels.TokenExpired}, channels.TokenExpired, 0, 0},
			tc{typ, channelstest.Fault{Kind: channels.Temporary}, channels.Temporary, 0, 0},
			tc{typ, channelstest.Fault{Kind: channels.ProviderError}, channels.ProviderError, 0, 0},
			tc{typ, channelstest.Fault{Kind: channels.RateLimited, RetryAfter: 5}, channels.RateLimited, 0, 5 * time.Second},
			tc{typ, channelstest.Fault{Hangup: true}, channels.Temporary, 0, 0},
		)
	}
	cases = append(cases,
		tc{channels.Telegram, channelstest.Fault{Kind: channels.CustomerBlocked}, channels.CustomerBlocked, 403, 0},
		tc{channels.Telegram, channelstest.Fault{Kind: channels.TokenExpired}, channels.TokenExpired, 401, 0},
		tc{channels.Telegram, channelstest.Fault{Kind: channels.RateLimited, RetryAfter: 7}, channels.RateLimited, 429, 7 * time.Second},
		tc{channels.WhatsApp, channelstest.Fault{Kind: channels.OutsideWindow}, channels.OutsideWindow, 131047, 0},
		tc{channels.WhatsApp, channelstest.Fault{Kind: channels.TokenExpired}, channels.TokenExpired, 190, 0},
		tc{channels.WhatsApp, channelstest.Fault{Kind: channels.RateLimited}, channels.RateLimited, 130429, 0},
		tc{channels.Messenger, channelstest.Fault{Kind: channels.OutsideWindow}, channels.OutsideWindow, 10, 0},
		tc{channels.Messenger, channelstest.Fault{Kind: channels.CustomerBlocked}, channels.CustomerBlocked, 551, 0},
		tc{channels.Messenger, channelstest.Fault{Kind: channels.TokenExpired}, channels.TokenExpired, 190, 0},
		tc{channels.Messenger, channelstest.Fault{Kind: channels.Temporary}, channels.Temporary, 1200, 0},
		tc{channels.Instagram, channelstest.Fault{Kind: channels.OutsideWindow}, channels.OutsideWindow, 10, 0},
		tc{channels.Instagram, channelstest.Fault{Kind: channels.CustomerBlocked}, channels.CustomerBlocked, 551, 0},
		tc{channels.LINE, channelstest.Fault{Kind: channels.RateLimited}, channels.RateLimited, 0, 0},
	)
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/%d/hangup=%v", c.typ, c.fault.Kind, c.code, c.fault.Hangup)
		t.Run(name, func(t *testing.T) {
			f := channelstest.New(t, c.typ)
			p := f.Provider()
			f.FailNext(1, c.fault)
			m := channels.Message{To: customer[c.typ], Text: "Your parcel left today", SendID: "out-1"}
			_, err := p.Send(context.Background(), m)
			fl := channels.AsFailure(err)
			if fl == nil {
				t.Fatalf("error %v is not a *Failure", err)
			}
			if fl.Kind != c.kind || (c.code != 0 && fl.Code != c.code) || fl.RetryAfter != c.retryAfter || fl.Provider != c.typ {
				t.Errorf("got %+v, want kind %s code %d retry after %s", fl, c.kind, c.code, c.retryAfter)
			}
			if fl.Retryable() != (c.kind == channels.Temporary || c.kind == channels.RateLimited) {
				t.Errorf("Retryable %v for %s", fl.Retryable(), fl.Kind)
			}
			noSecrets(t, f.Secrets, err.Error())
			noSecrets(t, f.Secrets, fmt.Sprintf("%+v %#v", fl, fl))
			if len(f.Sent()) != 0 {
				t.Errorf("a failed send was delivered: %+v", f.Sent())
			}
			if _, err := p.Send(context.Background(), m); err != nil {
				t.Errorf("the next send: %v", err)
			}
		})
	}
}

func TestUnsupportedFaultsRefused(t *testing.T) {
	for _, c := range []struct {
		typ  channels.Type
		kind channels.Kind
	}{{channels.Telegram, channels.OutsideWindow}, {channels.WhatsApp, channels.CustomerBlocked}, {channels.LINE, channels.CustomerBlocked}, {channels.LINE, channels.OutsideWindow}} {
		rec := &fatalRecorder{T: t}
		f := channelstest.New(rec, c.typ)
		func() {
			defer func() { _ = recover() }()
			f.FailNext(1, channelstest.Fault{Kind: c.kind})
		}()
		if !rec.failed {
			t.Errorf("%s accepted a %s fault it has no documented error for", c.typ, c.kind)
		}
	}
}

// fatalRecorder notes a Fatalf and stops the caller with a panic.
type fatalRecorder struct {
	*testing.T
	failed bool
}

func (r *fatalRecorder) Fatalf(string, ...any) {
	r.failed = true
	panic("fatal")
}

func TestSecretsNeverPrint(t *testing.T) {
	f := channelstest.New(t, channels.Telegram)
	cfg := f.Config()
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("channel", "secrets", cfg.Secrets, "config", cfg)
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.Secrets.String(), logged.String()} {
		noSecrets(t, f.Secrets, text)
	}

	// net/http quotes the request URL, with the bot token in its path.
	p := f.Provider()
	f.Server.Close()
	_, err := p.Send(context.Background(), channels.Message{To: "1", Text: "hi"})
	fl := channels.AsFailure(err)
	if fl == nil || fl.Kind != channels.Temporary || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("closed server: %v", err)
	}
	noSecrets(t, f.Secrets, err.Error())
	if u := fl.Unwrap(); u != nil {
		t.Errorf("Unwrap gives %v", u)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = channelstest.New(t, channels.Telegram).Provider().Send(ctx, channels.Message{To: "1", Text: "hi"})
	if fl := channels.AsFailure(err); fl == nil || fl.Unwrap() != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

func TestTelegramSend(t *testing.T) {
	f := channelstest.New(t, channels.Telegram)
	p := f.Provider()
	ctx := context.Background()
	to := customer[channels.Telegram]
	r := send(t, p, channels.Message{To: to, Text: "Hello Ana"})
	photo := send(t, p, channels.Message{To: to, Text: "label", File: &channels.File{URL: "https://files.example/u/1/label.png", MIME: "image/png", Name: "label.png"}})
	send(t, p, channels.Message{To: to, File: &channels.File{URL: "https://files.example/u/2/a.pdf", MIME: "application/pdf", Name: "a.pdf"}})

	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
		_, _ = io.WriteString(w, "docx bytes")
	}))
	defer store.Close()
	send(t, p, channels.Message{To: to, Text: "the form", File: &channels.File{URL: store.URL + "/u/3/form.docx", Name: "form.docx", MIME: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}})
	if err := p.Typing(ctx, to); err != nil {
		t.Fatal(err)
	}
	if r.MessageID == "" || photo.MessageID == r.MessageID {
		t.Errorf("message ids %q %q", r.MessageID, photo.MessageID)
	}

	sent := f.Sent()
	if len(sent) != 4 {
		t.Fatalf("sent %d", len(sent))
	}
	check(t, "method", sent[0].Endpoint, "sendMessage")
	check(t, "chat_id", sent[0].JSON["chat_id"], float64(582937461))
	check(t, "text", sent[0].JSON["text"], "Hello Ana")
	check(t, "photo", sent[1].JSON["photo"], "https://files.example/u/1/label.png")
	check(t, "caption", sent[1].JSON["caption"], "label")
	check(t, "pdf by url", sent[2].Endpoint+" "+fmt.Sprint(sent[2].JSON["document"]), "sendDocument https://files.example/u/2/a.pdf")
	check(t, "upload", sent[3].Form["document"], "docx bytes")
	check(t, "upload name", sent[3].Form["document.filename"], "form.docx")
	check(t, "upload caption", sent[3].Form["caption"], "the form")
	reqs := f.Requests()
	last := reqs[len(reqs)-1]
	check(t, "typing", last.Endpoint+" "+fmt.Sprint(last.JSON["action"]), "sendChatAction typing")
	if strings.Contains(last.Path, f.Secrets.BotToken) || !strings.Contains(last.Path, "{token}") {
		t.Errorf("recorded path %q", last.Path)
	}

	if _, err := p.Send(ctx, channels.Message{To: to, Template: &channels.Template{Name: "x", Language: "en"}}); channels.AsFailure(err) == nil {
		t.Errorf("template on telegram: %v", err)
	}
	acct, err := p.Check(ctx)
	if err != nil || acct.Name != "@helpdesk_bot" {
		t.Errorf("check %+v %v", acct, err)
	}
}

// fetch reads a customer's file through the webhook and Fetch.
func fetch(t *testing.T, f *channelstest.Fake, data []byte, mimeType, name string) *channels.Media {
	t.Helper()
	p := f.Provider()
	body := f.FileMessage(customer[f.Type], "Ana Souza", f.AddFile(data, mimeType, name), "")
	ev, err := p.Webhook(f.Sign(body), body)
	if err != nil || len(ev) != 1 || len(ev[0].Attachments) != 1 {
		t.Fatalf("file webhook: %+v %v", ev, err)
	}
	m, err := p.Fetch(context.Background(), ev[0].Attachments[0], 1<<20)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	got, err := io.ReadAll(m.Body)
	m.Body.Close()
	if err != nil || string(got) != string(data) {
		t.Fatalf("fetched %q %v", got, err)
	}
	return m
}

func TestFetch(t *testing.T) {
	for _, typ := range channels.Types() {
		t.Run(string(typ), func(t *testing.T) {
			f := channelstest.New(t, typ)
			m := fetch(t, f, []byte("%PDF-1.7 receipt"), "application/pdf", "receipt.pdf")
			check(t, "mime", m.MIME, "application/pdf")
			if typ != channels.Messenger && typ != channels.Instagram {
				check(t, "name", m.Name, "receipt.pdf")
			}
			for _, r := range f.Requests() {
				auth := r.Header.Get("Authorization") != ""
				switch {
				case r.Endpoint != "file" && r.Endpoint != "content":
				case typ == channels.Messenger || typ == channels.Instagram:
					if auth {
						t.Errorf("token sent to the CDN")
					}
				case typ == channels.WhatsApp || typ == channels.LINE:
					if !auth {
						t.Errorf("%s download without the access token", r.Endpoint)
					}
				}
			}
		})
	}
}

func TestFetchLimit(t *testing.T) {
	f := channelstest.New(t, channels.LINE)
	p := f.Provider()
	a := f.AddFile(make([]byte, 5000), "image/jpeg", "")
	if _, err := p.Fetch(context.Background(), a, 1000); channels.AsFailure(err) == nil {
		t.Fatalf("over the limit by Content-Length: %v", err)
	}
	m, err := p.Fetch(context.Background(), a, 6000)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Body.Close()
	if b, err := io.ReadAll(m.Body); err != nil || len(b) != 5000 {
		t.Errorf("read %d %v", len(b), err)
	}
}
