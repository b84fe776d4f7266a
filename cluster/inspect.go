package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Inspect reads the cluster's nodes from NATS without joining: no
// heartbeat, no session, nothing a node would do. It judges the nodes as
// a member would (a node whose heartbeat is more than takeover older than
// the newest is lost), for `jabberdesk cluster status`, which must work
// whether the node beside it runs or not.
func Inspect(ctx context.Context, url string, takeover time.Duration) (Status, error) {
	if takeover <= 0 {
		takeover = defaultTakeover
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
	}
	nc, err := nats.Connect(url, nats.Name("jabberdesk cluster status"), nats.Timeout(5*time.Second))
	if err != nil {
		return Status{}, fmt.Errorf("cluster: inspect: connect to %s: %w", url, err)
	}
	defer nc.Close()
	st := Status{Server: nc.ConnectedUrlRedacted(), Connected: nc.IsConnected()}
	start := time.Now()
	if err := nc.FlushWithContext(ctx); err != nil {
		return st, fmt.Errorf("cluster: inspect: round trip to NATS: %w", err)
	}
	st.RTT = time.Since(start)
	js, err := jetstream.New(nc)
	if err != nil {
		return st, fmt.Errorf("cluster: inspect: %w", err)
	}
	kv, err := js.KeyValue(ctx, nodesBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return st, nil // no node has ever joined
	}
	if err != nil {
		return st, fmt.Errorf("cluster: inspect: open %s: %w", nodesBucket, err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return st, fmt.Errorf("cluster: inspect: list nodes: %w", err)
	}
	beats := map[string]seenBeat{}
	for key := range keys.Keys() {
		e, err := kv.Get(ctx, key)
		if gone(err) {
			continue // left meanwhile
		}
		if err != nil {
			return st, fmt.Errorf("cluster: inspect: read node %s: %w", key, err)
		}
		if b, ok := parseBeat(e); ok {
			beats[key] = b
		}
	}
	r := newRegistry("", takeover)
	r.since = time.Now().Add(-takeover - time.Second) // judge at once
	r.reset(beats)
	st.Nodes = r.list()
	return st, nil
}
