package channels_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
)

// Quick replies reach each provider in the shape its documentation gives
// (the fakes refuse any other); WhatsApp sends the text alone. Quick
// replies that break a rule are refused before anything is sent.
func TestQuickReplies(t *testing.T) {
	answers := []string{"1", "2", "3", "4", "5"}
	for _, typ := range channels.Types() {
		t.Run(string(typ), func(t *testing.T) {
			f := channelstest.New(t, typ)
			p := f.Provider()
			to := customer[typ]
			send(t, p, channels.Message{To: to, Text: "How was this chat?", QuickReplies: answers})
			sent := f.Sent()
			want := answers
			if typ == channels.WhatsApp {
				want = nil
			}
			if len(sent) != 1 || !slices.Equal(channelstest.QuickReplies(typ, sent[0]), want) {
				t.Fatalf("sent %d, offering %q; want %q", len(sent), channelstest.QuickReplies(typ, sent[0]), want)
			}
			send(t, p, channels.Message{To: to, Text: "Thanks"})
			if got := channelstest.QuickReplies(typ, f.Sent()[1]); got != nil {
				t.Errorf("a plain message offers %q", got)
			}
			for _, bad := range []channels.Message{
				{To: to, Text: "x", QuickReplies: strings.Split(strings.Repeat("a,", channels.MaxQuickReplies)+"b", ",")},
				{To: to, Text: "x", QuickReplies: []string{""}},
				{To: to, Text: "x", QuickReplies: []string{strings.Repeat("é", channels.QuickReplyMax+1)}},
				{To: to, Text: "x", QuickReplies: []string{"1"}, File: &channels.File{URL: "https://files.example/a.pdf", MIME: "application/pdf"}},
			} {
				if _, err := p.Send(context.Background(), bad); channels.AsFailure(err) == nil {
					t.Errorf("%d quick replies %.30q…: %v", len(bad.QuickReplies), bad.QuickReplies, err)
				}
			}
			if n := len(f.Requests()); n != 2 {
				t.Errorf("%d requests: refused messages reached the provider", n)
			}
		})
	}
}

// The fakes answer malformed quick replies with the provider's 400, and
// well-formed ones with a delivery.
func TestFakesRefuseMalformedQuickReplies(t *testing.T) {
	for typ, bodies := range map[channels.Type][2]string{
		channels.Telegram: {`{"chat_id":1,"text":"x","reply_markup":{"keyboard":[[{"text":"1"}]]}}`,
			`{"chat_id":1,"text":"x","reply_markup":{"keyboard":[[{"text":""}]]}}`},
		channels.LINE: {`{"to":"U1","messages":[{"type":"text","text":"x","quickReply":{"items":[{"type":"action","action":{"type":"message","label":"1","text":"1"}}]}}]}`,
			`{"to":"U1","messages":[{"type":"text","text":"x","quickReply":{"items":[{"type":"action","action":{"type":"message","label":"` + strings.Repeat("x", 21) + `","text":"x"}}]}}]}`},
		channels.Messenger: {`{"recipient":{"id":"1"},"message":{"text":"x","quick_replies":[{"content_type":"text","title":"1","payload":"1"}]}}`,
			`{"recipient":{"id":"1"},"message":{"text":"x","quick_replies":[{"content_type":"text","title":"1"}]}}`},
	} {
		f := channelstest.New(t, typ)
		url := map[channels.Type]string{
			channels.Telegram:  f.URL + "/bot" + f.Secrets.BotToken + "/sendMessage",
			channels.LINE:      f.URL + "/v2/bot/message/push",
			channels.Messenger: f.URL + "/me/messages",
		}[typ]
		for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
			req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(bodies[i])))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.Secrets.AccessToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("%s: status %d, want %d for %s", typ, res.StatusCode, want, bodies[i])
			}
		}
		if n := len(f.Sent()); n != 1 {
			t.Errorf("%s: %d delivered, want the well-formed one", typ, n)
		}
	}
}
