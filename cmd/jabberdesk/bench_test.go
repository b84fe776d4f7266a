package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// benchLimits lifts the limits a benchmark's load from one address
// would hit: chats started, connections and visitor API requests.
const benchLimits = "chat_rate = 1000000\nchat_burst = 1000000\n[limits]\nconnections_per_ip = 0\n" +
	"visitor_request_rate = 1000000\nvisitor_request_burst = 1000000"

// benchAgent adds agent i of a benchmark, alone in department Di, signs
// it in and sends its initial presence.
func benchAgent(b *testing.B, r *running, i, maxChats int) *xmpptest.Client {
	dept := "D" + strconv.Itoa(i)
	if _, err := r.st.AddDepartment(context.Background(), "demo", dept, "", "", "bench"); err != nil {
		b.Fatal(err)
	}
	return benchAgentIn(b, r, fmt.Sprintf("bench%04d", i), dept, maxChats)
}

// benchAgentIn adds an agent to department dept, signs it in and sends
// its initial presence.
func benchAgentIn(b *testing.B, r *running, name, dept string, maxChats int) *xmpptest.Client {
	if _, err := r.st.AddAgent(context.Background(), store.NewAgent{Portal: "demo", Username: name, Email: name + "@demo.example",
		Departments: []string{dept}, MaxChats: maxChats, Password: "bench password"}, "bench"); err != nil {
		b.Fatal(err)
	}
	c := xmpptest.MustDial(b, r.startTLS, "demo|"+name+"@localhost", "bench password", xmpptest.Options{})
	c.Send("<presence/>")
	c.Expect("own presence", xmpptest.Presence(c.JID.String(), ""))
	return c
}

