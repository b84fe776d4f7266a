package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// Channel benchmark sizes: a channel of each provider type, routed round
// robin to its own department of agentsPerType agents holding
// chatsPerAgent customer chats each (100 per type, 500 in all).
const (
	agentsPerType = 10
	chatsPerAgent = 10
)

var benchChannelTypes = []channels.Type{channels.Telegram, channels.WhatsApp, channels.LINE, channels.Messenger, channels.Instagram}

// benchChannel is a channel of the benchmark: its provider's fake, behind
// a front that notes when each agent message reaches the fake's send
// endpoint.
type benchChannel struct {
	fake *channelstest.Fake
	hook string

	mu      sync.Mutex
	arrived map[int64]chan time.Time // by the number in "jdo N"
}

// expectSend registers outbound message n; its time of arrival at the
// fake will be on the channel returned.
func (c *benchChannel) expectSend(n int64) chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.arrived[n] = ch
	c.mu.Unlock()
	return ch
}

// front notes the arrival of "jdo N" messages, then lets the fake answer.
func (c *benchChannel) front(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if i := bytes.Index(body, []byte("jdo ")); i >= 0 {
		rest := body[i+4:]
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		if n, err := strconv.ParseInt(string(rest[:end]), 10, 64); err == nil {
			c.mu.Lock()
			ch := c.arrived[n]
			delete(c.arrived, n)
			c.mu.Unlock()
			if ch != nil {
				ch <- at
			}
		}
	}
	c.fake.Server.Config.Handler.ServeHTTP(w, r)
}

// benchCustomer is one channel customer's chat, accepted by an agent.
type benchCustomer struct {
	ch      *benchChannel
	user    string
	name    string
	contact string // the chat's contact in the agent's roster
	agent   *xmpptest.Client
}

// channelBench is a running server with benchChannelTypes channels and
// their customers' chats, all active.
type channelBench struct {
	customers []*benchCustomer
	client    *http.Client // the providers' side: keeps connections open
}

// asLoad runs f with the profile label side=load, inherited by the
// goroutines it starts: in a CPU profile (go tool pprof -tags) the load
// generator and the fakes are then told apart from the server.
func asLoad(f func()) {
	pprof.Do(context.Background(), pprof.Labels("side", "load"), func(context.Context) { f() })
}

