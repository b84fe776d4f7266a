package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// meta speaks the Messenger Platform for Messenger and Instagram: Meta
// webhooks (developers.facebook.com/docs/messenger-platform/webhooks) and
// the Send API on the Graph API (POST /{version}/me/messages).
type meta struct{ *client }

// metaSignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the raw
// body keyed with the app secret; WhatsApp's webhooks use it too.
const metaSignatureHeader = "X-Hub-Signature-256"

// handshake answers Meta's subscription check. The challenge is echoed, so
// the HTTP layer writes it as text/plain.
func handshake(c *client, q url.Values) (string, error) {
	if q.Get("hub.mode") != "subscribe" || !sameSecret(q.Get("hub.verify_token"), c.secrets.VerifyToken) {
		return "", ErrForbidden
	}
	ch := q.Get("hub.challenge")
	if ch == "" || len(ch) > 256 {
		return "", badPayload(errors.New("hub.challenge missing or too long"))
	}
	return ch, nil
}

// signedByMeta checks X-Hub-Signature-256 in constant time.
func signedByMeta(c *client, h http.Header, body []byte) error {
	sig, ok := strings.CutPrefix(h.Get(metaSignatureHeader), "sha256=")
	got, err := hex.DecodeString(sig)
	if !ok || err != nil || len(got) != sha256.Size || c.secrets.AppSecret == "" {
		return ErrUnauthorized
	}
	mac := hmac.New(sha256.New, []byte(c.secrets.AppSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrUnauthorized
	}
	if len(body) > MaxWebhookBody {
		return ErrTooLarge
	}
	return nil
}

func (p *meta) Handshake(q url.Values) (string, error) { return handshake(p.client, q) }

// Webhook checks the signature, then reads entry[].messaging[].
func (p *meta) Webhook(h http.Header, body []byte) ([]Event, error) {
	if err := signedByMeta(p.client, h, body); err != nil {
		return nil, err
	}
	object := "page"
	if p.typ == Instagram {
		object = "instagram"
	}
	return parseMeta(body, object, p.now())
}

// Graph API errors (developers.facebook.com/docs/graph-api/guides/error-handling,
// …/messenger-platform/error-codes, …/whatsapp/cloud-api/support/error-codes).
type graphAnswer struct {
	Error *struct {
		Message     string          `json:"message"`
		Type        string          `json:"type"`
		Code        int             `json:"code"`
		Subcode     int             `json:"error_subcode"`
		IsTransient bool            `json:"is_transient"`
		ErrorData   json.RawMessage `json:"error_data"`
	} `json:"error"`
}

// graphFailure classifies a Graph API answer that is not 2xx.
func graphFailure(c *client, a *answer) error {
	var g graphAnswer
	if json.Unmarshal(a.body, &g) != nil || g.Error == nil {
		return c.byStatus(a.status, a.header, strings.TrimSpace(string(a.body)))
	}
	e := g.Error
	text := e.Message
	var data struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(e.ErrorData, &data) == nil && data.Details != "" {
		text += ": " + data.Details
	}
	f := c.failure(graphKind(e.Code, e.Subcode, e.IsTransient), a.status, e.Code, text)
	f.Subcode = e.Subcode
	if f.Kind == ProviderError && a.status >= 500 {
		f.Kind = Temporary
	}
	if f.Kind == RateLimited {
		f.RetryAfter = retryAfter(a.header)
	}
	return f
}

// graphKind sorts Graph API and WhatsApp error codes.
func graphKind(code, subcode int, transient bool) Kind {
	switch code {
	case 190, 102: // access token expired or invalid (subcodes 458–467 say why)
		return TokenExpired
	case 131047: // WhatsApp: re-engagement message, over 24 h since the customer wrote
		return OutsideWindow
	case 10: // permission denied; these subcodes are the messaging window
		if subcode == 2018278 || subcode == 2018065 || subcode == 2534022 {
			return OutsideWindow
		}
	case 551: // "This person isn't available right now": mostly a block
		return CustomerBlocked
	case 4, 17, 32, 613, 80006, 80007, 130429, 131048, 131056: // call, throughput, spam and pair rate limits
		return RateLimited
	case 1, 2, 1200, 131000, 131016, 133004: // unknown, service, temporary send failure, something went wrong, service unavailable
		return Temporary
	}
	if transient {
		return Temporary
	}
	return ProviderError
}

type metaPayload struct {
	Object string `json:"object"`
	Entry  []struct {
		Messaging []metaEvent `json:"messaging"`
	} `json:"entry"`
}

type metaEvent struct {
	Sender struct {
		ID string `json:"id"`
	} `json:"sender"`
	Timestamp int64 `json:"timestamp"`
	Message   *struct {
		MID           string `json:"mid"`
		Text          string `json:"text"`
		IsEcho        bool   `json:"is_echo"`
		IsDeleted     bool   `json:"is_deleted"`
		IsUnsupported bool   `json:"is_unsupported"`
		Attachments   []struct {
			Type    string `json:"type"`
			Payload *struct {
				URL   string `json:"url"`
				Title string `json:"title"`
			} `json:"payload"`
		} `json:"attachments"`
	} `json:"message"`
	Postback *struct {
		MID   string `json:"mid"`
		Title string `json:"title"`
	} `json:"postback"`
}

// parseMeta reads messages and postbacks; echoes of our own messages,
// deletions, reads, deliveries, reactions and standby events are skipped.
func parseMeta(body []byte, object string, now time.Time) ([]Event, error) {
	var p metaPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, badPayload(err)
	}
	if p.Object != object {
		return nil, nil
	}
	n := 0
	for _, e := range p.Entry {
		n += len(e.Messaging)
	}
	if n > MaxEvents || len(p.Entry) > MaxEvents {
		return nil, badPayload(fmt.Errorf("%d events, more than %d", n, MaxEvents))
	}
	var out []Event
	for _, e := range p.Entry {
		for _, m := range e.Messaging {
			if ev, ok := metaMessage(m, now); ok {
				out = append(out, ev)
			}
		}
	}
	return out, nil
}

