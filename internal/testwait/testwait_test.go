package testwait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(1)
	}()
	calls := 0
	For(t, "the flag", func() bool { calls++; return n.Load() == 1 })
	if calls < 2 {
		t.Fatalf("the condition was checked %d times; it held only later", calls)
	}
}
