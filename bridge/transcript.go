package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"jabberdesk/store"
)

// TranscriptLine is one line of a chat's transcript: when, who wrote it
// (store.AuthorVisitor, AuthorAgent or AuthorSystem) and what it says in
// words ("Fiona: …", "Fiona joined the chat").
type TranscriptLine struct {
	At         time.Time
	AuthorKind string
	Text       string
}

// TranscriptLines is a chat as people read it, line by line: the
// visitor's question first, then every event worth a line.
func TranscriptLines(info store.Chat, evs []store.ChatEvent) []TranscriptLine {
	lines := []TranscriptLine{{At: info.CreatedAt, AuthorKind: store.AuthorVisitor, Text: info.VisitorName + ": " + info.Question}}
	for _, r := range evs {
		if text, ok := eventLine(info, r); ok {
			lines = append(lines, TranscriptLine{At: r.At, AuthorKind: r.AuthorKind, Text: text})
		}
	}
	return lines
}

// RenderTranscript is a chat as people read it: a heading, the visitor's
// question, then one line per event ("[15:04:05] Fiona: …", "[15:05:10]
// Fiona joined the chat"), continuation lines indented so that they cannot
// pass for lines of their own. Ticket threads and `chat show` print it.
func RenderTranscript(info store.Chat, evs []store.ChatEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Chat #%d with %s, %s\n", info.Number, info.VisitorName, info.CreatedAt.Format("2006-01-02 15:04 MST"))
	for _, l := range TranscriptLines(info, evs) {
		fmt.Fprintf(&b, "[%s] %s\n", l.At.Format("15:04:05"), strings.ReplaceAll(l.Text, "\n", "\n    "))
	}
	return b.String()
}

// endReasons say why a chat ended, after "The chat ended".
var endReasons = map[endReason]string{
	reasonVisitor:     "the visitor ended it",
	reasonVisitorLeft: "the visitor left",
	reasonMissed:      "nobody could take it",
	reasonAgent:       "an agent ended it",
	reasonIdle:        "the visitor was silent",
	reasonBlocked:     "the visitor was blocked",
}

// eventLine is one stored event in words; ok is false for events that are
// not worth a line.
func eventLine(info store.Chat, r store.ChatEvent) (text string, ok bool) {
	ev := eventFromRecord(r)
	who := r.AuthorName
	if who == "" {
		who = "An agent"
	}
	switch ev.Type {
	case EventVisitorMessage:
		return info.VisitorName + ": " + ev.Text, true
	case EventMessage:
		return who + ": " + ev.Text, true
	case EventSystem:
		return SystemPrefix + ev.Text, true
	case EventAgentJoined:
		return ev.Name + " joined the chat", true
	case EventAgentLeft:
		return ev.Name + " left the chat", true
	case EventPushURL:
		return who + " suggested the page " + WebAddress(ev.URL), true
	case EventEndTimer:
		return "The chat was to end after " + strconv.Itoa(ev.Seconds) + " seconds of silence", true
	case EventEndTimerCancelled:
		return "The pending end was called off", true
	case EventReopened:
		return "Reopened by " + ev.Name, true
	case EventRated:
		return info.VisitorName + " rated the chat " + ratingWords(ev.Stars, ev.Text), true
	case EventEnded:
		why := endReasons[endReason(ev.Reason)]
		if why == "" {
			return "The chat ended", true
		}
		return "The chat ended: " + why, true
	}
	return "", false
}
