package xmppd

import "net"

// An idle session waits for its client from the top of its read loop.
// Blocked in an ordinary read, a session's goroutine sits deep in the XML
// decoder, the TLS record layer and the network poller, and keeps the
// stack all of that needs (8 KiB) for as long as the client stays silent.
// So when everything the client sent has been read out of every layer
// (the connection's buffer, TLS, the XML decoder), the read loop drops
// its decoder and waits for the socket to become readable right there
// (waitReadable), where the stack is shallow enough (about 1 KiB, with the
// session's run called from the top: serveSession) for collections to
// halve it to 4 KiB; the decoder is made anew when the client next sends.

// tlsRecordHeaderLen is the length of a TLS record's header: type (1),
// version (2), length (2).
const tlsRecordHeaderLen = 5

// recordConn is the TCP connection under TLS. It hands TLS no more than
// the rest of the record being read, so that crypto/tls, which buffers
// whatever it is given, never holds a record it has not started on: once
// a TLS read returns less than was asked for and recordConn is between
// records, nothing the client sent is left inside TLS.
type recordConn struct {
	net.Conn
	hdr  [tlsRecordHeaderLen]byte
	nhdr int // bytes of the current record's header read so far
	body int // bytes of the current record's body still to read
}

func (c *recordConn) Read(p []byte) (int, error) {
	if c.body == 0 {
		// A header, or the rest of one: its length is the body's.
		p = p[:min(len(p), tlsRecordHeaderLen-c.nhdr)]
		n, err := c.Conn.Read(p)
		c.nhdr += copy(c.hdr[c.nhdr:], p[:n])
		if c.nhdr == tlsRecordHeaderLen {
			c.nhdr, c.body = 0, int(c.hdr[3])<<8|int(c.hdr[4])
		}
		return n, err
	}
	n, err := c.Conn.Read(p[:min(len(p), c.body)])
	c.body -= n
	return n, err
}

// betweenRecords reports whether every record begun has been read whole.
func (c *recordConn) betweenRecords() bool { return c.nhdr == 0 && c.body == 0 }

// caughtUp reports whether everything read from the client has been
// handed on: nothing is left in this buffer or inside TLS. Only a TLS
// connection over a recordConn can tell.
func (c *limitConn) caughtUp() bool {
	return c.rec != nil && len(c.pending) == 0 && c.r == c.w && c.tlsDrained && c.rec.betweenRecords()
}

// fill reads what the connection has into its empty buffer.
func (c *limitConn) fill() error {
	n, err := c.read(c.buf[:])
	c.r, c.w = 0, n
	return err
}

// skipSpace drops the whitespace at the front of the buffer: between
// stanzas it means nothing (clients send it to keep connections open).
func (c *limitConn) skipSpace() {
	for c.r < c.w && isSpace(c.buf[c.r]) {
		c.r++
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// waitIdle waits, with a shallow stack and without its decoder, for the
// client to send a stanza, if everything it sent so far has been read.
// Whitespace between stanzas is read and dropped here. An error is left
// to the read that follows to report.
func (l *link) waitIdle() {
	nc := l.c.nc
	for l.in.caughtUp() {
		nc.skipSpace()
		if !nc.caughtUp() {
			return
		}
		l.in.sleep()
		waitReadable(nc.rec.Conn)
		if err := nc.fill(); err != nil {
			return
		}
	}
}