func metaMessage(m metaEvent, now time.Time) (Event, bool) {
	e := Event{Kind: EventMessage, UserID: clip(m.Sender.ID, 128), Time: unixTime(m.Timestamp, true), ReceivedAt: now}
	switch msg := m.Message; {
	case msg != nil && !msg.IsEcho && !msg.IsDeleted:
		e.MessageID, e.Text = clip(msg.MID, 512), clip(msg.Text, MaxText)
		for _, a := range msg.Attachments {
			url := ""
			if a.Payload != nil {
				url = a.Payload.URL
			}
			switch kind := metaKind(a.Type); {
			case kind != "" && url != "" && len(e.Attachments) < MaxAttachments:
				e.Attachments = append(e.Attachments, Attachment{Kind: kind, URL: clip(url, 4096)})
			case a.Type == "fallback" && url != "" && len(e.Text) < MaxText:
				e.Text = clip(strings.TrimSpace(e.Text+"\n"+url), MaxText)
			}
		}
		if e.Text == "" && len(e.Attachments) == 0 {
			e.Text = "[unsupported message]"
			if len(msg.Attachments) > 0 {
				e.Text = "[" + clip(msg.Attachments[0].Type, 32) + "]"
			}
		}
	case m.Postback != nil:
		e.MessageID, e.Text = clip(m.Postback.MID, 512), clip(m.Postback.Title, MaxText)
	default:
		return Event{}, false
	}
	return e, e.UserID != "" && e.MessageID != ""
}

func metaKind(t string) string {
	switch t {
	case "image", "video", "audio", "file":
		return t
	case "sticker":
		return "sticker"
	}
	return ""
}

// send posts one Send API request and returns the message id.
func (p *meta) send(ctx context.Context, body map[string]any) (string, error) {
	a, err := p.call(ctx, http.MethodPost, p.base+"/me/messages", body, true, nil)
	if err != nil {
		return "", err
	}
	if !a.ok() {
		return "", graphFailure(p.client, a)
	}
	var r struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		return "", p.invalid("answer not understood: %v", err)
	}
	return r.MessageID, nil
}

