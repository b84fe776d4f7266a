package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// websocket streams a chat's events: stored ones after ?after=SEQ, then
// live ones. The visitor speaks through the POST endpoints; frames from
// the client are read only to notice that it left.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := afterParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	release, err := s.openStream(r, v.Info().PublicID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	// The WebSocket outlives the request's deadlines: its reads wait for
	// the visitor, its writes and pings have their own timeouts.
	setDeadlines(w, time.Time{}, time.Time{})
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Any site may embed the widget; the chat token authenticates.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return
	}
	// Closing a connection that is done with, or broken, has nothing to
	// report: so the closes below ignore their errors.
	defer func() { _ = conn.CloseNow() }()
	conn.SetReadLimit(4096)
	ctx, cancel := s.streamContext(r)
	defer cancel()
	events, stop, err := v.Subscribe(ctx, after)
	if err != nil {
		_ = conn.Close(websocket.StatusInternalError, "cannot read events")
		return
	}
	defer stop()
	go func() {
		defer cancel()
		// Not ctx: a Read whose context ends closes the connection, which
		// would beat the "going away" close at shutdown. CloseNow on
		// return ends this Read.
		for {
			if _, _, err := conn.Read(r.Context()); err != nil {
				return
			}
		}
	}()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				_ = conn.Close(websocket.StatusNormalClosure, "chat over")
				return
			}
			b, _ := json.Marshal(ev)
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			wcancel()
			if err != nil {
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			if s.streams.Err() != nil {
				_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
			}
			return
		}
	}
}
