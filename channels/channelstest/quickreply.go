package channelstest

import (
	"unicode/utf8"

	"jabberdesk/channels"
)

// Quick replies as the providers document them: Telegram's reply_markup
// ReplyKeyboardMarkup (keyboard: rows of KeyboardButton, each with a
// text), LINE's quickReply (1 to 13 items of type action; a message
// action has a label of at most 20 characters and a text), Messenger's
// and Instagram's quick_replies (at most 13; a text one has a title and a
// payload).

// QuickReplies returns the answers a sent message offered the customer
// to tap, read from the request in the provider's shape; nil when it
// offered none.
func QuickReplies(typ channels.Type, req Request) []string {
	var out []string
	switch typ {
	case channels.Telegram:
		for _, row := range list(obj(req.JSON, "reply_markup")["keyboard"]) {
			for _, b := range list(row) {
				out = append(out, str(asObj(b)["text"]))
			}
		}
	case channels.LINE:
		for _, m := range list(req.JSON["messages"]) {
			for _, it := range list(obj(asObj(m), "quickReply")["items"]) {
				out = append(out, str(obj(asObj(it), "action")["text"]))
			}
		}
	case channels.Messenger, channels.Instagram:
		for _, q := range list(obj(req.JSON, "message")["quick_replies"]) {
			out = append(out, str(asObj(q)["title"]))
		}
	}
	return out
}

// telegramKeyboardOK says whether reply_markup, when there is one, is a
// keyboard the Bot API parses.
func telegramKeyboardOK(body map[string]any) bool {
	markup, ok := body["reply_markup"]
	if !ok {
		return true
	}
	rows := list(asObj(markup)["keyboard"])
	if len(rows) == 0 {
		return false
	}
	for _, row := range rows {
		buttons := list(row)
		if len(buttons) == 0 {
			return false
		}
		for _, b := range buttons {
			if str(asObj(b)["text"]) == "" {
				return false
			}
		}
	}
	return true
}

// lineQuickReplyOK says whether a message object's quickReply, when it
// has one, is one LINE takes.
func lineQuickReplyOK(m map[string]any) bool {
	qr, ok := m["quickReply"]
	return !ok || quickRepliesOK(asObj(qr)["items"], func(it map[string]any) bool {
		a := obj(it, "action")
		label := str(a["label"])
		return str(it["type"]) == "action" && str(a["type"]) == "message" && label != "" &&
			utf8.RuneCountInString(label) <= channels.QuickReplyMax && str(a["text"]) != ""
	})
}

// metaQuickRepliesOK says whether a message's quick_replies, when it has
// them, are ones the Send API takes.
func metaQuickRepliesOK(msg map[string]any) bool {
	qr, ok := msg["quick_replies"]
	return !ok || str(msg["text"]) != "" && quickRepliesOK(qr, func(it map[string]any) bool {
		return str(it["content_type"]) != "text" || str(it["title"]) != "" && str(it["payload"]) != ""
	})
}

// quickRepliesOK says whether v is a list of 1 to 13 objects that each
// pass ok.
func quickRepliesOK(v any, ok func(map[string]any) bool) bool {
	items := list(v)
	if len(items) < 1 || len(items) > channels.MaxQuickReplies {
		return false
	}
	for _, it := range items {
		if !ok(asObj(it)) {
			return false
		}
	}
	return true
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func asObj(v any) map[string]any {
	o, _ := v.(map[string]any)
	return o
}