// Send posts with messaging_type RESPONSE (a reply within the 24-hour
// window). A file goes as an attachment by URL; Send API attachments carry
// no caption, so Text with a File is sent as a second message after it.
func (p *meta) Send(ctx context.Context, m Message) (Result, error) {
	if err := checkMessage(p.client, m, false); err != nil {
		return Result{}, err
	}
	msg := func(content map[string]any) map[string]any {
		return map[string]any{"recipient": map[string]string{"id": m.To}, "messaging_type": "RESPONSE", "message": content}
	}
	var id string
	var err error
	if f := m.File; f != nil {
		id, err = p.send(ctx, msg(map[string]any{"attachment": map[string]any{
			"type": fileKind(f.MIME), "payload": map[string]any{"url": f.URL, "is_reusable": false},
		}}))
		if err != nil || m.Text == "" {
			return Result{MessageID: id}, err
		}
	}
	content := map[string]any{"text": m.Text}
	if len(m.QuickReplies) > 0 {
		content["quick_replies"] = metaQuickReplies(m.QuickReplies)
	}
	id, err = p.send(ctx, msg(content))
	return Result{MessageID: id}, err
}

// metaQuickReplies are text quick replies whose payload is their title:
// a tap posts the title as the customer's message.
func metaQuickReplies(answers []string) []map[string]string {
	out := make([]map[string]string, len(answers))
	for i, a := range answers {
		out[i] = map[string]string{"content_type": "text", "title": a, "payload": a}
	}
	return out
}

// Typing sends the typing_on sender action.
func (p *meta) Typing(ctx context.Context, to string) error {
	_, err := p.send(ctx, map[string]any{"recipient": map[string]string{"id": to}, "sender_action": "typing_on"})
	return err
}

// get reads a Graph object.
func (p *meta) get(ctx context.Context, path string, out any) error {
	return p.getJSON(ctx, p.base+path, out, func(a *answer) error { return graphFailure(p.client, a) })
}

// Profile reads first_name and last_name of a PSID (Messenger User
// Profile API) or name and username of an IGSID (Instagram).
func (p *meta) Profile(ctx context.Context, userID string) (Profile, error) {
	var r struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Name      string `json:"name"`
		Username  string `json:"username"`
	}
	fields := "first_name,last_name"
	if p.typ == Instagram {
		fields = "name,username"
	}
	if err := p.get(ctx, "/"+url.PathEscape(userID)+"?fields="+fields, &r); err != nil {
		return Profile{}, err
	}
	name := strings.TrimSpace(r.FirstName + " " + r.LastName)
	if p.typ == Instagram {
		name = r.Name
		if name == "" && r.Username != "" {
			name = "@" + r.Username
		}
	}
	return Profile{Name: clip(name, 200)}, nil
}

// Fetch downloads the attachment's URL; Meta's CDN URLs need no token, so
// none is sent.
func (p *meta) Fetch(ctx context.Context, a Attachment, max int64) (*Media, error) {
	if a.URL == "" {
		return nil, p.invalid("attachment has no URL")
	}
	return p.fetch(ctx, a.URL, false, max, a, func(a *answer) error { return p.byStatus(a.status, a.header, "") })
}

// Check reads /me, the Page (or Instagram account) the token acts for.
func (p *meta) Check(ctx context.Context) (Account, error) {
	var r struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := p.get(ctx, "/me?fields=id,name", &r); err != nil {
		return Account{}, err
	}
	return Account{ID: r.ID, Name: r.Name}, nil
}

// Register: the webhook URL is entered in the Webhooks product of the
// Meta app dashboard, with the verify token.
func (*meta) Register(context.Context, string) error { return errors.ErrUnsupported }

func (*meta) Unregister(context.Context) error { return errors.ErrUnsupported }
