package xmppd

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// BenchmarkAcknowledgedMessages measures what an acknowledgement costs
// clients with stream management: each of the senders (1, then 20
// resources of one agent) writes windows of 10 messages to a colleague,
// each window followed by <r/>, and waits for the server's <a/> before
// the next. It reports messages/s in all and the time from <r/> to <a/>
// (p50, p99): with acknowledgements that wait for the archive, that is
// the time to the next archive commit.
//
//	go test ./xmppd -run '^$' -bench AcknowledgedMessages -benchtime 20000x
func BenchmarkAcknowledgedMessages(b *testing.B) {
	for _, senders := range []int{1, 20} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) { benchAcknowledged(b, senders) })
	}
}

func benchAcknowledged(b *testing.B, senders int) {
	env := newTestEnv(b, withResume(time.Minute), func(c *Config) { c.Limits.StanzaRate = 0 })
	env.login("george.w", "desk", true) // the recipient, online
	var clients []*xmpptest.Client
	for i := 0; i < senders; i++ {
		c := env.login("fiona.b", fmt.Sprintf("r%d", i), true)
		c.Send("<enable xmlns='urn:xmpp:sm:3'/>")
		c.Expect("enabled", func(n xmpptest.Node) bool { return n.XMLName.Local == "enabled" })
		clients = append(clients, c)
	}
	const window = 10
	per := max(window, b.N/senders/window*window)
	waits := make([][]time.Duration, senders)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for k, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent := 0; sent < per; {
				for i := 0; i < window; i++ {
					c.Send(fmt.Sprintf("<message type='chat' to='%s'><body>m%d</body></message>", jidOf("george.w"), sent))
					sent++
				}
				t0 := time.Now()
				c.Send("<r xmlns='urn:xmpp:sm:3'/>")
				if _, ok := c.Wait(xmpptest.Timeout, func(n xmpptest.Node) bool { return n.XMLName.Local == "a" }); !ok {
					b.Error("no <a/>")
					return
				}
				waits[k] = append(waits[k], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, w := range waits {
		all = append(all, w...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	b.ReportMetric(float64(per*senders)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "ack-p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "ack-p99-ms")
}
