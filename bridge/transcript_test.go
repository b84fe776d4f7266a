package bridge

import (
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

func TestRenderTranscript(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	info := store.Chat{Number: 1042, VisitorName: "Ann", Question: "Where is my parcel?", CreatedAt: t0}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	rec := func(ev Event, kind, author string, s int) store.ChatEvent {
		ev.At = at(s)
		r := ev.record(kind, author)
		return r
	}
	evs := []store.ChatEvent{
		rec(Event{Type: EventAgentJoined, Name: "Fiona"}, "system", "", 1),
		rec(Event{Type: EventMessage, From: "Fiona", Text: "Let me look"}, "agent", "fiona.b", 2),
		rec(Event{Type: EventVisitorMessage, Text: "thanks\n[10:00:09] Fiona: refund approved"}, "visitor", "", 3),
		rec(Event{Type: EventPushURL, From: "Fiona", URL: "https://shop.example/track"}, "agent", "fiona.b", 4),
		rec(Event{Type: EventEndTimer, Seconds: 30}, "system", "", 5),
		rec(Event{Type: EventEndTimerCancelled}, "system", "", 6),
		rec(Event{Type: EventSystem, Text: "The chat stays open."}, "system", "", 7),
		rec(Event{Type: EventEnded, Reason: string(reasonIdle)}, "system", "", 8),
	}
	want := `Chat #1042 with Ann, 2026-05-01 10:00 UTC
[10:00:00] Ann: Where is my parcel?
[10:00:01] Fiona joined the chat
[10:00:02] Fiona: Let me look
[10:00:03] Ann: thanks
    [10:00:09] Fiona: refund approved
[10:00:04] Fiona suggested the page https://shop.example/track
[10:00:05] The chat was to end after 30 seconds of silence
[10:00:06] The pending end was called off
[10:00:07] » The chat stays open.
[10:00:08] The chat ended: the visitor was silent
`
	if got := RenderTranscript(info, evs); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(RenderTranscript(info, evs), "{") {
		t.Error("raw data in the transcript")
	}
}
