package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// whatsApp speaks the WhatsApp Cloud API
// (developers.facebook.com/docs/whatsapp/cloud-api; the OpenAPI
// specification in github.com/facebook/openapi).
type whatsApp struct {
	*client
	phoneID string
}

func (w *whatsApp) Handshake(q url.Values) (string, error) { return handshake(w.client, q) }

// Webhook checks X-Hub-Signature-256, then reads entry[].changes[] of the
// messages field. Changes for another phone number of the same business
// account belong to another channel and are skipped.
func (w *whatsApp) Webhook(h http.Header, body []byte) ([]Event, error) {
	if err := signedByMeta(w.client, h, body); err != nil {
		return nil, err
	}
	return parseWhatsApp(body, w.phoneID, w.now())
}

type waPayload struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string  `json:"field"`
			Value waValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type waValue struct {
	Metadata struct {
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []waMessage `json:"messages"`
	Statuses []struct {
		ID          string    `json:"id"`
		Status      string    `json:"status"`
		Timestamp   unixField `json:"timestamp"`
		RecipientID string    `json:"recipient_id"`
		Errors      []waError `json:"errors"`
	} `json:"statuses"`
}

type waError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type waMedia struct {
	ID       string `json:"id"`
	MIMEType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type waMessage struct {
	From      string    `json:"from"`
	ID        string    `json:"id"`
	Timestamp unixField `json:"timestamp"`
	Type      string    `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *waMedia `json:"image"`
	Video    *waMedia `json:"video"`
	Audio    *waMedia `json:"audio"`
	Document *waMedia `json:"document"`
	Sticker  *waMedia `json:"sticker"`
	Button   *struct {
		Text string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		ButtonReply *struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
}

// unixField is a Unix time in seconds sent as a JSON string.
type unixField int64

func (u *unixField) UnmarshalJSON(b []byte) error {
	var s json.Number
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	n, err := s.Int64()
	*u = unixField(n)
	return err
}

// parseWhatsApp turns messages into message events and statuses into
// status events; reactions, system messages, orders and other kinds are
// skipped.
func parseWhatsApp(body []byte, phoneID string, now time.Time) ([]Event, error) {
	var p waPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, badPayload(err)
	}
	if p.Object != "whatsapp_business_account" {
		return nil, nil
	}
	n := len(p.Entry)
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			n += len(c.Value.Messages) + len(c.Value.Statuses)
		}
	}
	if n > MaxEvents {
		return nil, badPayload(fmt.Errorf("%d events, more than %d", n, MaxEvents))
	}
	var out []Event
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			v := c.Value
			if c.Field != "messages" || v.Metadata.PhoneNumberID != phoneID {
				continue
			}
			for _, m := range v.Messages {
				if ev, ok := waEvent(m, v, now); ok {
					out = append(out, ev)
				}
			}
			for _, s := range v.Statuses {
				if s.ID == "" || s.Status == "" {
					continue
				}
				ev := Event{
					Kind: EventStatus, UserID: clip(s.RecipientID, 64), Phone: clip(s.RecipientID, 64),
					MessageID:  clip(s.ID, 256) + ":" + clip(s.Status, 16),
					Time:       unixTime(int64(s.Timestamp), false),
					ReceivedAt: now,
					Status:     &Status{MessageID: clip(s.ID, 256), State: clip(s.Status, 16)},
				}
				if len(s.Errors) > 0 {
					ev.Status.Failure = waStatusFailure(s.Errors[0])
				}
				out = append(out, ev)
			}
		}
	}
	return out, nil
}

// waStatusFailure classifies the error of a failed status (131047 is the
// closed 24-hour window).
func waStatusFailure(e waError) *Failure {
	text := e.Title
	if e.Message != "" && e.Message != e.Title {
		text = strings.TrimSpace(text + ": " + e.Message)
	}
	if e.ErrorData.Details != "" {
		text += ": " + e.ErrorData.Details
	}
	return &Failure{Kind: graphKind(e.Code, 0, false), Provider: WhatsApp, Code: e.Code, Text: clip(text, 500)}
}

func waEvent(m waMessage, v waValue, now time.Time) (Event, bool) {
	e := Event{
		Kind: EventMessage, UserID: clip(m.From, 64), Phone: clip(m.From, 64), MessageID: clip(m.ID, 256),
		Time: unixTime(int64(m.Timestamp), false), ReceivedAt: now,
	}
	for _, c := range v.Contacts {
		if c.WaID == m.From || len(v.Contacts) == 1 {
			e.Name = clip(c.Profile.Name, 200)
		}
	}
	media := func(kind string, md *waMedia) {
		e.Attachments = append(e.Attachments, Attachment{
			Kind: kind, ID: clip(md.ID, 256), MIME: clip(md.MIMEType, 100), Name: cleanName(md.Filename),
		})
		e.Text = clip(md.Caption, MaxText)
	}
	switch {
	case m.Type == "text" && m.Text != nil:
		e.Text = clip(m.Text.Body, MaxText)
	case m.Type == "image" && m.Image != nil:
		media("image", m.Image)
	case m.Type == "video" && m.Video != nil:
		media("video", m.Video)
	case m.Type == "audio" && m.Audio != nil:
		media("audio", m.Audio)
	case m.Type == "document" && m.Document != nil:
		media("file", m.Document)
	case m.Type == "sticker" && m.Sticker != nil:
		media("sticker", m.Sticker)
	case m.Type == "button" && m.Button != nil:
		e.Text = clip(m.Button.Text, MaxText)
	case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ButtonReply != nil:
		e.Text = clip(m.Interactive.ButtonReply.Title, MaxText)
	case m.Type == "interactive" && m.Interactive != nil && m.Interactive.ListReply != nil:
		e.Text = clip(m.Interactive.ListReply.Title, MaxText)
	case m.Type == "location" && m.Location != nil:
		l := m.Location
		e.Text = clip(strings.TrimSpace(fmt.Sprintf("Location: %s %s (%.6f, %.6f)", l.Name, l.Address, l.Latitude, l.Longitude)), MaxText)
	default:
		return Event{}, false
	}
	return e, e.UserID != "" && e.MessageID != ""
}

// Send posts to /{phone_number_id}/messages: text, an image (JPEG or PNG)
// or document by link, or a template with its body parameters in order.
func (w *whatsApp) Send(ctx context.Context, m Message) (Result, error) {
	if err := checkMessage(w.client, m, true); err != nil {
		return Result{}, err
	}
	body := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": m.To}
	switch {
	case m.Template != nil:
		t := map[string]any{"name": m.Template.Name, "language": map[string]string{"code": m.Template.Language}}
		if len(m.Template.Params) > 0 {
			params := make([]map[string]string, len(m.Template.Params))
			for i, p := range m.Template.Params {
				params[i] = map[string]string{"type": "text", "text": p}
			}
			t["components"] = []map[string]any{{"type": "body", "parameters": params}}
		}
		body["type"], body["template"] = "template", t
	case m.File != nil && isPhoto(m.File.MIME):
		body["type"], body["image"] = "image", captioned(map[string]any{"link": m.File.URL}, m.Text)
	case m.File != nil:
		doc := captioned(map[string]any{"link": m.File.URL}, m.Text)
		if name := cleanName(m.File.Name); name != "" {
			doc["filename"] = name
		}
		body["type"], body["document"] = "document", doc
	default:
		body["type"], body["text"] = "text", map[string]any{"preview_url": false, "body": m.Text}
	}
	a, err := w.call(ctx, http.MethodPost, w.base+"/"+url.PathEscape(w.phoneID)+"/messages", body, true, nil)
	if err != nil {
		return Result{}, err
	}
	if !a.ok() {
		return Result{}, w.graphFailure(a)
	}
	var r struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil || len(r.Messages) == 0 {
		return Result{}, w.invalid("answer has no message id")
	}
	return Result{MessageID: r.Messages[0].ID}, nil
}

func (w *whatsApp) graphFailure(a *answer) error { return graphFailure(w.client, a) }

func captioned(m map[string]any, caption string) map[string]any {
	if caption != "" {
		m["caption"] = caption
	}
	return m
}

// Typing does nothing: the Cloud API's typing indicator also marks a given
// customer message read, which is not what an agent's typing means.
func (w *whatsApp) Typing(context.Context, string) error { return nil }

func (w *whatsApp) Profile(context.Context, string) (Profile, error) {
	return Profile{}, errors.ErrUnsupported
}

// Fetch asks GET /{media_id} for the media URL (valid five minutes), then
// downloads it with the access token.
func (w *whatsApp) Fetch(ctx context.Context, a Attachment, max int64) (*Media, error) {
	if a.ID == "" {
		return nil, w.invalid("attachment has no media id")
	}
	var r struct {
		URL      string `json:"url"`
		MIMEType string `json:"mime_type"`
	}
	if err := w.getJSON(ctx, w.base+"/"+url.PathEscape(a.ID), &r, w.graphFailure); err != nil {
		return nil, err
	}
	if r.URL == "" {
		return nil, w.invalid("media answer has no url")
	}
	if a.MIME == "" {
		a.MIME = r.MIMEType
	}
	return w.fetch(ctx, r.URL, true, max, a, w.graphFailure)
}

// Check reads the phone number's display number and verified name.
func (w *whatsApp) Check(ctx context.Context) (Account, error) {
	var r struct {
		Display  string `json:"display_phone_number"`
		Verified string `json:"verified_name"`
	}
	if err := w.getJSON(ctx, w.base+"/"+url.PathEscape(w.phoneID)+"?fields=display_phone_number,verified_name", &r, w.graphFailure); err != nil {
		return Account{}, err
	}
	return Account{ID: w.phoneID, Name: strings.TrimSpace(r.Verified + " " + r.Display)}, nil
}

// Register: the webhook URL is entered in the Webhooks product of the
// Meta app dashboard, with the verify token.
func (*whatsApp) Register(context.Context, string) error { return errors.ErrUnsupported }

func (*whatsApp) Unregister(context.Context) error { return errors.ErrUnsupported }
