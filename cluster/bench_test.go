package cluster

import (
	"fmt"
	"testing"
	"time"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

// BenchmarkDirectory20k: one node adds 20,000 sessions; another joins
// (and so loads them all); the loop is a lookup on the node that joined.
// The first node is then lost, and the time until its sessions are
// purged is reported. No number is asserted.
func BenchmarkDirectory20k(b *testing.B) {
	const n = 20000
	url, _ := clustertest.Server(b)
	ctx := ctxFor(b)
	src := join(b, url, "src")
	jids := make([]string, n/2) // two sessions each
	for i := range jids {
		jids[i] = fmt.Sprintf("acme|agent%d@example.com", i)
	}
	jid := func(i int) string { return jids[i/2] }
	res := func(i int) string { return fmt.Sprintf("phone-%d", i%2) }
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	start := time.Now()
	if err := parallel(ids, func(i int) error { return src.AddSession(ctx, jid(i), res(i)) }); err != nil {
		b.Fatal(err)
	}
	added := time.Since(start)
	testwait.For(b, "the source's directory", func() bool { return len(src.dir.keysOf("src")) == n })

	start = time.Now()
	dst := join(b, url, "dst")
	joined := time.Since(start)
	if got := len(dst.dir.keysOf("src")); got != n {
		b.Fatalf("after Join the directory has %d sessions of %d", got, n)
	}

	b.ResetTimer()
	i := 0
	for b.Loop() {
		if len(dst.Sessions(jids[i%len(jids)])) != 2 {
			b.Fatal("a lookup missed")
		}
		i++
	}
	b.StopTimer()

	lost := make(chan time.Time, 1)
	dst.OnNodeLost(func(string) { lost <- time.Now() })
	src.Close()
	at := <-lost
	testwait.For(b, "the lost node's sessions to be purged", func() bool { return len(dst.dir.keysOf("src")) == 0 })
	purged := time.Since(at)

	b.ReportMetric(float64(n)/added.Seconds(), "adds/s")
	b.ReportMetric(float64(joined.Milliseconds()), "join-load-ms")
	b.ReportMetric(float64(purged.Milliseconds()), "purge-ms")
	b.Logf("%d sessions: added in %v (%.0f/s), a node joining loaded them in %v, a lost node's were purged in %v",
		n, added.Round(time.Millisecond), float64(n)/added.Seconds(), joined.Round(time.Millisecond), purged.Round(time.Millisecond))
}