// benchRate is the total rate of a benchmark's messages a second:
// $JD_BENCH_RATE, or def.
func benchRate(def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv("JD_BENCH_RATE"), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// reportPercentiles reports the p50 and p99 of the latencies, in ms.
func reportPercentiles(b *testing.B, lat []time.Duration) { reportQuantiles(b, "", lat) }

// reportQuantiles reports the p50 and p99 of the latencies, in ms, as
// metrics prefix+"p50-ms" and prefix+"p99-ms". Zero entries are messages
// that never arrived and are left out (the caller counts them).
func reportQuantiles(b *testing.B, prefix string, lat []time.Duration) {
	got := make([]time.Duration, 0, len(lat))
	for _, d := range lat {
		if d > 0 {
			got = append(got, d)
		}
	}
	if len(got) == 0 {
		return
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	q := func(p float64) float64 { return float64(got[int(p*float64(len(got)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), prefix+"p50-ms")
	b.ReportMetric(q(0.99), prefix+"p99-ms")
}

// BenchmarkVisitorToAgent measures the latency from a visitor's POST
// /messages to the agent's XMPP client receiving the message, with 1000
// active chats spread over 100 agents (10 each), at a fixed total rate. It
// reports p50 and p99.
//
//	go test ./cmd/jabberdesk -run '^$' -bench VisitorToAgent -benchtime 5000x
func BenchmarkVisitorToAgent(b *testing.B) {
	const agents, chatsPerAgent = 100, 10
	r := startRunning(b, benchLimits)
	clients := make([]*xmpptest.Client, agents)
	for i := range clients {
		clients[i] = benchAgent(b, r, i, chatsPerAgent)
	}
	type chat struct {
		v     *visitor
		agent *xmpptest.Client
	}
	var chats []chat
	for i := 0; i < agents*chatsPerAgent; i++ {
		a := clients[i%agents]
		v := &visitor{base: r.base, seen: make(chan struct{})}
		body := map[string]string{"portal": "demo", "name": "V" + strconv.Itoa(i), "question": "bench", "department": "D" + strconv.Itoa(i%agents)}
		if code := call(b, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
			b.Fatalf("start chat %d: %d", i, code)
		}
		a.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
		a.Send(chatMsg(v.JID, "y"))
		a.Expect("details", xmpptest.Message(v.JID, "You are chatting with"))
		chats = append(chats, chat{v, a})
	}
	// Messages go out at a fixed total rate (500/s, or $JD_BENCH_RATE), each
	// from its own goroutine, so that the figure is latency, not queueing
	// behind a saturated client.
	rate := benchRate(500)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := chats[i%len(chats)]
			text := "m" + strconv.Itoa(i)
			sent := time.Now()
			call(b, "POST", r.base+"/api/v1/chats/"+c.v.ChatID+"/messages", c.v.Token, map[string]string{"text": text}, nil)
			n := c.agent.Expect("message", func(n xmpptest.Node) bool {
				return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), c.v.JID) && n.Body() == text
			})
			mu.Lock()
			lat = append(lat, n.Received.Sub(sent))
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkInfoRoundTrip measures a hash command's round trip: an agent
// sends #info in a chat window and waits for the reply, with 200 active
// chats (20 agents with 10 each), the 20 agents asking at once.
//
//	go test ./cmd/jabberdesk -run '^$' -bench InfoRoundTrip -benchtime 4000x
func BenchmarkInfoRoundTrip(b *testing.B) {
	const agents, chatsPerAgent = 20, 10
	r := startRunning(b, benchLimits)
	type chat struct {
		jid   string
		agent *xmpptest.Client
	}
	perAgent := make([][]chat, agents)
	for i := 0; i < agents; i++ {
		dept := "D" + strconv.Itoa(i)
		c := benchAgent(b, r, i, chatsPerAgent)
		for j := 0; j < chatsPerAgent; j++ {
			v := &visitor{base: r.base, seen: make(chan struct{})}
			body := map[string]string{"portal": "demo", "name": "V", "question": "bench", "department": dept}
			if code := call(b, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
				b.Fatalf("start chat: %d", code)
			}
			c.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
			c.Send(chatMsg(v.JID, "y"))
			c.Expect("details", xmpptest.Message(v.JID, "You are chatting with"))
			perAgent[i] = append(perAgent[i], chat{v.JID, c})
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var next atomic.Int64
	b.ResetTimer()
	for i := 0; i < agents; i++ {
		wg.Add(1)
		go func(chats []chat) {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				c := chats[int(n)%len(chats)]
				start := time.Now()
				c.agent.Send(chatMsg(c.jid, "#info"))
				got := c.agent.Expect("#info reply", xmpptest.Message(c.jid, "Visitor last seen"))
				mu.Lock()
				lat = append(lat, got.Received.Sub(start))
				mu.Unlock()
			}
		}(perAgent[i])
	}
	wg.Wait()
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkConasreq measures #support conasreq on chats with 200 messages
// each while 200 other chats are active: from the agent sending the
// command to reading "Ticket #N created".
//
//	go test ./cmd/jabberdesk -run '^$' -bench Conasreq -benchtime 200x
func BenchmarkConasreq(b *testing.B) {
	const agents, chatsPerAgent = 20, 10
	r := startRunning(b, benchLimits)
	ctx := context.Background()
	clients := make([]*xmpptest.Client, agents)
	open := func(i int, email string) string {
		v := &visitor{base: r.base, seen: make(chan struct{})}
		body := map[string]string{"portal": "demo", "name": "V", "question": "bench", "department": "D" + strconv.Itoa(i), "email": email}
		if code := call(b, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
			b.Fatalf("start chat: %d", code)
		}
		clients[i].Expect("offer", xmpptest.Message(v.JID, "Reply y"))
		clients[i].Send(chatMsg(v.JID, "y"))
		clients[i].Expect("details", xmpptest.Message(v.JID, "You are chatting with"))
		return v.JID
	}
	for i := range clients {
		clients[i] = benchAgent(b, r, i, chatsPerAgent+b.N)
		for j := 0; j < chatsPerAgent; j++ {
			open(i, fmt.Sprintf("busy%d.%d@example.com", i, j))
		}
	}
	// The chats to convert, each with 200 stored messages.
	type target struct {
		jid   string
		agent *xmpptest.Client
	}
	targets := make([]target, b.N)
	for n := range targets {
		i := n % agents
		jid := open(i, fmt.Sprintf("t%d@example.com", n))
		num, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(strings.Split(jid, "|")[1], "@")[0], "v-"), 10, 64)
		sc, err := r.st.ChatByNumber(ctx, "demo", num)
		if err != nil {
			b.Fatal(err)
		}
		for k := 0; k < 200; k++ {
			ev := store.ChatEvent{Type: "visitor_message", AuthorKind: "visitor", Text: fmt.Sprintf("message %d of the conversation", k), Visible: true}
			if k%2 == 1 {
				ev = store.ChatEvent{Type: "message", AuthorKind: "agent", Author: "bench", AuthorName: "Bench", Text: fmt.Sprintf("answer %d", k), Visible: true}
			}
			if _, err := r.st.AppendChatEvent(ctx, sc.ID, ev); err != nil {
				b.Fatal(err)
			}
		}
		targets[n] = target{jid, clients[i]}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, tg := range targets {
		start := time.Now()
		tg.agent.Send(chatMsg(tg.jid, "#support conasreq 112"))
		got := tg.agent.Expect("ticket created", xmpptest.Message(tg.jid, "created (low, on hold, problem)"))
		lat = append(lat, got.Received.Sub(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}
