package channelstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"jabberdesk/channels"
)

// The Bot API's documented answers (core.telegram.org/bots/api#making-requests).
func tgError(code int, description string) map[string]any {
	return map[string]any{"ok": false, "error_code": code, "description": description}
}

func telegramError(fault Fault) *errorAnswer {
	switch fault.Kind {
	case channels.TokenExpired:
		return &errorAnswer{401, tgError(401, "Unauthorized")}
	case channels.CustomerBlocked:
		return &errorAnswer{403, tgError(403, "Forbidden: bot was blocked by the user")}
	case channels.RateLimited:
		n := max(fault.RetryAfter, 1)
		e := tgError(429, fmt.Sprintf("Too Many Requests: retry after %d", n))
		e["parameters"] = map[string]any{"retry_after": n}
		return &errorAnswer{429, e}
	case channels.Temporary:
		return &errorAnswer{502, tgError(502, "Bad Gateway")}
	case channels.ProviderError:
		return &errorAnswer{400, tgError(400, "Bad Request: chat not found")}
	}
	return nil
}

func tgOK(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

// telegram serves /bot<token>/<method> and /file/bot<token>/<path>.
func (f *Fake) telegram(w http.ResponseWriter, r *http.Request, req *Request) {
	prefix, filePath := "/bot"+f.Secrets.BotToken+"/", ""
	path := r.URL.Path
	if p, ok := strings.CutPrefix(path, "/file/bot"+f.Secrets.BotToken+"/"); ok {
		req.Endpoint, filePath = "file", p
	} else if m, ok := strings.CutPrefix(path, prefix); ok {
		req.Endpoint = m
	} else {
		req.Endpoint = "unknown"
		writeJSON(w, http.StatusUnauthorized, tgError(401, "Unauthorized"))
		return
	}
	if filePath != "" {
		fl, ok := f.file(strings.TrimSuffix(strings.TrimPrefix(filePath, "documents/"), ".bin"))
		if !ok {
			writeJSON(w, http.StatusNotFound, tgError(404, "Not Found"))
			return
		}
		serveFile(w, fl)
		return
	}
	params := req.Form
	if params == nil {
		params = map[string]string{}
		for k, v := range req.JSON {
			params[k] = str(v)
		}
	}
	chat := params["chat_id"]
	switch req.Endpoint {
	case "getMe":
		tgOK(w, map[string]any{"id": 7123456789, "is_bot": true, "first_name": "Helpdesk", "username": "helpdesk_bot"})
	case "sendChatAction":
		if chat == "" || params["action"] == "" {
			writeJSON(w, 400, tgError(400, "Bad Request: chat_id is empty"))
			return
		}
		tgOK(w, true)
	case "getFile":
		id := params["file_id"]
		fl, ok := f.file(id)
		if !ok {
			writeJSON(w, 400, tgError(400, "Bad Request: invalid file_id"))
			return
		}
		tgOK(w, map[string]any{"file_id": id, "file_unique_id": "AgAD" + id[len(id)-4:], "file_size": len(fl.data), "file_path": "documents/" + id + ".bin"})
	case "sendMessage", "sendPhoto", "sendDocument":
		f.telegramSend(w, req, params)
	case "setWebhook":
		f.setWebhook(w, req, params)
	case "deleteWebhook":
		f.deleteWebhook(w)
	default:
		writeJSON(w, http.StatusNotFound, tgError(404, "Not Found: method not found"))
	}
}

// telegramSend answers sendMessage, sendPhoto and sendDocument with the
// sent Message.
func (f *Fake) telegramSend(w http.ResponseWriter, req *Request, params map[string]string) {
	content := map[string]string{"sendMessage": "text", "sendPhoto": "photo", "sendDocument": "document"}[req.Endpoint]
	deliver := func() string {
		switch {
		case params["chat_id"] == "":
			writeJSON(w, 400, tgError(400, "Bad Request: chat_id is empty"))
		case params[content] == "":
			writeJSON(w, 400, tgError(400, "Bad Request: message text is empty"))
		case !telegramKeyboardOK(req.JSON):
			writeJSON(w, 400, tgError(400, "Bad Request: can't parse reply keyboard markup JSON object"))
		default:
			return fmt.Sprint(f.nextID())
		}
		return ""
	}
	f.send(w, req, deliver, func(id string) {
		var chatID json.Number = json.Number(params["chat_id"])
		msg := map[string]any{"message_id": json.Number(id), "date": f.Now().Unix(), "chat": map[string]any{"id": chatID, "type": "private"}}
		if content == "text" {
			msg["text"] = params["text"]
		} else if params["caption"] != "" {
			msg["caption"] = params["caption"]
		}
		tgOK(w, msg)
	})
}

// Registration is what setWebhook was last given.
type Registration struct {
	URL                string
	SecretToken        string
	AllowedUpdates     []string
	DropPendingUpdates bool
}

// Webhook returns the webhook registered with setWebhook (zero before
// any, and after one that removed it with an empty URL).
func (f *Fake) Webhook() Registration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhook
}

