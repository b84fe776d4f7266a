//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package xmppd

import (
	"errors"
	"net"
	"syscall"
)

// waitReadable waits until c has something to read (or its end, or an
// error), without reading it: the poller wakes the goroutine, and a
// one-byte MSG_PEEK tells whether there is really something there.
func waitReadable(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	// An error (closed, deadline) is the next read's to report.
	_ = rc.Read(peekReadable)
}

// peekReadable reports whether the socket fd has data, its end or an
// error waiting; false sends the caller back to the poller.
func peekReadable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK)
}
