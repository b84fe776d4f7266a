package web

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"jabberdesk/internal/limit"
)

// What one visitor (or someone posing as many) may cost the HTTP
// listener, none of it needing credentials to reach:
//   - every request is read within RequestTimeout (header and body) and
//     answered within twice that; a keep-alive connection idles at most
//     IdleTimeout; uploads and downloads get more time by their size at
//     MinTransferRate; WebSockets and long polls set their own;
//   - connections per address key are capped at accept (429, close),
//     long polls and WebSockets per address and per chat (429);
//   - requests about chats are rate limited per address, messages and
//     typing per chat (429 with Retry-After).

// Limits bound the visitor API; zero fields get the defaults.
type Limits struct {
	RequestTimeout   time.Duration // reading one request, header and body (20 s)
	IdleTimeout      time.Duration // a keep-alive connection between requests (60 s)
	MinTransferRate  int64         // bytes/s an upload or a download must keep up (16 KiB/s)
	ConnectionsPerIP int           // per address key, trusted proxies exempt (64)
	StreamsPerIP     int           // long polls and WebSockets per client address (16)
	StreamsPerChat   int           // long polls and WebSockets per chat (8)
	RequestRate      float64       // requests about chats per second per client address (10)
	RequestBurst     int           // (60)
	MessageRate      float64       // visitor messages per second per chat (1)
	MessageBurst     int           // (10)
	TypingRate       float64       // typing notifications per second per chat (1)
	TypingBurst      int           // (5)
}

func (l *Limits) setDefaults() {
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defI := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defF := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	defD(&l.RequestTimeout, 20*time.Second)
	defD(&l.IdleTimeout, 60*time.Second)
	if l.MinTransferRate <= 0 {
		l.MinTransferRate = 16 << 10
	}
	defI(&l.ConnectionsPerIP, 64)
	defI(&l.StreamsPerIP, 16)
	defI(&l.StreamsPerChat, 8)
	defF(&l.RequestRate, 10)
	defI(&l.RequestBurst, 60)
	defF(&l.MessageRate, 1)
	defI(&l.MessageBurst, 10)
	defF(&l.TypingRate, 1)
	defI(&l.TypingBurst, 5)
}

// limiters are the Server's counters and rates.
type limiters struct {
	conns          *limit.Counter // connections per address key
	streamsByAddr  *limit.Counter // long polls and WebSockets per client address key
	streamsByChat  *limit.Counter // … per chat
	requestsByAddr *limit.Rate
	messages       *limit.Rate // per chat
	typing         *limit.Rate // per chat
}

func newLimiters(l Limits) limiters {
	return limiters{
		conns:          &limit.Counter{Max: l.ConnectionsPerIP},
		streamsByAddr:  &limit.Counter{Max: l.StreamsPerIP},
		streamsByChat:  &limit.Counter{Max: l.StreamsPerChat},
		requestsByAddr: limit.NewRate(l.RequestRate, l.RequestBurst),
		messages:       limit.NewRate(l.MessageRate, l.MessageBurst),
		typing:         limit.NewRate(l.TypingRate, l.TypingBurst),
	}
}

// tooMany is a 429 that says when to try again.
func tooMany(code, msg string, after time.Duration) *apiError {
	e := fail(http.StatusTooManyRequests, code, msg)
	e.retryAfter = after
	return e
}

// admitRequest applies the per-address rate to a request about a chat.
func (s *Server) admitRequest(r *http.Request) error {
	if ok, after := s.lim.requestsByAddr.Allow(limit.Key(s.clientIP(r)), time.Now()); !ok {
		return tooMany("rate_limited", "too many requests from your address; please slow down", after)
	}
	return nil
}

// admitChatRate applies a per-chat rate (messages, typing).
func admitChatRate(rate *limit.Rate, chatID, what string) error {
	if ok, after := rate.Allow(chatID, time.Now()); !ok {
		return tooMany("rate_limited", "too many "+what+" in this chat; wait "+strconv.Itoa(limit.RetryAfterSeconds(after))+" s and send again", after)
	}
	return nil
}

// openStream counts a long poll or WebSocket against its address and its
// chat; call the release function when it ends.
func (s *Server) openStream(r *http.Request, chatID string) (release func(), err error) {
	addr := limit.Key(s.clientIP(r))
	if !s.lim.streamsByAddr.Acquire(addr) {
		return nil, tooMany("too_many_streams", "too many open connections from your address; close other chat windows and try again", 5*time.Second)
	}
	if !s.lim.streamsByChat.Acquire(chatID) {
		s.lim.streamsByAddr.Release(addr)
		return nil, tooMany("too_many_streams", "this chat is open in too many windows; close some and try again", 5*time.Second)
	}
	s.streamsOpen.Add(1)
	return func() {
		s.streamsOpen.Add(-1)
		s.lim.streamsByChat.Release(chatID)
		s.lim.streamsByAddr.Release(addr)
	}, nil
}

// transferTime is how long a transfer of n bytes may take.
func (s *Server) transferTime(n int64) time.Duration {
	return s.cfg.Limits.RequestTimeout + time.Duration(n/s.cfg.Limits.MinTransferRate)*time.Second
}

// setDeadlines sets the connection's read and write deadlines for a
// request that takes longer than most (zero: none).
func setDeadlines(w http.ResponseWriter, read, write time.Time) {
	rc := http.NewResponseController(w)
	// Both fail only for a writer that cannot set deadlines (not ours).
	_ = rc.SetReadDeadline(read)
	_ = rc.SetWriteDeadline(write)
}

// capListener caps the connections from one address key: over the cap,
// a connection gets a 429 and is closed at once. Trusted proxies are not
// capped (their clients are, per request).
type capListener struct {
	net.Listener
	conns   *limit.Counter
	trusted func(netip.Addr) bool
	refused func()
	answer  []byte // the 429 response
}

func newCapListener(ln net.Listener, conns *limit.Counter, trusted func(netip.Addr) bool, refused func()) *capListener {
	body := `{"error":{"code":"too_many_connections","message":"too many connections from your address; try again later"}}` + "\n"
	answer := "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\n" +
		"Retry-After: 5\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	return &capListener{Listener: ln, conns: conns, trusted: trusted, refused: refused, answer: []byte(answer)}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil || l.trusted(ap.Addr().Unmap()) {
			return c, nil
		}
		key := limit.Key(ap.Addr())
		if l.conns.Acquire(key) {
			return &countedConn{Conn: c, release: func() { l.conns.Release(key) }}, nil
		}
		// A fresh connection's send buffer is empty: this write does not
		// block. Its error does not matter, the connection is closed.
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write(l.answer)
		_ = c.Close()
		if l.refused != nil {
			l.refused()
		}
	}
}

// countedConn gives its place back when closed (hijacked ones included).
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
