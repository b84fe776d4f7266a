package store

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkArchiveWriter archives messages between two agents through
// the batching writer: "stream" adds them as fast as it can and waits for
// the last (what a busy node does), "flush" waits for each before adding
// the next (a message leaving for another node on a quiet one). Run it on
// PostgreSQL too:
//
//	JABBERDESK_TEST_STORE=postgres go test ./store -run '^$' -bench ArchiveWriter
func BenchmarkArchiveWriter(b *testing.B) {
	for _, mode := range []string{"stream", "flush"} {
		b.Run(mode, func(b *testing.B) {
			s, _ := twoAgents(b)
			w := s.NewArchiveWriter(16384, nil)
			defer w.Close()
			stanza := []byte("<message type='chat'><body>hello</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>")
			start := time.Now()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := w.Add("acme", "fiona.b", "george.w", "acme|fiona.b@x", "acme|george.w@x", fmt.Sprintf("id%d", i), "hello", stanza, time.Time{}); err != nil {
					b.Fatal(err)
				}
				if mode == "flush" {
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
