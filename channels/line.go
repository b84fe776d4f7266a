package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// line speaks the LINE Messaging API (developers.line.biz/en/reference/
// messaging-api; the OpenAPI files of github.com/line/line-openapi).
type line struct {
	*client
	dataURL string // api-data.line.me: message content
}

const lineSignatureHeader = "X-Line-Signature"

// ReplyTokenTTL is how long after its webhook arrived a LINE reply token is
// still used. LINE documents the token as single-use and valid "for a
// certain period of time" it does not state; its reference once said to
// use it within one minute of receiving the webhook, and measurements have
// seen tokens refused after about 30 seconds. 50 s keeps a margin below
// the minute; a token LINE refuses anyway ("Invalid reply token") costs one
// request, because the message is then pushed.
const ReplyTokenTTL = 50 * time.Second

// UseReplyToken says whether a LINE message should go as a reply with the
// token received at receivedAt (free, no retry key) rather than as a push
// (counted against the monthly quota, safe to retry with X-Line-Retry-Key).
func UseReplyToken(token string, receivedAt, now time.Time) bool {
	if token == "" || receivedAt.IsZero() {
		return false
	}
	age := now.Sub(receivedAt)
	return age >= -time.Second && age < ReplyTokenTTL
}

func (l *line) Handshake(url.Values) (string, error) { return "", errors.ErrUnsupported }

// Webhook checks x-line-signature (base64 HMAC-SHA256 of the body keyed
// with the channel secret), then reads the events.
func (l *line) Webhook(h http.Header, body []byte) ([]Event, error) {
	got, err := base64.StdEncoding.DecodeString(h.Get(lineSignatureHeader))
	if err != nil || len(got) != sha256.Size || l.secrets.ChannelSecret == "" {
		return nil, ErrUnauthorized
	}
	mac := hmac.New(sha256.New, []byte(l.secrets.ChannelSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, ErrUnauthorized
	}
	if len(body) > MaxWebhookBody {
		return nil, ErrTooLarge
	}
	return parseLINE(body, l.now())
}

type lineEvent struct {
	Type           string `json:"type"`
	Timestamp      int64  `json:"timestamp"`
	WebhookEventID string `json:"webhookEventId"`
	ReplyToken     string `json:"replyToken"`
	Source         struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	} `json:"source"`
	Message *struct {
		ID              string  `json:"id"`
		Type            string  `json:"type"`
		Text            string  `json:"text"`
		FileName        string  `json:"fileName"`
		FileSize        int64   `json:"fileSize"`
		Title           string  `json:"title"`
		Address         string  `json:"address"`
		Latitude        float64 `json:"latitude"`
		Longitude       float64 `json:"longitude"`
		ContentProvider *struct {
			Type               string `json:"type"`
			OriginalContentURL string `json:"originalContentUrl"`
		} `json:"contentProvider"`
	} `json:"message"`
}

