package xmppd

import "time"

// XEP-0199 from the server's side: a session the client has been silent on
// for PingInterval gets a ping; one that does not answer within half the
// interval is taken for dead and its connection closed (a resumable
// session then hibernates). Phones on flaky networks leave such half-open
// connections behind.

// keepalive pings idle sessions; the server's sweep calls it.
func (srv *Server) keepalive(now time.Time) {
	every := srv.limits.PingInterval
	if every <= 0 {
		return
	}
	for _, s := range srv.router.all() {
		s.mu.Lock()
		l := s.link
		idle := now.Sub(s.lastRead)
		sent := s.pingSent
		due := l != nil && sent.IsZero() && idle >= every
		dead := l != nil && !sent.IsZero() && now.Sub(sent) >= every/2
		if due {
			s.pingSent = now
		}
		s.mu.Unlock()
		switch {
		case dead:
			s.log.Info("no answer to a ping; closing the connection", "idle", idle.Round(time.Second))
			_ = l.c.raw.Close() // a failed close loses nothing
		case due:
			s.send(NewElement(nsClient, "iq", "type", "get", "id", "ping-"+randomID(), "from", srv.domain, "to", s.full).
				Add(NewElement(nsPing, "ping")))
		}
	}
}
