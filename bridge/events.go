package bridge

import (
	"encoding/json"
	"time"

	"jabberdesk/store"
)

// Event types the visitor sees (docs/VISITOR-API.md §5).
const (
	EventMessage           = "message"      // an agent's words: From, Text
	EventSystem            = "system"       // Text
	EventAgentJoined       = "agent_joined" // Name
	EventAgentLeft         = "agent_left"   // Name
	EventTyping            = "typing"       // State, From; never stored (Seq 0)
	EventPushURL           = "push_url"     // URL
	EventEndTimer          = "end_timer"    // Seconds
	EventEndTimerCancelled = "end_timer_cancelled"
	EventEnded             = "ended"           // Reason, Rate
	EventVisitorMessage    = "visitor_message" // the visitor's own words, echoed to other tabs: Text, ClientID
	EventRated             = "rated"           // the visitor rated the chat after its end: Stars, Text (the comment)
)

// Event is one item of a chat's visitor event log, as sent over the
// WebSocket and the long poll.
type Event struct {
	Seq      int64     `json:"seq"`
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	From     string    `json:"from,omitempty"`
	Name     string    `json:"name,omitempty"`
	Text     string    `json:"text,omitempty"`
	State    string    `json:"state,omitempty"`
	URL      string    `json:"url,omitempty"`
	Seconds  int       `json:"seconds,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	ClientID string    `json:"client_id,omitempty"`
	// Files are the files of a message (files.go); Text has a line for
	// each after the words.
	Files []File `json:"files,omitempty"`
	Rate  bool   `json:"rate,omitempty"`  // ended: the visitor is asked to rate the chat
	Stars int    `json:"stars,omitempty"` // rated: 1 to 5

	// Of a channel chat: the stored customer message this event shows
	// (marked delivered with it), and what the event sends the customer
	// (queued with it).
	inbound int64
	out     *store.Outbound
}

// extra is the part of an Event kept in chat_events.data.
type extra struct {
	Name     string `json:"name,omitempty"`
	State    string `json:"state,omitempty"`
	URL      string `json:"url,omitempty"`
	Seconds  int    `json:"seconds,omitempty"`
	Reason   string `json:"reason,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Files    []File `json:"files,omitempty"`
	Rate     bool   `json:"rate,omitempty"`
	Stars    int    `json:"stars,omitempty"`
}

// record converts an event to its stored form.
func (ev Event) record(kind, author string) store.ChatEvent {
	x := extra{Name: ev.Name, State: ev.State, URL: ev.URL, Seconds: ev.Seconds, Reason: ev.Reason, ClientID: ev.ClientID, Files: ev.Files, Rate: ev.Rate, Stars: ev.Stars}
	var data string
	if b, _ := json.Marshal(x); string(b) != "{}" { // strings, ints, a bool and files: it cannot fail
		data = string(b)
	}
	r := store.ChatEvent{At: ev.At, Type: ev.Type, AuthorKind: kind, Author: author, AuthorName: ev.From, Text: ev.Text, Data: data, Visible: true,
		InboundID: ev.inbound}
	r.Outbound = ev.out
	return r
}

// eventFromRecord converts a stored visible event back.
func eventFromRecord(r store.ChatEvent) Event {
	ev := Event{Seq: r.Seq, Type: r.Type, At: r.At, From: r.AuthorName, Text: r.Text}
	if r.AuthorKind != "agent" {
		ev.From = ""
	}
	if r.Data != "" {
		var x extra
		if json.Unmarshal([]byte(r.Data), &x) == nil {
			ev.Name, ev.State, ev.URL, ev.Seconds, ev.Reason, ev.ClientID, ev.Files = x.Name, x.State, x.URL, x.Seconds, x.Reason, x.ClientID, x.Files
			ev.Rate, ev.Stars = x.Rate, x.Stars
		}
	}
	return ev
}