// parseLINE reads message, follow and unfollow events from users (not
// group chats); other events are skipped. An empty events array is LINE's
// check that the webhook URL works.
func parseLINE(body []byte, now time.Time) ([]Event, error) {
	var p struct {
		Events []lineEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, badPayload(err)
	}
	if len(p.Events) > MaxEvents {
		return nil, badPayload(fmt.Errorf("%d events, more than %d", len(p.Events), MaxEvents))
	}
	var out []Event
	for _, le := range p.Events {
		if le.Source.Type != "user" || le.Source.UserID == "" {
			continue
		}
		e := Event{
			UserID: clip(le.Source.UserID, 64), MessageID: clip(le.WebhookEventID, 64),
			Time: unixTime(le.Timestamp, true), ReceivedAt: now, ReplyToken: clip(le.ReplyToken, 256),
		}
		switch le.Type {
		case "follow":
			e.Kind = EventFollow
		case "unfollow":
			e.Kind = EventUnfollow
		case "message":
			if !lineMessage(&e, le) {
				continue
			}
		default:
			continue
		}
		if e.MessageID != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

func lineMessage(e *Event, le lineEvent) bool {
	m := le.Message
	if m == nil || m.ID == "" {
		return false
	}
	e.Kind, e.MessageID = EventMessage, clip(m.ID, 64)
	switch m.Type {
	case "text":
		e.Text = clip(m.Text, MaxText)
	case "image", "video", "audio", "file":
		kind := m.Type
		a := Attachment{Kind: kind, ID: e.MessageID, Name: cleanName(m.FileName), Size: max(m.FileSize, 0)}
		if cp := m.ContentProvider; cp != nil && cp.Type == "external" {
			a.URL = clip(cp.OriginalContentURL, 4096)
		}
		e.Attachments = []Attachment{a}
	case "sticker":
		e.Text = "[sticker]"
	case "location":
		e.Text = clip(strings.TrimSpace(fmt.Sprintf("Location: %s %s (%.6f, %.6f)", m.Title, m.Address, m.Latitude, m.Longitude)), MaxText)
	default:
		return false
	}
	return true
}

// lineAnswer is a successful send and the error body alike.
type lineAnswer struct {
	Message string `json:"message"`
	Details []struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	} `json:"details"`
	SentMessages []struct {
		ID string `json:"id"`
	} `json:"sentMessages"`
}

// lineFailure classifies an error answer: 401 token_expired; 429 is
// rate_limited, except the monthly message limit, which no retry soon
// fixes (provider_error); 5xx temporary; the rest provider_error.
func (l *line) lineFailure(a *answer) error {
	var r lineAnswer
	_ = json.Unmarshal(a.body, &r)
	text := r.Message
	for _, d := range r.Details {
		text += "; " + strings.TrimSpace(d.Property+" "+d.Message)
	}
	f := l.byStatus(a.status, a.header, text)
	if a.status == http.StatusTooManyRequests && strings.Contains(strings.ToLower(r.Message), "monthly limit") {
		f.Kind, f.RetryAfter = ProviderError, 0
	}
	return f
}

// lineMessages builds the message objects: a text, or an image message
// (JPEG or PNG, HTTPS URLs) followed by its caption. LINE has no document
// message for bots, so any other file is sent as a link in a text.
func lineMessages(m Message) []map[string]any {
	text := func(s string) map[string]any { return map[string]any{"type": "text", "text": s} }
	f := m.File
	switch {
	case f == nil:
		t := text(m.Text)
		if len(m.QuickReplies) > 0 {
			t["quickReply"] = lineQuickReply(m.QuickReplies)
		}
		return []map[string]any{t}
	case isPhoto(f.MIME):
		preview := f.PreviewURL
		if preview == "" {
			preview = f.URL
		}
		out := []map[string]any{{"type": "image", "originalContentUrl": f.URL, "previewImageUrl": preview}}
		if m.Text != "" {
			out = append(out, text(m.Text))
		}
		return out
	default:
		link := f.URL
		if name := cleanName(f.Name); name != "" {
			link = name + ": " + f.URL
		}
		return []map[string]any{text(strings.TrimSpace(m.Text + "\n" + link))}
	}
}

// lineQuickReply is a quickReply of message actions: a tap sends the
// label as the user's text (developers.line.biz, Messaging API, Quick reply).
func lineQuickReply(answers []string) map[string]any {
	items := make([]map[string]any, len(answers))
	for i, a := range answers {
		items[i] = map[string]any{"type": "action", "action": map[string]string{"type": "message", "label": a, "text": a}}
	}
	return map[string]any{"items": items}
}

// Send replies with the token while UseReplyToken says it is fresh, and
// pushes otherwise or when LINE refuses the token. A push carries
// X-Line-Retry-Key from SendID; 409 (already accepted) is success.
func (l *line) Send(ctx context.Context, m Message) (Result, error) {
	if err := checkMessage(l.client, m, false); err != nil {
		return Result{}, err
	}
	msgs := lineMessages(m)
	if UseReplyToken(m.ReplyToken, m.ReplyTokenAt, l.now()) {
		a, err := l.call(ctx, http.MethodPost, l.base+"/v2/bot/message/reply", map[string]any{"replyToken": m.ReplyToken, "messages": msgs}, true, nil)
		if err != nil {
			return Result{}, err
		}
		if a.ok() {
			return Result{MessageID: firstSent(a.body), Replied: true}, nil
		}
		if !refusedToken(a) {
			return Result{}, l.lineFailure(a)
		}
	}
	var hdr http.Header
	if m.SendID != "" {
		hdr = http.Header{"X-Line-Retry-Key": {retryKey(m.SendID)}}
	}
	a, err := l.call(ctx, http.MethodPost, l.base+"/v2/bot/message/push", map[string]any{"to": m.To, "messages": msgs}, true, hdr)
	if err != nil {
		return Result{}, err
	}
	switch {
	case a.ok():
		return Result{MessageID: firstSent(a.body)}, nil
	case a.status == http.StatusConflict && hdr != nil:
		return Result{MessageID: firstSent(a.body), Duplicate: true}, nil
	}
	return Result{}, l.lineFailure(a)
}

// refusedToken says whether a reply failed for its token alone (400
// "Invalid reply token"), so that pushing instead is safe.
func refusedToken(a *answer) bool {
	var r lineAnswer
	return a.status == http.StatusBadRequest && json.Unmarshal(a.body, &r) == nil &&
		strings.Contains(strings.ToLower(r.Message), "reply token")
}

func firstSent(body []byte) string {
	var r lineAnswer
	if json.Unmarshal(body, &r) == nil && len(r.SentMessages) > 0 {
		return r.SentMessages[0].ID
	}
	return ""
}

// Typing shows the loading animation for 20 seconds (or until the next
// message from the account).
func (l *line) Typing(ctx context.Context, to string) error {
	a, err := l.call(ctx, http.MethodPost, l.base+"/v2/bot/chat/loading/start", map[string]any{"chatId": to, "loadingSeconds": 20}, true, nil)
	if err != nil {
		return err
	}
	if !a.ok() {
		return l.lineFailure(a)
	}
	return nil
}

// get reads a JSON answer of the LINE API.
func (l *line) get(ctx context.Context, path string, out any) error {
	return l.getJSON(ctx, l.base+path, out, l.lineFailure)
}

// Profile reads the user's displayName.
func (l *line) Profile(ctx context.Context, userID string) (Profile, error) {
	var r struct {
		DisplayName string `json:"displayName"`
	}
	if err := l.get(ctx, "/v2/bot/profile/"+url.PathEscape(userID), &r); err != nil {
		return Profile{}, err
	}
	return Profile{Name: clip(r.DisplayName, 200)}, nil
}

// Fetch downloads /v2/bot/message/{id}/content from the data host, or the
// external URL the message named (without the token).
func (l *line) Fetch(ctx context.Context, a Attachment, max int64) (*Media, error) {
	u, bearer := a.URL, false
	if u == "" {
		if a.ID == "" {
			return nil, l.invalid("attachment has no message id")
		}
		u, bearer = l.dataURL+"/v2/bot/message/"+url.PathEscape(a.ID)+"/content", true
	}
	return l.fetch(ctx, u, bearer, max, a, func(a *answer) error {
		if a.status == http.StatusAccepted {
			return l.failure(Temporary, a.status, 0, "content is still being prepared")
		}
		return l.lineFailure(a)
	})
}

// Check reads the bot's info.
func (l *line) Check(ctx context.Context) (Account, error) {
	var r struct {
		UserID      string `json:"userId"`
		BasicID     string `json:"basicId"`
		DisplayName string `json:"displayName"`
	}
	if err := l.get(ctx, "/v2/bot/info", &r); err != nil {
		return Account{}, err
	}
	return Account{ID: r.UserID, Name: strings.TrimSpace(r.DisplayName + " " + r.BasicID)}, nil
}

// Register: the webhook URL is entered in the LINE Developers console
// (Messaging API tab, "Use webhook" on).
func (*line) Register(context.Context, string) error { return errors.ErrUnsupported }

func (*line) Unregister(context.Context) error { return errors.ErrUnsupported }
