package channelstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"jabberdesk/channels"
)

// lineError: the Messaging API's error bodies (developers.line.biz/en/
// reference/messaging-api/#error-responses). LINE has no blocked error: a
// push to a user who blocked the account is answered 200 and not
// delivered (see Block), and no 24-hour window.
func lineError(fault Fault) *errorAnswer {
	switch fault.Kind {
	case channels.TokenExpired:
		return &errorAnswer{401, map[string]any{"message": "Authentication failed. Confirm that the access token in the authorization header is valid."}}
	case channels.RateLimited:
		return &errorAnswer{429, map[string]any{"message": "The API rate limit has been exceeded. Try again later."}}
	case channels.Temporary:
		return &errorAnswer{500, map[string]any{"message": "Internal server error"}}
	case channels.ProviderError:
		return &errorAnswer{400, map[string]any{"message": "The request body has 1 error(s)",
			"details": []map[string]any{{"message": "May not be empty", "property": "messages[0].text"}}}}
	}
	return nil
}

// NewReplyToken issues a reply token the fake accepts once, for ReplyTTL.
func (f *Fake) NewReplyToken() string {
	tok := token(32)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replyTokens[tok] = f.Now()
	return tok
}

// Block makes a LINE user one who blocked the account: pushes to them are
// answered 200 but not delivered, as LINE documents.
func (f *Fake) Block(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[userID] = true
}

// line serves reply, push, the loading animation, profile, bot info and
// message content (the data host's path, on the same server).
func (f *Fake) line(w http.ResponseWriter, r *http.Request, req *Request) {
	if !f.bearer(r) {
		req.Endpoint = "unauthorized"
		writeJSON(w, 401, map[string]any{"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/v2/bot/message/reply":
		req.Endpoint = "reply"
		f.lineReply(w, req)
	case r.Method == http.MethodPost && path == "/v2/bot/message/push":
		req.Endpoint = "push"
		f.linePush(w, req)
	case r.Method == http.MethodPost && path == "/v2/bot/chat/loading/start":
		req.Endpoint = "loading"
		n, _ := req.JSON["loadingSeconds"].(float64)
		if str(req.JSON["chatId"]) == "" || (n != 0 && (n < 5 || n > 60 || int(n)%5 != 0)) {
			writeJSON(w, 400, map[string]any{"message": "The request body has 1 error(s)"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{})
	case r.Method == http.MethodGet && path == "/v2/bot/info":
		req.Endpoint = "info"
		writeJSON(w, 200, map[string]any{"userId": "Ub9952f8e3f7a3ccd55d0a8a5b9b9c2e8", "basicId": "@216ru...", "displayName": "Acme Support", "chatMode": "chat", "markAsReadMode": "manual"})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v2/bot/profile/"):
		req.Endpoint = "profile"
		id := strings.TrimPrefix(path, "/v2/bot/profile/")
		name, ok := f.profile(id)
		if !ok {
			writeJSON(w, 404, map[string]any{"message": "Not found"})
			return
		}
		writeJSON(w, 200, map[string]any{"displayName": name, "userId": id, "language": "en"})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v2/bot/message/") && strings.HasSuffix(path, "/content"):
		req.Endpoint = "content"
		fl, ok := f.file(strings.TrimSuffix(strings.TrimPrefix(path, "/v2/bot/message/"), "/content"))
		if !ok {
			writeJSON(w, 404, map[string]any{"message": "Not found"})
			return
		}
		serveFile(w, fl)
	default:
		req.Endpoint = "unknown"
		writeJSON(w, 404, map[string]any{"message": "Not found"})
	}
}

// lineCheck refuses message objects the API would refuse.
func lineCheck(w http.ResponseWriter, msgs []any) bool {
	if len(msgs) < 1 || len(msgs) > 5 {
		writeJSON(w, 400, map[string]any{"message": "Size must be between 1 and 5", "details": []map[string]any{{"property": "messages"}}})
		return false
	}
	for i, m := range msgs {
		o, _ := m.(map[string]any)
		bad := o == nil
		switch str(o["type"]) {
		case "text":
			bad = bad || str(o["text"]) == ""
		case "image":
			bad = bad || !strings.HasPrefix(str(o["originalContentUrl"]), "https://") || !strings.HasPrefix(str(o["previewImageUrl"]), "https://")
		default:
			bad = true
		}
		if bad = bad || !lineQuickReplyOK(o); bad {
			writeJSON(w, 400, map[string]any{"message": "The request body has 1 error(s)",
				"details": []map[string]any{{"message": "Invalid message object", "property": fmt.Sprintf("messages[%d]", i)}}})
			return false
		}
	}
	return true
}

func (f *Fake) sentMessages(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprint(461230966842064000 + f.nextID()), "quoteToken": "IStG5h1Tz7b" + token(8)}
	}
	return out
}

// lineReply accepts a reply token once and while it is fresh; a retry key
// on a reply is refused, as the documentation says.
func (f *Fake) lineReply(w http.ResponseWriter, req *Request) {
	msgs, _ := req.JSON["messages"].([]any)
	deliver := func() string {
		if req.Header.Get("X-Line-Retry-Key") != "" {
			writeJSON(w, 400, map[string]any{"message": "The retry key is not supported by this API"})
			return ""
		}
		tok := str(req.JSON["replyToken"])
		f.mu.Lock()
		at, ok := f.replyTokens[tok]
		delete(f.replyTokens, tok)
		f.mu.Unlock()
		if !ok || f.Now().Sub(at) > f.ReplyTTL {
			writeJSON(w, 400, map[string]any{"message": "Invalid reply token"})
			return ""
		}
		if !lineCheck(w, msgs) {
			return ""
		}
		return "reply"
	}
	f.send(w, req, deliver, func(string) {
		sent := f.sentMessages(len(msgs))
		req.MessageID = str(sent[0]["id"])
		writeJSON(w, 200, map[string]any{"sentMessages": sent})
	})
}

// linePush delivers once per X-Line-Retry-Key; a key already accepted is
// answered 409 with x-line-accepted-request-id and the sent messages.
func (f *Fake) linePush(w http.ResponseWriter, req *Request) {
	msgs, _ := req.JSON["messages"].([]any)
	key := req.Header.Get("X-Line-Retry-Key")
	f.mu.Lock()
	prev, seen := f.retryKeys[key]
	blocked := f.blocked[str(req.JSON["to"])]
	f.mu.Unlock()
	if key != "" && seen {
		w.Header().Set("X-Line-Accepted-Request-Id", "123e4567-e89b-12d3-a456-426655440001")
		writeJSON(w, http.StatusConflict, map[string]any{"message": "The retry key is already accepted",
			"sentMessages": []map[string]any{{"id": prev, "quoteToken": "IStG5h1Tz7b..."}}})
		return
	}
	var sent []map[string]any
	deliver := func() string {
		if str(req.JSON["to"]) == "" || !lineCheck(w, msgs) {
			return ""
		}
		sent = f.sentMessages(len(msgs))
		id := str(sent[0]["id"])
		if key != "" {
			f.mu.Lock()
			f.retryKeys[key] = id
			f.mu.Unlock()
		}
		return id
	}
	f.send(w, req, deliver, func(string) {
		writeJSON(w, 200, map[string]any{"sentMessages": sent})
	})
	if blocked {
		req.Delivered = false
	}
}

func (f *Fake) lineEvents(events ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"destination": "Ub9952f8e3f7a3ccd55d0a8a5b9b9c2e8", "events": events})
	return b
}

