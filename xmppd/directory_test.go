package xmppd

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// Sessions of a portal signing in together load its agents once.
func TestDirectoryLoadsAPortalOnce(t *testing.T) {
	t.Parallel()
	var loads atomic.Int64
	release := make(chan struct{})
	d := &directory{portals: make(map[string]*portalDir), loading: make(map[string]*dirLoad),
		agents: func(ctx context.Context, portal string) ([]store.Agent, error) {
			loads.Add(1)
			<-release
			return []store.Agent{{Portal: portal, Username: "fiona.b"}}, nil
		}}
	var wg sync.WaitGroup
	var found atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := d.get(context.Background(), "acme")
			if err != nil {
				t.Error(err)
				return
			}
			if _, ok := p.agent("fiona.b"); ok {
				found.Add(1)
			}
		}()
	}
	testwait.For(t, "a load under way", func() bool { return loads.Load() > 0 })
	time.Sleep(10 * time.Millisecond) // let the other callers find it
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if found.Load() != 50 {
		t.Errorf("%d of 50 callers saw the agent", found.Load())
	}
}
