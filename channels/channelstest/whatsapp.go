package channelstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"jabberdesk/channels"
)

// graphError is the Graph API error object (developers.facebook.com/docs/
// graph-api/guides/error-handling); WhatsApp adds error_data.details.
func graphError(message, typ string, code, subcode int, details string) map[string]any {
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	return map[string]any{"error": e}
}

// whatsAppError: the Cloud API error codes (…/whatsapp/cloud-api/support/error-codes).
func whatsAppError(fault Fault) *errorAnswer {
	switch fault.Kind {
	case channels.TokenExpired:
		return &errorAnswer{401, graphError("Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT.", "OAuthException", 190, 463, "")}
	case channels.OutsideWindow:
		return &errorAnswer{400, graphError("(#131047) Re-engagement message", "OAuthException", 131047, 0,
			"Message failed to send because more than 24 hours have passed since the customer last replied to this number.")}
	case channels.RateLimited:
		return &errorAnswer{429, graphError("(#130429) Rate limit hit", "OAuthException", 130429, 2494055,
			"Message failed to send because there were too many messages sent from this phone number in a short period of time")}
	case channels.Temporary:
		return &errorAnswer{500, graphError("(#131000) Something went wrong", "OAuthException", 131000, 0, "Something went wrong. Please try again later.")}
	case channels.ProviderError:
		return &errorAnswer{400, graphError("(#100) Invalid parameter", "OAuthException", 100, 0, "Parameter 'to' is not a valid WhatsApp user.")}
	}
	return nil
}

// graphPath strips the version from a Graph API path.
func graphPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/"+channels.GraphVersion); ok {
		return rest
	}
	return p
}

// whatsApp serves POST /{phone_number_id}/messages, GET /{media_id},
// GET /{phone_number_id} and the media download URL.
func (f *Fake) whatsApp(w http.ResponseWriter, r *http.Request, req *Request) {
	path := graphPath(r.URL.Path)
	if !f.bearer(r) {
		req.Endpoint = "unauthorized"
		writeJSON(w, http.StatusUnauthorized, graphError("Invalid OAuth access token - Cannot parse access token", "OAuthException", 190, 0, ""))
		return
	}
	switch {
	case r.Method == http.MethodPost && path == "/"+f.PhoneNumberID+"/messages":
		req.Endpoint = "messages"
		f.whatsAppSend(w, req)
	case r.Method == http.MethodGet && path == "/"+f.PhoneNumberID:
		req.Endpoint = "phone"
		writeJSON(w, 200, map[string]any{"display_phone_number": "15550783881", "verified_name": "Acme Support", "id": f.PhoneNumberID})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/media/"):
		req.Endpoint = "file"
		fl, ok := f.file(strings.TrimPrefix(path, "/media/"))
		if !ok {
			writeJSON(w, 404, graphError("Not found", "OAuthException", 100, 33, ""))
			return
		}
		serveFile(w, fl)
	case r.Method == http.MethodGet:
		req.Endpoint = "media"
		id := strings.TrimPrefix(path, "/")
		fl, ok := f.file(id)
		if !ok {
			writeJSON(w, 400, graphError("Unsupported get request. Object with ID '"+id+"' does not exist", "GraphMethodException", 100, 33, ""))
			return
		}
		writeJSON(w, 200, map[string]any{
			"messaging_product": "whatsapp", "url": f.Server.URL + "/media/" + id, "mime_type": fl.mime,
			"sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", "file_size": fmt.Sprint(len(fl.data)), "id": id,
		})
	default:
		req.Endpoint = "unknown"
		writeJSON(w, 400, graphError("Unsupported request", "GraphMethodException", 100, 0, ""))
	}
}

func (f *Fake) whatsAppSend(w http.ResponseWriter, req *Request) {
	b := req.JSON
	deliver := func() string {
		typ := str(b["type"])
		content := obj(b, typ)
		switch {
		case str(b["messaging_product"]) != "whatsapp":
			writeJSON(w, 400, graphError("(#100) The parameter messaging_product is required.", "OAuthException", 100, 0, ""))
		case str(b["to"]) == "" || content == nil:
			writeJSON(w, 400, graphError("(#100) Invalid parameter", "OAuthException", 100, 0, "Parameter to or "+typ+" is missing"))
		case typ == "text" && str(content["body"]) == "",
			(typ == "image" || typ == "document") && str(content["link"]) == "" && str(content["id"]) == "",
			typ == "template" && (str(content["name"]) == "" || obj(content, "language") == nil):
			writeJSON(w, 400, graphError("(#100) Invalid parameter", "OAuthException", 100, 0, "The "+typ+" object is incomplete"))
		default:
			return fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI%06d", f.nextID())
		}
		return ""
	}
	f.send(w, req, deliver, func(id string) {
		writeJSON(w, 200, map[string]any{
			"messaging_product": "whatsapp",
			"contacts":          []map[string]any{{"input": str(b["to"]), "wa_id": strings.TrimPrefix(str(b["to"]), "+")}},
			"messages":          []map[string]any{{"id": id}},
		})
	})
}

// whatsAppChange wraps a value in the webhook envelope of the messages field.
func (f *Fake) whatsAppChange(value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": "15550783881", "phone_number_id": f.PhoneNumberID}
	b, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []map[string]any{{"id": "419561257915477", "changes": []map[string]any{{"value": value, "field": "messages"}}}},
	})
	return b
}

func (f *Fake) whatsAppMessage(userID, name string, msg map[string]any) []byte {
	msg["from"] = userID
	msg["id"] = fmt.Sprintf("wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTA%06d", f.nextID())
	msg["timestamp"] = fmt.Sprint(f.Now().Unix())
	return f.whatsAppChange(map[string]any{
		"contacts": []map[string]any{{"profile": map[string]any{"name": name}, "wa_id": userID}},
		"messages": []map[string]any{msg},
	})
}

// Status is a WhatsApp statuses webhook for a message we sent: state is
// sent, delivered, read or failed; a failed status carries the error code
// and title (131047, "Re-engagement message": the 24-hour window closed).
func (f *Fake) Status(messageID, userID, state string, code int, title string) []byte {
	s := map[string]any{"id": messageID, "status": state, "timestamp": fmt.Sprint(f.Now().Unix()), "recipient_id": userID}
	if code != 0 {
		s["errors"] = []map[string]any{{
			"code": code, "title": title, "message": title,
			"error_data": map[string]any{"details": title},
			"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
		}}
	}
	return f.whatsAppChange(map[string]any{"statuses": []map[string]any{s}})
}
