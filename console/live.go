package console

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/store"
)

// The Live page: the portal's chats without an agent (waiting or
// offered) with how long they have waited, the active chats with their
// agents and when someone last wrote, and the agents with their
// availability and load. The page renders in full on the server; a
// script keeps it current through an event stream (Server-Sent Events)
// that sends the page's live part again whenever it changes.

// liveData is the live part of the page.
type liveData struct {
	Now     time.Time
	Portal  string
	CSRF    string
	Waiting []liveChat
	Active  []liveChat
	Agents  []liveAgent
}

// liveChat is a chat with the names of its agents and offers.
type liveChat struct {
	bridge.LiveChat
	AgentNames []string // "Fiona", "George (monitoring)"
	OfferNames []string
}

// chatSection is one table of chats on the page: those waiting or those
// active.
type chatSection struct {
	Kind, Title string
	Waiting     bool
	Chats       []liveChat
	Live        liveData
}

// actionForms is what a chat's assign and end forms need.
type actionForms struct {
	Chat         liveChat
	CSRF, Portal string
	Agents       []liveAgent
}

// liveAgent is an agent of the portal with availability and load.
type liveAgent struct {
	Key, Name, Role string
	Availability    string // online, busy, away, offline
	Load, Max       int
	Full            bool // at max_chats: no new chat is offered to them
}

// liveFor gathers the live part of the page for portal.
func (s *Server) liveFor(ctx context.Context, v *viewer, portal string) (liveData, error) {
	agents, err := s.cfg.Store.Agents(ctx, portal)
	if err != nil {
		return liveData{}, err
	}
	view := s.cfg.Desk.Live(ctx, portal)
	d := liveData{Now: view.At, Portal: portal, CSRF: v.sess.CSRF}
	names := map[string]string{}
	for _, a := range agents {
		names[a.Key()] = a.DisplayName
		la := liveAgent{Key: a.Key(), Name: a.DisplayName, Role: string(a.Role),
			Availability: s.cfg.Presence.Availability(portal, a.Key()).String(), Load: view.Loads[a.Key()], Max: a.MaxChats}
		la.Full = la.Load >= la.Max
		d.Agents = append(d.Agents, la)
	}
	sort.SliceStable(d.Agents, func(i, j int) bool { return rank(d.Agents[i].Availability) < rank(d.Agents[j].Availability) })
	for _, c := range view.Chats {
		lc := liveChat{LiveChat: c}
		for _, m := range c.Agents {
			n := m.Name
			if m.Role == store.ChatRoleMonitor {
				n += " (monitoring)"
			}
			lc.AgentNames = append(lc.AgentNames, n)
		}
		for _, k := range c.OfferedTo {
			lc.OfferNames = append(lc.OfferNames, orKey(names[k], k))
		}
		if c.Waiting() {
			d.Waiting = append(d.Waiting, lc)
		} else {
			d.Active = append(d.Active, lc)
		}
	}
	return d, nil
}

// rank orders agents: online, busy, away, then offline.
func rank(availability string) int {
	switch availability {
	case "online":
		return 0
	case "busy":
		return 1
	case "away":
		return 2
	}
	return 3
}

func orKey(name, key string) string {
	if name == "" {
		return key
	}
	return name
}

// livePage is the Live page.
func (s *Server) livePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, ok := s.portal(w, r, v)
	if !ok {
		return
	}
	d, err := s.liveFor(r.Context(), v, portal)
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	s.render(w, r, http.StatusOK, "live", s.pageFor(r, v, portal, "live", "Live", d))
}

// liveFragment is the live part of the page as HTML.
func (s *Server) liveFragment(ctx context.Context, v *viewer, portal string) (string, error) {
	d, err := s.liveFor(ctx, v, portal)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = s.pages["live"].ExecuteTemplate(&b, "live-body", d)
	return b.String(), err
}

// Event stream timing.
const (
	streamSettle = 250 * time.Millisecond // a burst of changes is sent once
	streamTick   = 15 * time.Second       // the agent is read again, and a comment keeps proxies from closing the stream
	streamWrite  = 10 * time.Second       // a write the browser does not take in this time ends the stream
)

// liveStream sends the live part of the page whenever it changes, as the
// event "live"; "signin" when the session is over. Shutdown ends it.
func (s *Server) liveStream(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, ok := s.portal(w, r, v)
	if !ok {
		return
	}
	if !s.sessions.openStream(v.sess) {
		http.Error(w, "too many live pages are open in this session", http.StatusTooManyRequests)
		return
	}
	defer s.sessions.closeStream(v.sess)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // fails only for a writer that cannot set deadlines (not net/http's)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWrite)) // as above
		if _, err := w.Write([]byte(text)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	s.streamLive(ctx, v, portal, send)
}

// streamLive runs a live page's stream until ctx ends, a write fails or
// the session is over.
func (s *Server) streamLive(ctx context.Context, v *viewer, portal string, send func(string) bool) {
	tick := time.NewTicker(streamTick)
	defer tick.Stop()
	last := ""
	for {
		changed := s.cfg.Desk.LiveChanged() // before reading: no change is missed
		html, err := s.liveFragment(ctx, v, portal)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("console: live stream", "portal", portal, "err", err)
			}
			return
		}
		if html != last && !send(sseEvent("live", html)) {
			return
		}
		last = html
		select {
		case <-ctx.Done():
			return
		case <-changed:
			if !settle(ctx, streamSettle) {
				return
			}
		case <-tick.C:
			if !s.stillOn(ctx, v) {
				send(sseEvent("signin", "")) // the stream ends either way
				return
			}
			if !send(": still here\n\n") {
				return
			}
		}
	}
}

// stillOn reads a live page's session and agent again: false when the
// session is over (expired, signed out on any node, or its agent
// changed). A failed read keeps the stream on until the next tick.
func (s *Server) stillOn(ctx context.Context, v *viewer) bool {
	_, err := s.recheck(ctx, v.sess)
	if errors.Is(err, errSessionOver) {
		return false
	}
	ok, aerr := s.sessions.alive(ctx, v.sess)
	if err = errors.Join(err, aerr); err != nil {
		if ctx.Err() == nil {
			s.log.Error("console: read a live page's session again", "portal", v.agent.Portal, "agent", v.agent.Key(), "err", err)
		}
		return true
	}
	return ok
}

// settle waits d unless ctx ends first (false).
func settle(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sseEvent is one Server-Sent Event: its name and data, a line each.
func sseEvent(name, data string) string {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	return b.String()
}
