package xmppd

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// readerConn is a net.Conn that reads from a buffer.
type readerConn struct {
	net.Conn
	r *bytes.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestRecordConnNeverReadsPastARecord(t *testing.T) {
	t.Parallel()
	record := func(body string) []byte {
		return append([]byte{23, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	var wire []byte
	ends := map[int]bool{} // where each record ends
	for _, body := range []string{"first record", "", "second, longer record"} {
		wire = append(wire, record(body)...)
		ends[len(wire)] = true
	}
	c := &recordConn{Conn: readerConn{r: bytes.NewReader(wire)}}
	var got []byte
	for len(got) < len(wire) {
		buf := make([]byte, 64) // more than any record
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		for end := range ends {
			if len(got) < end && len(got)+n > end {
				t.Fatalf("a read from %d to %d crossed the end of a record at %d", len(got), len(got)+n, end)
			}
		}
		got = append(got, buf[:n]...)
		if c.betweenRecords() != ends[len(got)] {
			t.Fatalf("after %d bytes: betweenRecords = %v", len(got), c.betweenRecords())
		}
	}
	if !bytes.Equal(got, wire) {
		t.Fatalf("read %q, want %q", got, wire)
	}
}

// idleWaiters counts the goroutines waiting in waitIdle.
func idleWaiters() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "xmppd.(*link).waitIdle")
}

// waitForIdleWaiters waits until at least n goroutines wait in waitIdle.
func waitForIdleWaiters(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for idleWaiters() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions wait in waitIdle, want %d or more", idleWaiters(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIdleSessionWaitsAtTheTopOfItsReadLoop(t *testing.T) {
	// Not parallel: it counts the package's goroutines.
	env := newTestEnv(t)
	george := env.login("george.w", "desk", true)
	fiona := xmpptest.MustDial(t, env.directTLS, jidOf("fiona.b")+"/laptop", testPassword, xmpptest.Options{DirectTLS: true})
	fiona.Send("<presence/>")
	fiona.Expect("own presence", xmpptest.Presence(fiona.JID.String(), ""))
	waitForIdleWaiters(t, 2) // STARTTLS and direct TLS alike

	// Whitespace keepalives are read and dropped while waiting; the
	// stanzas that follow, split over several writes, read as usual.
	george.SendRaw(" \n ")
	george.SendRaw("\t<message type='chat' to='" + jidOf("fiona.b") + "'><body>Are you")
	george.SendRaw(" there?</body></message>\n")
	fiona.Expect("message", xmpptest.Message(jidOf("george.w")+"/desk", "Are you there?"))
	fiona.SendRaw("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq><iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>")
	fiona.Expect("first ping's result", xmpptest.IQ("p1"))
	fiona.Expect("second ping's result", xmpptest.IQ("p2"))
	waitForIdleWaiters(t, 2)
}
