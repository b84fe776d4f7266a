package xmppd

import (
	"crypto/tls"
	"net"
	"sync/atomic"
	"time"
)

// Limits bound what one client may cost the server (docs/OPERATING.md §9).
type Limits struct {
	StanzaSize        int           // bytes of one stanza after authentication
	StanzaSizePreAuth int           // bytes of one element before authentication
	MaxDepth          int           // element nesting in one stanza
	AuthTimeout       time.Duration // to finish TLS, SASL and resource binding
	ConnectionsPerIP  int           // 0: unlimited
	StanzaRate        float64       // stanzas per second per session; 0: unlimited
	StanzaBurst       int
	OutboxSize        int // outbox entries (stanzas, or a sign-in's presence burst) queued for a slow reader before it is disconnected
	WriteTimeout      time.Duration

	LoginFailuresPerIP      int           // failures from one address in LoginFailureWindow before its attempts are spaced out
	LoginFailuresPerAccount int           // failures on one account in LoginFailureWindow before its attempts are spaced out (known addresses excepted)
	LoginFailureWindow      time.Duration //

	ResumeTimeout time.Duration // XEP-0198: how long a dropped session waits to be resumed; 0 disables resumption
	PingInterval  time.Duration // XEP-0199: ping a session idle this long; 0 disables
}

func (l *Limits) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.StanzaSize, 256<<10)
	def(&l.StanzaSizePreAuth, 8<<10)
	def(&l.MaxDepth, 32)
	def(&l.StanzaBurst, 400)
	def(&l.OutboxSize, 4096)
	def(&l.LoginFailuresPerIP, 5)
	def(&l.LoginFailuresPerAccount, 10)
	if l.AuthTimeout <= 0 {
		l.AuthTimeout = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 30 * time.Second
	}
	if l.LoginFailureWindow <= 0 {
		l.LoginFailureWindow = 5 * time.Minute
	}
	if l.ResumeTimeout < 0 {
		l.ResumeTimeout = 0
	}
}

// errStanzaTooBig is returned by a limitConn read once the current
// element has used its byte budget.
type errStanzaTooBig struct{ limit int }

func (e errStanzaTooBig) Error() string { return "stanza too big" }

// readLimit is a byte budget for the element being read; the session
// refills it at each top-level element. Reads are buffered ahead (see
// limitConn), so the check is exact to within one buffer.
type readLimit struct {
	remaining   atomic.Int64
	limit       atomic.Int64
	negotiating atomic.Bool // see dropWhitespace
	afterTag    bool        // only touched by the reading goroutine
}

func (l *readLimit) reset(limit int) {
	l.limit.Store(int64(limit))
	l.remaining.Store(int64(limit) + readBufSize)
}

// readBufSize is the read buffer of a connection. It is small: a client's
// stanza is usually one short TLS record, and the buffer lives as long as
// the session, idle or not.
const readBufSize = 512

// limitConn counts the bytes read from a connection against a readLimit.
// It wraps the TLS connection, so it counts XML, not TLS records. It is an
// io.ByteReader with its own small buffer, so that the XML decoder reading
// it adds no buffer of its own (encoding/xml would add 4 KiB per session).
// Only one goroutine reads at a time.
type limitConn struct {
	net.Conn
	lim     *readLimit
	r, w    int
	buf     [readBufSize]byte
	pending []byte // put back by unread: read before anything else
}

// unread puts b in front of what is still to be read. b is not counted
// against the limit again.
func (c *limitConn) unread(b []byte) {
	c.pending = append(b, c.pending...)
}

// ReadByte reads through the buffer; the XML decoder reads this way.
func (c *limitConn) ReadByte() (byte, error) {
	if len(c.pending) > 0 {
		b := c.pending[0]
		c.pending = c.pending[1:]
		return b, nil
	}
	for c.r == c.w {
		n, err := c.read(c.buf[:])
		c.r, c.w = 0, n
		if n == 0 && err != nil {
			return 0, err
		}
	}
	b := c.buf[c.r]
	c.r++
	return b, nil
}

// Read returns what is buffered first.
func (c *limitConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.r < c.w {
		n := copy(p, c.buf[c.r:c.w])
		c.r += n
		return n, nil
	}
	return c.read(p)
}

func (c *limitConn) read(p []byte) (int, error) {
	rem := c.lim.remaining.Load()
	if rem <= 0 {
		return 0, errStanzaTooBig{int(c.lim.limit.Load())}
	}
	if int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.Conn.Read(p)
	c.lim.remaining.Add(-int64(n))
	if c.lim.negotiating.Load() {
		n = c.lim.dropWhitespace(p[:n])
	}
	return n, err
}

// dropWhitespace removes whitespace that directly follows a ">" and
// returns the new length. It runs only during stream negotiation, where
// mellium's negotiator takes whitespace between elements (which many
// clients send) for a misplaced text node; no text that matters there
// starts with whitespace.
func (l *readLimit) dropWhitespace(p []byte) int {
	w := 0
	for _, b := range p {
		if l.afterTag && (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
			continue
		}
		l.afterTag = b == '>'
		p[w] = b
		w++
	}
	return w
}

// ConnectionState lets mellium and SASL see the TLS state.
func (c *limitConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// tokenBucket shapes a session's stanza rate: wait tells how long to pause
// reading so the session stays within rate (burst allowed).
type tokenBucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) wait(now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, now
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
