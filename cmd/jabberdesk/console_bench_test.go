package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/report/reporttest"
)

// consoleBench is the server the console's benchmarks measure: a year
// of history in portal demo up to yesterday (reporttest.Year: 100 chats
// a day), ten agents signed in over XMPP with five active chats each,
// and Fiona, the demo's supervisor, signed in to the console.
func consoleBench(b *testing.B) (*running, *consoleClient) {
	r := startRunning(b, benchLimits)
	y, m, d := time.Now().Date()
	reporttest.Year(b, r.st, "demo", time.Date(y, m, d-reporttest.Days, 0, 0, 0, 0, time.Local))
	const agents, chatsPerAgent = 10, 5
	for i := range agents {
		c := benchAgent(b, r, i, chatsPerAgent)
		for range chatsPerAgent {
			v := &visitor{base: r.base, seen: make(chan struct{})}
			body := map[string]string{"portal": "demo", "name": "Visitor " + strconv.Itoa(i), "question": "bench", "department": "D" + strconv.Itoa(i)}
			if code := call(b, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
				b.Fatalf("start chat: %d", code)
			}
			c.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
			c.Send(chatMsg(v.JID, "y"))
			c.Expect("details", xmpptest.Message(v.JID, "You are chatting with"))
		}
	}
	cc := r.console(b)
	cc.signIn("demo|fiona.demo", r.passwords["fiona.demo"])
	return r, cc
}

// BenchmarkConsolePages measures the console's pages as a supervisor's
// browser gets them over HTTP: from sending the request to reading the
// whole page, one request at a time, on the server of consoleBench. The
// Reports page draws the period with package report (measures and
// charts) on every request.
//
//	go test ./cmd/jabberdesk -run '^$' -bench ConsolePages/live -benchtime 2000x
//	go test ./cmd/jabberdesk -run '^$' -bench ConsolePages/reports -benchtime 20x
func BenchmarkConsolePages(b *testing.B) {
	_, cc := consoleBench(b)
	for _, p := range []struct{ name, path, want string }{
		{"live", "/console/live", "bench0009"},
		{"reports-7d", "/console/reports", "Chat report: demo"},
		{"reports-30d", "/console/reports?period=30d&group=day", "Chat report: demo"},
		{"reports-365d", "/console/reports?period=365d&group=day", "Chat report: demo"},
	} {
		b.Run(p.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			size := 0
			for b.Loop() {
				start := time.Now()
				res, err := cc.c.Get(cc.base + p.path)
				if err != nil {
					b.Fatal(err)
				}
				page, err := io.ReadAll(res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(start))
				if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(page), p.want) {
					b.Fatalf("%s: %d %v, %d bytes without %q", p.path, res.StatusCode, err, len(page), p.want)
				}
				size = len(page)
			}
			reportPercentiles(b, lat)
			b.ReportMetric(float64(size)/1000, "page-kB")
		})
	}
}

// sseMessage is an event of the console's live stream and when it was
// read.
type sseMessage struct {
	at         time.Time
	name, data string
}

// liveStream reads the console's live stream in the background and
// keeps its events.
type liveStream struct {
	mu     sync.Mutex
	events []sseMessage
}

// openLiveStream opens the live page's stream for cc's session.
func openLiveStream(b *testing.B, cc *consoleClient) *liveStream {
	res, err := cc.c.Get(cc.base + "/console/live/stream")
	if err != nil {
		b.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		b.Fatalf("live stream: %d", res.StatusCode)
	}
	b.Cleanup(func() { res.Body.Close() })
	s := &liveStream{}
	go func() {
		rd := bufio.NewReader(res.Body)
		var name string
		var data strings.Builder // an event's data is thousands of lines
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if name != "" {
					ev := sseMessage{at: time.Now(), name: name, data: data.String()}
					s.mu.Lock()
					s.events = append(s.events, ev)
					s.mu.Unlock()
				}
				name = ""
				data.Reset()
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data.WriteString(strings.TrimPrefix(line, "data: "))
				data.WriteByte('\n')
			}
		}
	}()
	return s
}

// next waits for the first "live" event after the first `after` events
// that satisfies match, and returns it and the count of events up to it.
func (s *liveStream) next(b *testing.B, what string, after int, match func(string) bool) (sseMessage, int) {
	var got sseMessage
	n := after
	testwait.For(b, what, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for ; n < len(s.events); n++ {
			if ev := s.events[n]; ev.name == "live" && match(ev.data) {
				got = ev
				n++
				return true
			}
		}
		return false
	})
	return got, n
}

// BenchmarkConsoleLiveUpdate measures how soon the console's Live page
// shows a new chat: from a visitor's POST /api/v1/chats to the live
// page's event stream delivering the update with the chat waiting, on
// the server of consoleBench. The chat is offered to an agent who does
// not answer; once it shows, the visitor ends it and the next chat
// starts only after the page has shown that, so that each chat's update
// is measured from a stream at rest.
//
//	go test ./cmd/jabberdesk -run '^$' -bench ConsoleLiveUpdate -benchtime 300x
func BenchmarkConsoleLiveUpdate(b *testing.B) {
	r, cc := consoleBench(b)
	lobby := benchAgent(b, r, 99, 1000) // department D99: offered every chat, answers none
	stream := openLiveStream(b, cc)
	_, seen := stream.next(b, "the live page", 0, func(string) bool { return true })
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		v := &visitor{base: r.base, seen: make(chan struct{})}
		body := map[string]string{"portal": "demo", "name": fmt.Sprintf("Waiting %d", i), "question": "bench", "department": "D99"}
		start := time.Now()
		if code := call(b, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
			b.Fatalf("start chat: %d", code)
		}
		form := fmt.Sprintf(`action="/console/chats/%d/assign"`, v.Number)
		var ev sseMessage
		ev, seen = stream.next(b, "the chat on the live page", seen, func(html string) bool { return strings.Contains(html, form) })
		lat = append(lat, ev.at.Sub(start))
		lobby.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
		if code := call(b, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil); code >= 300 {
			b.Fatalf("end chat: %d", code)
		}
		_, seen = stream.next(b, "the chat gone from the live page", seen, func(html string) bool { return !strings.Contains(html, form) })
	}
	reportPercentiles(b, lat)
}
