package cluster

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/testwait"
)

// inbox collects the broadcasts a node receives.
type inbox struct {
	mu  sync.Mutex
	got []string // topic from data
}

func (in *inbox) add(line string) {
	in.mu.Lock()
	in.got = append(in.got, line)
	in.mu.Unlock()
}

func (in *inbox) list() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.got)
}

func TestTopicTokens(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, topic := range []string{"control", "presence.acme", "presence.a b*>|ü", "presence%2Eacme", "presence.acme.x", "Ab_-9"} {
		token, err := topicToken(topic)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Trim(token, "%_-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Errorf("token %q of %q", token, topic)
		}
		if other, dup := seen[token]; dup {
			t.Errorf("%q and %q share the token %q", topic, other, token)
		}
		seen[token] = topic
	}
	for _, bad := range []string{"", strings.Repeat("x", maxTopic+1)} {
		if _, err := topicToken(bad); err == nil {
			t.Errorf("topic of %d bytes taken", len(bad))
		}
	}
}

func TestBroadcasts(t *testing.T) {
	t.Parallel()
	url, _ := clustertest.Server(t)
	a := join(t, url, "a")
	b := join(t, url, "b")
	topics := []string{"control", "presence.acme", "presence.a b*>|ü", "presence%2Eacme", "presence.>"}
	var inA, inB inbox
	unsub := map[string]func(){}
	for _, topic := range topics {
		for _, n := range []struct {
			c  *Cluster
			in *inbox
		}{{a, &inA}, {b, &inB}} {
			stop, err := n.c.Subscribe(topic, func(from string, data []byte) {
				n.in.add(topic + " " + from + " " + string(data))
			})
			if err != nil {
				t.Fatal(err)
			}
			if n.c == b {
				unsub[topic] = stop
			}
		}
	}
	var want []string
	for i, topic := range topics {
		data := string(rune('0' + i))
		if err := a.Publish(topic, []byte(data)); err != nil {
			t.Fatal(err)
		}
		want = append(want, topic+" a "+data)
	}
	for _, in := range []*inbox{&inA, &inB} {
		testwait.For(t, "the broadcasts", func() bool { return len(in.list()) >= len(want) })
	}
	// b's own broadcast reaches b too.
	if err := b.Publish("control", []byte("9")); err != nil {
		t.Fatal(err)
	}
	want = append(want, "control b 9")
	testwait.For(t, "b's own broadcast", func() bool { return len(inB.list()) == len(want) })
	for name, in := range map[string]*inbox{"a": &inA, "b": &inB} {
		testwait.For(t, "b's broadcast at "+name, func() bool { return len(in.list()) == len(want) })
		// Each subscription has its own goroutine: compare in order.
		got := in.list()
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(want)); !slices.Equal(got, want) {
			t.Errorf("%s received %q, want %q", name, got, want)
		}
	}

	unsub["presence.acme"]()
	unsub["presence.acme"]() // a second call does nothing
	if err := a.Publish("presence.acme", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish("control", []byte("y")); err != nil {
		t.Fatal(err)
	}
	// One publisher's broadcasts come in order: once y is in, x would be.
	testwait.For(t, "the broadcast after it", func() bool { return slices.Contains(inB.list(), "control a y") })
	if slices.Contains(inB.list(), "presence.acme a x") {
		t.Error("a broadcast reached an ended subscription")
	}
	if err := a.Publish("", nil); err == nil {
		t.Error("empty topic published")
	}
	if _, err := a.Subscribe("", func(string, []byte) {}); err == nil {
		t.Error("empty topic subscribed")
	}
}
