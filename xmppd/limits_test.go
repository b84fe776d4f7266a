package xmppd

import (
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	b := tokenBucket{rate: 10, burst: 5}
	now := time.Unix(0, 0)
	for i := 0; i < 5; i++ {
		if d := b.wait(now); d != 0 {
			t.Fatalf("burst %d waited %v", i, d)
		}
	}
	if d := b.wait(now); d <= 0 || d > 200*time.Millisecond {
		t.Fatalf("over the burst: %v", d)
	}
	if d := (&tokenBucket{}).wait(now); d != 0 {
		t.Fatal("rate 0 must mean unlimited")
	}
}
