package channelstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"jabberdesk/channels"
)

// metaError: the Send API errors (developers.facebook.com/docs/
// messenger-platform/error-codes); Instagram reports the closed window
// as IGApiException code 10 subcode 2534022.
func metaError(typ channels.Type, fault Fault) *errorAnswer {
	switch fault.Kind {
	case channels.TokenExpired:
		return &errorAnswer{400, graphError("Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT.", "OAuthException", 190, 463, "")}
	case channels.OutsideWindow:
		if typ == channels.Instagram {
			return &errorAnswer{403, graphError("This message is sent outside of allowed window.", "IGApiException", 10, 2534022, "")}
		}
		return &errorAnswer{400, graphError("(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview", "OAuthException", 10, 2018278, "")}
	case channels.CustomerBlocked:
		return &errorAnswer{400, graphError("(#551) This person isn't available right now.", "OAuthException", 551, 1545041, "")}
	case channels.RateLimited:
		return &errorAnswer{400, graphError("(#613) Calls to this API have exceeded the rate limit.", "OAuthException", 613, 0, "")}
	case channels.Temporary:
		return &errorAnswer{500, graphError("(#1200) Temporary send message failure. Please try again later", "OAuthException", 1200, 0, "")}
	case channels.ProviderError:
		return &errorAnswer{400, graphError("(#100) No matching user found", "OAuthException", 100, 2018001, "")}
	}
	return nil
}

// meta serves POST /me/messages (messages and sender actions), GET /me,
// GET /{user id} (profile) and the CDN URLs of customers' files.
func (f *Fake) meta(w http.ResponseWriter, r *http.Request, req *Request) {
	path := graphPath(r.URL.Path)
	if id, ok := strings.CutPrefix(path, "/cdn/"); ok {
		req.Endpoint = "file"
		if fl, ok := f.file(id); ok {
			serveFile(w, fl)
			return
		}
		http.NotFound(w, r)
		return
	}
	if !f.bearer(r) {
		req.Endpoint = "unauthorized"
		writeJSON(w, 400, graphError("Invalid OAuth access token.", "OAuthException", 190, 0, ""))
		return
	}
	switch {
	case r.Method == http.MethodPost && path == "/me/messages":
		req.Endpoint = "messages"
		f.metaSend(w, req)
	case r.Method == http.MethodGet && path == "/me":
		req.Endpoint = "me"
		writeJSON(w, 200, map[string]any{"id": "682498302938465", "name": "Acme Support"})
	case r.Method == http.MethodGet:
		req.Endpoint = "profile"
		id := strings.TrimPrefix(path, "/")
		name, ok := f.profile(id)
		if !ok {
			writeJSON(w, 400, graphError("(#100) No profile available for that user.", "OAuthException", 100, 2018218, ""))
			return
		}
		if f.Type == channels.Instagram {
			writeJSON(w, 200, map[string]any{"name": name, "username": strings.ToLower(strings.ReplaceAll(name, " ", "_")), "id": id})
			return
		}
		first, last, _ := strings.Cut(name, " ")
		writeJSON(w, 200, map[string]any{"first_name": first, "last_name": last, "id": id})
	default:
		req.Endpoint = "unknown"
		writeJSON(w, 400, graphError("Unsupported request", "GraphMethodException", 100, 0, ""))
	}
}

// metaSend answers a sender action with the recipient alone, and a message
// with its id once it is valid.
func (f *Fake) metaSend(w http.ResponseWriter, req *Request) {
	b := req.JSON
	to := str(obj(b, "recipient")["id"])
	if action := str(b["sender_action"]); action != "" {
		req.Endpoint = "sender_action"
		writeJSON(w, 200, map[string]any{"recipient_id": to})
		return
	}
	deliver := func() string {
		msg := obj(b, "message")
		att := obj(msg, "attachment")
		switch {
		case to == "":
			writeJSON(w, 400, graphError("(#100) The parameter recipient is required", "OAuthException", 100, 0, ""))
		case msg == nil || (str(msg["text"]) == "" && str(obj(att, "payload")["url"]) == ""):
			writeJSON(w, 400, graphError("(#100) The parameter message is required", "OAuthException", 100, 0, ""))
		case !metaQuickRepliesOK(msg):
			writeJSON(w, 400, graphError("(#100) Param message[quick_replies] must be 1 to 13 quick replies with a title and a payload", "OAuthException", 100, 0, ""))
		default:
			return fmt.Sprintf("m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_%06d", f.nextID())
		}
		return ""
	}
	f.send(w, req, deliver, func(id string) {
		writeJSON(w, 200, map[string]any{"recipient_id": to, "message_id": id})
	})
}

// metaMessage wraps one message from a customer in the webhook envelope.
func (f *Fake) metaMessage(userID string, msg map[string]any) []byte {
	object := "page"
	if f.Type == channels.Instagram {
		object = "instagram"
	}
	now := f.Now().UnixMilli()
	msg["mid"] = fmt.Sprintf("m_1457764197618:41d102a3e1ae206a%06d", f.nextID())
	b, _ := json.Marshal(map[string]any{"object": object, "entry": []map[string]any{{
		"id": "682498302938465", "time": now,
		"messaging": []map[string]any{{
			"sender": map[string]any{"id": userID}, "recipient": map[string]any{"id": "682498302938465"},
			"timestamp": now, "message": msg,
		}},
	}}})
	return b
}