func (f *Fake) lineEvent(typ, userID string) map[string]any {
	return map[string]any{
		"type": typ, "mode": "active", "timestamp": f.Now().UnixMilli(),
		"webhookEventId":  fmt.Sprintf("01FZ74A0TDDPYRVKNK77XKC%03d", f.nextID()),
		"deliveryContext": map[string]any{"isRedelivery": false},
		"source":          map[string]any{"type": "user", "userId": userID},
	}
}

func (f *Fake) lineMessage(userID string, msg map[string]any) map[string]any {
	e := f.lineEvent("message", userID)
	e["replyToken"] = f.NewReplyToken()
	if msg["id"] == nil {
		msg["id"] = fmt.Sprint(468789577898262000 + f.nextID())
	}
	if msg["type"] == "text" || msg["type"] == "image" {
		msg["quoteToken"] = "q3Plxr4AgKd" + token(8)
	}
	e["message"] = msg
	return e
}

// Follow is a LINE follow event (added as a friend, or unblocked when
// unblocked is set), with a reply token.
func (f *Fake) Follow(userID string, unblocked bool) []byte {
	e := f.lineEvent("follow", userID)
	e["replyToken"] = f.NewReplyToken()
	e["follow"] = map[string]any{"isUnblocked": unblocked}
	return f.lineEvents(e)
}

// Unfollow is a LINE unfollow event: the user blocked the account.
func (f *Fake) Unfollow(userID string) []byte { return f.lineEvents(f.lineEvent("unfollow", userID)) }
