package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The buckets. Each keeps one value a key (History 1) in files, and
// deleted keys leave a marker that the server drops after markerTTL, so
// that keys used once (a session's resource) do not pile up.
const (
	nodesBucket    = "jd_nodes"
	sessionsBucket = "jd_sessions"
	chatsBucket    = "jd_chats"
	// markerTTL is how long a deleted key's marker stays. The watches see
	// it when it is written; a watch set up later does not need it.
	markerTTL = 15 * time.Minute
	// nodesTTL removes the heartbeat of a node gone for that long, so that
	// a node name used once is not listed forever. A running node puts
	// its heartbeat every few seconds and never reaches it.
	nodesTTL = 24 * time.Hour
)

// bucketConfigs are the buckets in the order nodes, sessions, chats.
func bucketConfigs(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{
		{Bucket: nodesBucket, Description: "jabberdesk nodes' heartbeats",
			TTL: nodesTTL, LimitMarkerTTL: markerTTL, Replicas: replicas},
		{Bucket: sessionsBucket, Description: "jabberdesk XMPP sessions and their nodes",
			LimitMarkerTTL: markerTTL, Replicas: replicas},
		{Bucket: chatsBucket, Description: "jabberdesk live chats and the node running each",
			LimitMarkerTTL: markerTTL, Replicas: replicas},
	}
}

// openBucket creates the bucket, or binds it when it exists (perhaps
// made by a node with other settings).
func openBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, cfg.Bucket)
	}
	return kv, err
}

// A mirror keeps a bucket's keys in memory: reset replaces them all
// with a full load, apply takes one change after it.
type mirror struct {
	cfg    jetstream.KeyValueConfig
	kv     jetstream.KeyValue
	reset  func([]jetstream.KeyValueEntry)
	apply  func(jetstream.KeyValueEntry)
	resync chan struct{} // asks for a full load again (after a reconnection)
	ready  chan struct{} // closed after the first full load
}

func newMirror(cfg jetstream.KeyValueConfig, kv jetstream.KeyValue,
	reset func([]jetstream.KeyValueEntry), apply func(jetstream.KeyValueEntry)) *mirror {
	return &mirror{cfg: cfg, kv: kv, reset: reset, apply: apply,
		resync: make(chan struct{}, 1), ready: make(chan struct{})}
}

// follow keeps m in step with its bucket until the cluster closes:
// a watch loads every key, then takes changes; when the watch fails or
// a resync is asked for, a new watch loads everything again.
func (c *Cluster) follow(m *mirror) {
	first := true
	for attempt := 0; c.ctx.Err() == nil; {
		select {
		case <-m.resync:
		default:
		}
		err := c.followOnce(m, &first)
		if c.ctx.Err() != nil {
			return
		}
		if err == nil {
			attempt = 0
			continue
		}
		attempt++
		c.log.Warn("cluster: watch failed; trying again", "bucket", m.cfg.Bucket, "err", err)
		if !sleep(c.ctx, backoff(attempt)) {
			return
		}
		// The server may have come back without its store: make the
		// bucket again if it is missing.
		ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
		if _, err := openBucket(ctx, c.js, m.cfg); err != nil {
			c.log.Warn("cluster: open bucket", "bucket", m.cfg.Bucket, "err", err)
		}
		cancel()
	}
}

// followOnce runs one watch: nil when a resync was asked for or the
// cluster closes, an error when the watch could not start or ended.
func (c *Cluster) followOnce(m *mirror, first *bool) error {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	// The watch lives as long as ctx; only its start is bounded.
	timer := time.AfterFunc(opTimeout, cancel)
	w, err := m.kv.WatchAll(ctx)
	timer.Stop()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer drainWatch(cancel, w)
	var initial []jetstream.KeyValueEntry
	loading := true
	for {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return errors.New("watch ended")
			case loading && e == nil:
				m.reset(initial)
				initial, loading = nil, false
				if *first {
					*first = false
					close(m.ready)
				}
			case loading:
				initial = append(initial, e)
			case e != nil:
				m.apply(e)
			}
		case <-m.resync:
			return nil
		case <-c.ctx.Done():
			return nil
		}
	}
}

// drainWatch ends a watch and takes what it still delivers, so that the
// watch's own goroutine is not left blocked on its channel.
func drainWatch(cancel context.CancelFunc, w jetstream.KeyWatcher) {
	cancel()
	timeout := time.NewTimer(opTimeout)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-timeout.C:
			return
		}
	}
}

// deleted tells whether a change removes its key.
func deleted(e jetstream.KeyValueEntry) bool {
	op := e.Operation()
	return op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge
}

// casConflict tells whether a create, a compare-and-set or a delete at a
// revision failed because the key has changed.
func casConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// gone tells whether a read failed because the key does not exist.
func gone(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}

// parallel runs fn on every item, workers at a time, and returns the
// first error (having run them all).
func parallel[T any](items []T, fn func(T) error) error {
	next := make(chan T)
	errs := make(chan error, workers)
	for range min(workers, len(items)) {
		go func() {
			var first error
			for it := range next {
				if err := fn(it); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	var first error
	for range min(workers, len(items)) {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
