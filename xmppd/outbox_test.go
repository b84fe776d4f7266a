package xmppd

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/internal/testwait"
)

// blockingWriter blocks every write until released.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	got     []byte
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, p...)
	return len(p), nil
}

func TestOutboxOverflowDisconnectsOnlyTheSlowReader(t *testing.T) {
	t.Parallel()
	w := &blockingWriter{release: make(chan struct{})}
	overflowed := make(chan struct{})
	o := &outbox{w: w, max: 8, writeTimeout: time.Second, pool: &sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }},
		onOverflow: func() { close(overflowed) }}
	start := time.Now()
	pushed := 0
	for i := 0; i < 100; i++ {
		if o.push([]byte(fmt.Sprintf("<m%d/>", i))) {
			pushed++
		}
	}
	// Pushing never waited on the blocked writer.
	if time.Since(start) > time.Second {
		t.Fatal("push blocked")
	}
	select {
	case <-overflowed:
	default:
		t.Fatal("no overflow")
	}
	if pushed > 9 {
		t.Fatalf("%d stanzas queued past a limit of 8", pushed)
	}
	close(w.release)
}

func TestOutboxWritesInOrderAndDrains(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	drained := make(chan struct{})
	o := &outbox{w: server, max: 1000, writeTimeout: time.Second, setDeadline: server.SetWriteDeadline,
		pool: &sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}, onDrained: func() { close(drained); server.Close() }}
	var want strings.Builder
	go func() {
		for i := 0; i < 200; i++ {
			s := fmt.Sprintf("<m%d/>", i)
			o.push([]byte(s))
		}
		o.close([]byte("</stream:stream>"))
	}()
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&want, "<m%d/>", i)
	}
	want.WriteString("</stream:stream>")
	got, _ := io.ReadAll(client)
	if string(got) != want.String() {
		t.Fatalf("got %q", got)
	}
	<-drained
	if o.push([]byte("<late/>")) {
		t.Fatal("push after close accepted")
	}
}

func TestOutboxLazyEntriesWaitForCompanyOrTheirDelay(t *testing.T) {
	t.Parallel()
	w := &recordingWriter{}
	o := &outbox{w: w, max: 100, writeTimeout: time.Second, lazyDelay: time.Hour,
		pool: &sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}}
	o.pushAs([]byte("<p1/>"), true)
	o.pushAs([]byte("<p2/>"), true)
	// Nothing is written while only lazy entries wait (an hour here).
	time.Sleep(20 * time.Millisecond)
	if got := w.text(); got != "" {
		t.Fatalf("lazy entries written at once: %q", got)
	}
	// A message takes them along, in order, in one write.
	o.push([]byte("<m/>"))
	testwait.For(t, "the batch written", func() bool { return w.text() == "<p1/><p2/><m/>" })
	if n := w.writeCount(); n != 1 {
		t.Fatalf("%d writes, want 1", n)
	}

	// Alone, a lazy entry is written after its delay.
	o2 := &outbox{w: w, max: 100, writeTimeout: time.Second, lazyDelay: 10 * time.Millisecond,
		pool: o.pool}
	o2.pushAs([]byte("<p3/>"), true)
	testwait.For(t, "the lone lazy entry written", func() bool { return strings.HasSuffix(w.text(), "<p3/>") })
}

// recordingWriter records what is written and how many writes it took.
type recordingWriter struct {
	mu     sync.Mutex
	got    []byte
	writes int
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, p...)
	w.writes++
	return len(p), nil
}

func (w *recordingWriter) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.got)
}

func (w *recordingWriter) writeCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}