// startChannelBench starts the server and opens every customer chat:
// each customer's first message arrives by webhook and an agent of the
// channel's department accepts the offer.
func startChannelBench(b *testing.B) *channelBench {
	r := startRunning(b, `public_url = "https://desk.example"`, "connections_per_ip = 100000", "[limits]", "connections_per_ip = 0")
	cb := &channelBench{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}, Timeout: time.Minute}}
	b.Cleanup(cb.client.CloseIdleConnections)
	ctx := context.Background()
	type accepted struct {
		user, contact string
		agent         *xmpptest.Client
	}
	acceptedc := make(chan accepted, len(benchChannelTypes)*agentsPerType*chatsPerAgent)
	byUser := map[string]*benchCustomer{}
	for ti, typ := range benchChannelTypes {
		dept := "Bench " + string(typ)
		if _, err := r.st.AddDepartment(ctx, "demo", dept, "", store.RoutingRoundRobin, "bench"); err != nil {
			b.Fatal(err)
		}
		ch := &benchChannel{arrived: map[int64]chan time.Time{}}
		var front *httptest.Server
		asLoad(func() {
			ch.fake = channelstest.New(b, typ)
			front = httptest.NewServer(http.HandlerFunc(ch.front))
		})
		b.Cleanup(front.Close)
		apiBase := front.URL + strings.TrimPrefix(ch.fake.URL, ch.fake.Server.URL)
		sc, err := r.st.AddChannel(ctx, store.NewChannel{Portal: "demo", Name: "bench-" + string(typ), Type: store.ChannelType(typ),
			Department: dept, APIBase: apiBase, Secrets: fakeSecrets(ch.fake)}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		ch.hook = r.base + "/hooks/" + sc.PublicID
		for j := 0; j < agentsPerType; j++ {
			var a *xmpptest.Client
			asLoad(func() { a = benchAgentIn(b, r, fmt.Sprintf("ch%d.%02d", ti, j), dept, chatsPerAgent) })
			// The agent accepts its offers, and learns from the details
			// which customer each chat is with.
			go func() {
				for range chatsPerAgent {
					offer, ok := a.Wait(time.Minute, xmpptest.Message("demo|v-", "Reply y to accept"))
					if !ok {
						return
					}
					contact, _, _ := strings.Cut(offer.Attr("from"), "/")
					a.Send(chatMsg(contact, "y"))
					details, ok := a.Wait(time.Minute, xmpptest.Message(contact, "Customer id: "))
					if !ok {
						return
					}
					_, id, _ := strings.Cut(details.Body(), "Customer id: ")
					id, _, _ = strings.Cut(id, "\n")
					acceptedc <- accepted{id, contact, a}
				}
			}()
		}
		for k := 0; k < agentsPerType*chatsPerAgent; k++ {
			n := ti*agentsPerType*chatsPerAgent + k
			c := &benchCustomer{ch: ch, user: fmt.Sprintf("49151%07d", n), name: fmt.Sprintf("Customer%d Bench", n)}
			if typ == channels.LINE {
				c.user = fmt.Sprintf("U%032x", n)
			}
			ch.fake.SetProfile(c.user, c.name)
			byUser[c.user] = c
			cb.customers = append(cb.customers, c)
		}
	}
	// First messages, a type after another, so that every department
	// fills up at once. (The providers' connections opened here serve the
	// benchmark too: they belong to the load.)
	asLoad(func() {
		for k := 0; k < agentsPerType*chatsPerAgent; k++ {
			for ti := range benchChannelTypes {
				c := cb.customers[ti*agentsPerType*chatsPerAgent+k]
				if code, err := cb.post(c, c.ch.fake.TextMessage(c.user, c.name, "hello from "+c.user)); err != nil || code != http.StatusOK {
					b.Fatalf("first message of %s: %d %v", c.user, code, err)
				}
			}
		}
	})
	timeout := time.After(2 * time.Minute)
	for range cb.customers {
		select {
		case a := <-acceptedc:
			c := byUser[a.user]
			if c == nil {
				b.Fatalf("chat with unknown customer %q", a.user)
			}
			c.contact, c.agent = a.contact, a.agent
		case <-timeout:
			b.Fatal("not every customer chat was accepted in time")
		}
	}
	return cb
}

// post sends a customer's webhook body as the provider does, signed.
func (cb *channelBench) post(c *benchCustomer, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, c.ch.hook, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range c.ch.fake.Sign(body) {
		req.Header[k] = v
	}
	res, err := cb.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// openLoop calls send(i) for i < n, each in its own goroutine, at rate a
// second on a fixed schedule: a slow server does not slow the sender
// down. It waits for every send and returns how late each started after
// its time on the schedule (the sender's own wake-ups: on an idle
// machine a fraction of a millisecond).
func openLoop(n int, rate float64, send func(i int)) (lag []time.Duration) {
	lag = make([]time.Duration, n)
	var wg sync.WaitGroup
	asLoad(func() {
		period := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		for i := 0; i < n; i++ {
			due := start.Add(time.Duration(i) * period)
			time.Sleep(time.Until(due))
			lag[i] = max(time.Since(due), time.Nanosecond)
			wg.Add(1)
			go func() {
				defer wg.Done()
				send(i)
			}()
		}
		wg.Wait()
	})
	return lag
}

// cpuTimes are the CPU time this process and the whole machine have
// used so far, user and system, from Linux's /proc (zero elsewhere).
func cpuTimes() (self, machine time.Duration) {
	const tick = 10 * time.Millisecond // USER_HZ
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the command's closing parenthesis; utime and stime
		// are the 12th and 13th.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				s, _ := strconv.ParseInt(f[12], 10, 64)
				self = time.Duration(u+s) * tick
			}
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		// cpu user nice system idle iowait irq softirq steal …: busy is
		// all but idle and iowait.
		for i, v := range strings.Fields(line) {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && i != 4 && i != 5 && i <= 8 {
				machine += time.Duration(n) * tick
			}
		}
	}
	return self, machine
}

// cpuMeter measures the CPU used during a run: by this process (server,
// agents' clients, load and fakes) and by every other process on the
// machine, in cores.
type cpuMeter struct {
	self, machine time.Duration
	wall          time.Time
}

func startCPU() cpuMeter {
	self, machine := cpuTimes()
	return cpuMeter{self, machine, time.Now()}
}

