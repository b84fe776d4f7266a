//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package xmppd

import "net"

// waitReadable returns at once where the socket cannot be peeked at: the
// read that follows waits instead.
func waitReadable(net.Conn) {}