// setWebhook answers setWebhook as the Bot API documents it
// (core.telegram.org/bots/api#setwebhook): an HTTPS url, or "" to remove
// the webhook; secret_token of 1 to 256 characters A-Z, a-z, 0-9, _ and
// -; allowed_updates a JSON list. Success is {"ok":true,"result":true}.
// A queued fault answers instead (a Delivered one records the webhook
// first).
func (f *Fake) setWebhook(w http.ResponseWriter, req *Request, params map[string]string) {
	reg := Registration{URL: params["url"], SecretToken: params["secret_token"], DropPendingUpdates: params["drop_pending_updates"] == "true"}
	if list, ok := req.JSON["allowed_updates"].([]any); ok {
		for _, u := range list {
			reg.AllowedUpdates = append(reg.AllowedUpdates, str(u))
		}
	} else if v := params["allowed_updates"]; v != "" {
		_ = json.Unmarshal([]byte(v), &reg.AllowedUpdates) // a form field that is not a list: none, as Telegram ignores it
	}
	var bad string
	switch {
	case reg.URL != "" && !strings.HasPrefix(strings.ToLower(reg.URL), "https://"):
		bad = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
	case reg.SecretToken != "" && !validSecretToken(reg.SecretToken):
		bad = "Bad Request: secret token contains unallowed characters"
	}
	record := func() {
		f.mu.Lock()
		f.webhook = reg
		f.mu.Unlock()
	}
	if fault := f.nextFault(); fault != nil {
		if fault.Delivered && bad == "" {
			record()
		}
		f.fail(w, *fault)
		return
	}
	if bad != "" {
		writeJSON(w, http.StatusBadRequest, tgError(400, bad))
		return
	}
	record()
	description := "Webhook was set"
	if reg.URL == "" {
		description = "Webhook was deleted"
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": true, "description": description})
}

func validSecretToken(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// TextMessage is the webhook body of a customer's text message.
func (f *Fake) TextMessage(userID, name, text string) []byte {
	switch f.Type {
	case channels.Telegram:
		return f.telegramUpdate(userID, name, map[string]any{"text": text})
	case channels.WhatsApp:
		return f.whatsAppMessage(userID, name, map[string]any{"type": "text", "text": map[string]any{"body": text}})
	case channels.LINE:
		return f.lineEvents(f.lineMessage(userID, map[string]any{"type": "text", "text": text}))
	default:
		return f.metaMessage(userID, map[string]any{"text": text})
	}
}

// FileMessage is the webhook body of a customer's file (from AddFile) with
// a caption where the provider has captions.
func (f *Fake) FileMessage(userID, name string, a channels.Attachment, caption string) []byte {
	switch f.Type {
	case channels.Telegram:
		m := map[string]any{}
		if caption != "" {
			m["caption"] = caption
		}
		if a.Kind == "image" {
			m["photo"] = []map[string]any{
				{"file_id": a.ID + "-small", "file_unique_id": "AQADs", "file_size": 1200, "width": 90, "height": 67},
				{"file_id": a.ID, "file_unique_id": "AQADb", "file_size": a.Size, "width": 1280, "height": 960},
			}
		} else {
			m["document"] = map[string]any{"file_name": a.Name, "mime_type": a.MIME, "file_id": a.ID, "file_unique_id": "AgADd", "file_size": a.Size}
		}
		return f.telegramUpdate(userID, name, m)
	case channels.WhatsApp:
		typ := map[string]string{"image": "image", "video": "video", "audio": "audio"}[a.Kind]
		if typ == "" {
			typ = "document"
		}
		media := map[string]any{"mime_type": a.MIME, "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", "id": a.ID}
		if caption != "" {
			media["caption"] = caption
		}
		if typ == "document" {
			media["filename"] = a.Name
		}
		return f.whatsAppMessage(userID, name, map[string]any{"type": typ, typ: media})
	case channels.LINE:
		m := map[string]any{"type": a.Kind, "id": a.ID, "contentProvider": map[string]any{"type": "line"}}
		if a.Kind == "file" {
			m = map[string]any{"type": "file", "id": a.ID, "fileName": a.Name, "fileSize": a.Size}
		}
		return f.lineEvents(f.lineMessage(userID, m))
	default:
		return f.metaMessage(userID, map[string]any{"attachments": []map[string]any{{"type": a.Kind, "payload": map[string]any{"url": a.URL}}}})
	}
}

func (f *Fake) telegramUpdate(userID, name string, content map[string]any) []byte {
	n := f.nextID()
	first, last, _ := strings.Cut(name, " ")
	from := map[string]any{"id": json.Number(userID), "is_bot": false, "first_name": first, "language_code": "en"}
	chat := map[string]any{"id": json.Number(userID), "first_name": first, "type": "private"}
	if last != "" {
		from["last_name"], chat["last_name"] = last, last
	}
	msg := map[string]any{"message_id": n, "from": from, "chat": chat, "date": f.Now().Unix()}
	for k, v := range content {
		msg[k] = v
	}
	b, _ := json.Marshal(map[string]any{"update_id": 10000 + n, "message": msg})
	return b
}

// deleteWebhook answers deleteWebhook as the Bot API documents it
// (core.telegram.org/bots/api#deletewebhook): the registration is gone,
// {"ok":true,"result":true}, also when there was none. A queued fault
// answers instead.
func (f *Fake) deleteWebhook(w http.ResponseWriter) {
	if fault := f.nextFault(); fault != nil {
		f.fail(w, *fault)
		return
	}
	f.mu.Lock()
	f.webhook = Registration{}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": true, "description": "Webhook was deleted"})
}