// report reports cpu-cores (this process) and others-cores (the rest of
// the machine: figures taken while others-cores is well above zero were
// taken on a shared machine).
func (m cpuMeter) report(b *testing.B) {
	self, machine := cpuTimes()
	wall := float64(time.Since(m.wall))
	b.ReportMetric(float64(self-m.self)/wall, "cpu-cores")
	b.ReportMetric(max(0, float64(machine-m.machine-(self-m.self))/wall), "others-cores")
}

// BenchmarkChannels measures channel customers' messages end to end with
// 500 active customer chats: 100 on each of a Telegram, WhatsApp, LINE,
// Messenger and Instagram channel (the providers' fakes, on loopback),
// held by 50 agents signed in over STARTTLS with mellium's client, 10
// chats each. Messages go out at a fixed total rate (200/s, or
// $JD_BENCH_RATE) spread over the chats in turn, each from its own
// goroutine.
//
//   - inbound: from just before the webhook POST to the agent's client
//     reading the message (p50-ms, p99-ms), and the POST's own answer
//     (hook-p50-ms, hook-p99-ms: the message is stored by then);
//   - outbound: from the agent sending the message to the provider's
//     fake receiving the send request (p50-ms, p99-ms).
//
// Also reported: lost (messages that never arrived), sender-lag-p50-ms
// and sender-lag-p99-ms (how late messages left after their time on the
// schedule: the load keeps its rate, and on a busy machine this is the
// floor under every latency), cpu-cores (this process: server, clients and fakes) and
// others-cores (the rest of the machine). The load and the fakes carry
// the profile label side=load: with -cpuprofile, go tool pprof -tags
// tells their CPU from the server's.
//
//	go test ./cmd/jabberdesk -run '^$' -bench Channels -benchtime 6000x
func BenchmarkChannels(b *testing.B) {
	cb := startChannelBench(b)
	rate := benchRate(200)
	b.Run("inbound", func(b *testing.B) {
		// The providers' bodies, made and signed before the clock starts.
		bodies := make([][]byte, b.N)
		for i := range bodies {
			c := cb.customers[i%len(cb.customers)]
			bodies[i] = c.ch.fake.TextMessage(c.user, c.name, "jdi "+strconv.Itoa(i))
		}
		lat, hook := make([]time.Duration, b.N), make([]time.Duration, b.N)
		var lost atomic.Int64
		cpu := startCPU()
		b.ResetTimer()
		lag := openLoop(b.N, rate, func(i int) {
			c := cb.customers[i%len(cb.customers)]
			text := "jdi " + strconv.Itoa(i)
			sent := time.Now()
			code, err := cb.post(c, bodies[i])
			hook[i] = time.Since(sent)
			if err != nil || code != http.StatusOK {
				b.Errorf("webhook: %d %v", code, err)
				lost.Add(1)
				return
			}
			n, ok := c.agent.Wait(time.Minute, func(n xmpptest.Node) bool {
				return n.XMLName.Local == "message" && strings.HasPrefix(n.Attr("from"), c.contact) && n.Body() == text
			})
			if !ok {
				lost.Add(1)
				return
			}
			lat[i] = n.Received.Sub(sent)
		})
		b.StopTimer()
		cpu.report(b)
		reportPercentiles(b, lat)
		reportQuantiles(b, "hook-", hook)
		reportQuantiles(b, "sender-lag-", lag)
		b.ReportMetric(float64(lost.Load()), "lost")
	})
	var seq atomic.Int64
	b.Run("outbound", func(b *testing.B) {
		lat := make([]time.Duration, b.N)
		var lost atomic.Int64
		cpu := startCPU()
		b.ResetTimer()
		lag := openLoop(b.N, rate, func(i int) {
			c := cb.customers[i%len(cb.customers)]
			n := seq.Add(1)
			arrived := c.ch.expectSend(n)
			sent := time.Now()
			c.agent.Send(chatMsg(c.contact, "jdo "+strconv.FormatInt(n, 10)))
			select {
			case at := <-arrived:
				lat[i] = at.Sub(sent)
			case <-time.After(time.Minute):
				lost.Add(1)
			}
		})
		b.StopTimer()
		cpu.report(b)
		reportPercentiles(b, lat)
		reportQuantiles(b, "sender-lag-", lag)
		b.ReportMetric(float64(lost.Load()), "lost")
	})
}
