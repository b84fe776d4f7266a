package clustertest

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestServerKeepsItsStoreOverARestart(t *testing.T) {
	t.Parallel()
	url, restart := Server(t)
	reconnected := make(chan struct{}, 1)
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	restart()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnection to the restarted server")
	}
	if nc.ConnectedUrl() != url {
		t.Errorf("reconnected to %s, want %s", nc.ConnectedUrl(), url)
	}
	var e jetstream.KeyValueEntry
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if e, err = kv.Get(ctx, "k"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || string(e.Value()) != "v" {
		t.Fatalf("after the restart: %v %v", e, err)
	}
}
