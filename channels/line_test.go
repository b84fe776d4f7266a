package channels_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

// lineAt is a LINE provider on the fake whose clock reads now().
func lineAt(f *channelstest.Fake, now func() time.Time) channels.Provider {
	cfg := f.Config()
	cfg.Now = now
	p, err := channels.New(cfg)
	if err != nil {
		panic(err)
	}
	return p
}

// inbound is a customer's text through the webhook: the event with its
// reply token.
func inbound(t *testing.T, f *channelstest.Fake, p channels.Provider) channels.Event {
	t.Helper()
	body := f.TextMessage(customer[channels.LINE], "", "is the shop open?")
	ev, err := p.Webhook(f.Sign(body), body)
	if err != nil || len(ev) != 1 {
		t.Fatalf("%+v %v", ev, err)
	}
	return ev[0]
}

func TestLINEReplyThenPush(t *testing.T) {
	f := channelstest.New(t, channels.LINE)
	now := time.Now()
	p := lineAt(f, func() time.Time { return now })
	e := inbound(t, f, p)
	msg := func(text, id string) channels.Message {
		return channels.Message{To: e.UserID, Text: text, SendID: id, ReplyToken: e.ReplyToken, ReplyTokenAt: e.ReceivedAt}
	}

	r := send(t, p, msg("Yes, until 8 pm.", "out-1"))
	if !r.Replied || r.MessageID == "" {
		t.Fatalf("fresh token: %+v, want a reply", r)
	}
	// The token is spent: LINE refuses it, the message is pushed.
	r = send(t, p, msg("Anything else?", "out-2"))
	if r.Replied {
		t.Fatalf("spent token: %+v, want a push", r)
	}
	// A stale token is not even tried.
	e = inbound(t, f, p)
	now = now.Add(channels.ReplyTokenTTL)
	r = send(t, p, msg("Sorry for the wait.", "out-3"))
	if r.Replied {
		t.Fatalf("stale token: %+v", r)
	}

	var eps []string
	for _, q := range f.Requests() {
		eps = append(eps, q.Endpoint)
	}
	check(t, "calls", strings.Join(eps, " "), "reply reply push push")
	sent := f.Sent()
	check(t, "delivered", len(sent), 3)
	check(t, "reply has no retry key", sent[0].Header.Get("X-Line-Retry-Key"), "")
	if k := sent[1].Header.Get("X-Line-Retry-Key"); len(k) != 36 {
		t.Errorf("push retry key %q", k)
	}
	check(t, "push to", sent[2].JSON["to"], e.UserID)
}

func TestLINERetryKeyMakesRetriesSafe(t *testing.T) {
	f := channelstest.New(t, channels.LINE)
	p := f.Provider()
	ctx := context.Background()
	m := channels.Message{To: customer[channels.LINE], Text: "Your refund is on its way", SendID: "outbound-7"}

	// Delivered, but the answer is lost.
	f.FailNext(1, channelstest.Fault{Kind: channels.Temporary, Delivered: true})
	_, err := p.Send(ctx, m)
	if fl := channels.AsFailure(err); fl == nil || !fl.Retryable() {
		t.Fatalf("lost answer: %v", err)
	}
	r, err := p.Send(ctx, m)
	if err != nil || !r.Duplicate {
		t.Fatalf("retry: %+v %v, want the 409 taken as success", r, err)
	}
	sent := f.Sent()
	if len(sent) != 1 || r.MessageID != sent[0].MessageID {
		t.Fatalf("delivered %d times; result id %q", len(sent), r.MessageID)
	}
	reqs := f.Requests()
	if reqs[0].Header.Get("X-Line-Retry-Key") != reqs[1].Header.Get("X-Line-Retry-Key") || reqs[1].Status != 409 {
		t.Errorf("the retry must carry the same key and get 409: %+v", reqs)
	}

	// Another agent message has another key and is delivered.
	m.SendID = "outbound-8"
	if r := send(t, p, m); r.Duplicate {
		t.Errorf("new message taken as duplicate")
	}
}

func TestLINEBlockedUser(t *testing.T) {
	f := channelstest.New(t, channels.LINE)
	p := f.Provider()
	u := customer[channels.LINE]
	f.Block(u)
	// LINE answers a push to a user who blocked the account with 200.
	if _, err := p.Send(context.Background(), channels.Message{To: u, Text: "hello?"}); err != nil {
		t.Fatal(err)
	}
	if len(f.Sent()) != 0 {
		t.Error("delivered to a user who blocked")
	}
	// The block itself comes as an unfollow event; a later follow with
	// isUnblocked lifts it.
	for _, c := range []struct {
		body []byte
		kind channels.EventKind
	}{{f.Unfollow(u), channels.EventUnfollow}, {f.Follow(u, true), channels.EventFollow}} {
		ev, err := p.Webhook(f.Sign(c.body), c.body)
		if err != nil || len(ev) != 1 || ev[0].Kind != c.kind || ev[0].UserID != u {
			t.Errorf("%s: %+v %v", c.kind, ev, err)
		}
	}
}

func TestLINESendKinds(t *testing.T) {
	f := channelstest.New(t, channels.LINE)
	p := f.Provider()
	ctx := context.Background()
	to := customer[channels.LINE]
	send(t, p, channels.Message{To: to, Text: "the map", File: &channels.File{URL: "https://files.example/u/1/map.jpg", MIME: "image/jpeg", PreviewURL: "https://files.example/u/1/map-small.jpg"}})
	send(t, p, channels.Message{To: to, Text: "the form", File: &channels.File{URL: "https://files.example/u/2/form.pdf", MIME: "application/pdf", Name: "form.pdf"}})
	if err := p.Typing(ctx, to); err != nil {
		t.Fatal(err)
	}
	sent := f.Sent()
	img := sent[0].JSON["messages"].([]any)
	check(t, "image then caption", len(img), 2)
	first := img[0].(map[string]any)
	check(t, "image", first["type"], "image")
	check(t, "original", first["originalContentUrl"], "https://files.example/u/1/map.jpg")
	check(t, "preview", first["previewImageUrl"], "https://files.example/u/1/map-small.jpg")
	link := sent[1].JSON["messages"].([]any)[0].(map[string]any)
	check(t, "document as a link", link["text"], "the form\nform.pdf: https://files.example/u/2/form.pdf")
	reqs := f.Requests()
	loading := reqs[len(reqs)-1]
	check(t, "loading", loading.Endpoint, "loading")
	check(t, "chat", loading.JSON["chatId"], to)
	check(t, "seconds", loading.JSON["loadingSeconds"], float64(20))

	f.SetProfile(to, "Kenji Sato")
	if prof, err := p.Profile(ctx, to); err != nil || prof.Name != "Kenji Sato" {
		t.Errorf("profile %+v %v", prof, err)
	}
	if acct, err := p.Check(ctx); err != nil || acct.ID == "" {
		t.Errorf("check %+v %v", acct, err)
	}
	if _, err := p.Send(ctx, channels.Message{To: to, Template: &channels.Template{Name: "t", Language: "ja"}}); channels.AsFailure(err) == nil {
		t.Errorf("template on LINE: %v", err)
	}
}
