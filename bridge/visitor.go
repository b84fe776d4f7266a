package bridge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"jabberdesk/store"
)

// Errors of the visitor API; bridge/web maps them to HTTP statuses.
var (
	ErrBadToken  = errors.New("bridge: the chat token is missing or wrong")
	ErrChatEnded = errors.New("bridge: the chat has ended")
	ErrBlocked   = errors.New("bridge: the visitor's address is blocked")
	// ErrAgentBusy: an agent in the chat is not keeping up (Agents.Busy);
	// the visitor's message was not taken and should be sent again soon.
	ErrAgentBusy = errors.New("bridge: an agent's client is not keeping up")
)

// MaxMessageLength bounds one visitor message, in characters.
const MaxMessageLength = 4000

// NewChat is what a visitor gives to start a chat, plus what the HTTP
// layer learned about them.
type NewChat struct {
	Portal, Name, Email, Phone, Department, Question       string
	PageURL, Language, IP, UserAgent, Browser, OS, Country string
}

// Started is the answer to a new chat.
type Started struct {
	ChatID        string `json:"chat_id"`
	Token         string `json:"token"`
	VisitorNumber int64  `json:"visitor_number"`
	VisitorJID    string `json:"visitor_jid"`
	Status        string `json:"status"`
}

// Create starts a chat and offers it to the department's agents. Invalid
// input comes back as a *store.UserError.
func (e *Engine) Create(ctx context.Context, n NewChat) (Started, error) {
	if blocked, err := e.store.IsBlocked(ctx, n.Portal, n.IP); err != nil {
		return Started{}, err
	} else if blocked {
		return Started{}, ErrBlocked
	}
	token := newSecret(24)
	sc, err := e.store.CreateChat(ctx, store.NewChat{
		Portal: n.Portal, PublicID: newPublicID(), TokenHash: hashToken(token),
		// What agents see as one line is one line (see unforgeable.go).
		Name: singleLine(n.Name), Email: strings.TrimSpace(n.Email), Phone: truncate(singleLine(n.Phone), 64),
		Department: singleLine(n.Department), Question: singleLine(n.Question),
		IP: n.IP, UserAgent: singleLine(n.UserAgent), Browser: singleLine(n.Browser), OS: singleLine(n.OS), Country: singleLine(n.Country),
		PageURL: n.PageURL, Language: singleLine(n.Language),
	})
	if err != nil {
		return Started{}, err
	}
	c := e.adopt(sc)
	var status store.ChatStatus
	// The chat's timers are armed whatever becomes of the request: a chat
	// without them would never end. The only error is errChatOver, when
	// the chat was missed at once and is over already.
	err = c.call(context.WithoutCancel(ctx), func() error {
		c.startQueue()
		c.startGrace() // until the visitor's first connection
		c.dispatch(true)
		status = c.info.Status
		return nil
	})
	if err != nil || status == "" {
		status = store.ChatMissed
	}
	e.log.Info("chat started", "portal", sc.Portal, "chat", sc.Number, "department", sc.Department, "status", status)
	return Started{
		ChatID: sc.PublicID, Token: token, VisitorNumber: sc.Number,
		VisitorJID: c.address().JID(e.cfg.Domain), Status: string(status),
	}, nil
}

// VisitorChat is a visitor's handle on their chat, live or over.
type VisitorChat struct {
	e    *Engine
	c    *Chat // nil once the chat is over
	info store.Chat
}

// Visitor authenticates a visitor's request for a chat.
func (e *Engine) Visitor(ctx context.Context, publicID, token string) (*VisitorChat, error) {
	sc, err := e.store.ChatByPublicID(ctx, publicID)
	if err != nil {
		return nil, err
	}
	if !tokenOK(token, sc.TokenHash) {
		return nil, ErrBadToken
	}
	e.mu.Lock()
	c := e.live[sc.ID]
	e.mu.Unlock()
	return &VisitorChat{e: e, c: c, info: sc}, nil
}

// Info is the stored chat as of the request.
func (v *VisitorChat) Info() store.Chat { return v.info }

// live runs f on the chat's goroutine, or says the chat is over.
func (v *VisitorChat) live(ctx context.Context, f func(c *Chat) error) error {
	if v.c == nil {
		return ErrChatEnded
	}
	err := v.c.call(ctx, func() error {
		if v.c.over {
			return ErrChatEnded
		}
		return f(v.c)
	})
	if errors.Is(err, errChatOver) {
		return ErrChatEnded
	}
	return err
}

// Say is a visitor's message. It returns once the message is stored.
func (v *VisitorChat) Say(ctx context.Context, text, clientID string) error {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return &store.UserError{Msg: "text is empty", Kind: store.ErrInvalid}
	case utf8.RuneCountInString(text) > MaxMessageLength:
		return &store.UserError{Msg: "text is too long (at most 4000 characters)", Kind: store.ErrInvalid}
	}
	if len(clientID) > 64 {
		clientID = clientID[:64]
	}
	return v.live(ctx, func(c *Chat) error {
		return c.visitorMessage(Event{Type: EventVisitorMessage, Text: text, ClientID: clientID})
	})
}

// Opened tells the agents that the visitor opened a page pushed with #p.
func (v *VisitorChat) Opened(ctx context.Context, url string) error {
	return v.live(ctx, func(c *Chat) error {
		c.visitorOpened(url)
		return nil
	})
}

// Typing relays "composing" or "paused".
func (v *VisitorChat) Typing(ctx context.Context, state string) error {
	if state != "composing" && state != "paused" {
		return &store.UserError{Msg: `state must be "composing" or "paused"`, Kind: store.ErrInvalid}
	}
	return v.live(ctx, func(c *Chat) error {
		c.visitorTyping(state)
		return nil
	})
}

// End is the visitor ending the chat; rate reports that they are asked
// to rate it (Rate).
func (v *VisitorChat) End(ctx context.Context) (rate bool, err error) {
	err = v.live(ctx, func(c *Chat) error {
		c.end(reasonVisitor)
		rate = c.askedRating
		return nil
	})
	return rate, err
}

// Events returns the visible events after seq; when there are none and
// the chat is live it waits up to wait for one. An agent's typing, which
// is not stored, is returned when it happens during the wait (seq 0).
func (v *VisitorChat) Events(ctx context.Context, after int64, wait time.Duration) ([]Event, error) {
	var live chan Event
	if c := v.c; c != nil {
		c.visitorConnected(1)
		defer c.visitorConnected(-1)
		live = c.subscribe()
		defer c.unsubscribe(live)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		evs, err := v.stored(ctx, after)
		if err != nil || len(evs) > 0 || live == nil {
			return evs, err
		}
		select {
		case ev, ok := <-live:
			if ok && ev.Seq == 0 {
				return []Event{ev}, nil
			}
			if !ok {
				live = nil // the chat is over: what is stored is all
			}
		case <-deadline.C:
			return []Event{}, nil
		case <-ctx.Done():
			return []Event{}, nil
		}
	}
}

func (v *VisitorChat) stored(ctx context.Context, after int64) ([]Event, error) {
	recs, err := v.e.store.ChatEvents(ctx, v.info.ID, after, true, storedPage)
	if err != nil {
		return nil, err
	}
	evs := make([]Event, 0, len(recs))
	for _, r := range recs {
		evs = append(evs, eventFromRecord(r))
	}
	return evs, nil
}

// storedPage is how many stored events one read returns.
const storedPage = 500

// Subscribe streams the chat's events after seq: first those stored, then
// live ones, until cancel is called or the chat ends (the channel closes
// once everything stored has been sent). A subscriber that falls behind
// the live events is caught up from the store, so it misses nothing.
// While subscribed the visitor counts as present.
func (v *VisitorChat) Subscribe(ctx context.Context, after int64) (<-chan Event, func(), error) {
	out := make(chan Event, 64)
	c := v.c
	live := c.subscribe()
	if live == nil {
		// The chat is over (or not running here): what is stored is all.
		evs, err := v.stored(ctx, after)
		if err != nil {
			return nil, nil, err
		}
		go func() {
			defer close(out)
			last := after
			for len(evs) > 0 {
				for _, ev := range evs {
					out <- ev
					last = ev.Seq
				}
				if len(evs) < storedPage {
					return
				}
				if evs, _ = v.stored(ctx, last); evs == nil {
					return // the request is gone, or the store failed
				}
			}
		}()
		return out, func() {}, nil
	}
	c.visitorConnected(1)
	backlog, err := v.stored(ctx, after)
	if err != nil {
		c.unsubscribe(live)
		c.visitorConnected(-1)
		return nil, nil, err
	}
	done := make(chan struct{})
	var once sync.Once
	cancel := func() { once.Do(func() { close(done) }) }
	go func() {
		defer close(out)
		defer c.visitorConnected(-1)
		defer func() { c.unsubscribe(live) }()
		send := func(ev Event) bool {
			select {
			case out <- ev:
				return true
			case <-done:
				return false
			}
		}
		last := after
		// catchUp sends what is stored after last, page by page.
		catchUp := func(page []Event) bool {
			for {
				for _, ev := range page {
					if !send(ev) {
						return false
					}
					last = ev.Seq
				}
				if len(page) < storedPage {
					return true
				}
				var err error
				if page, err = v.stored(ctx, last); err != nil {
					return false
				}
			}
		}
		if !catchUp(backlog) {
			return
		}
		for {
			select {
			case ev, ok := <-live:
				if !ok {
					// The chat is over, or this subscriber fell behind and
					// was dropped: subscribe again (unless over) before
					// reading the store, so nothing falls in between.
					live = c.subscribe()
					rest, err := v.stored(context.WithoutCancel(ctx), last)
					if err != nil || !catchUp(rest) || live == nil {
						return
					}
					continue
				}
				if ev.Seq != 0 && ev.Seq <= last {
					continue
				}
				if !send(ev) {
					return
				}
				if ev.Seq != 0 {
					last = ev.Seq
				}
			case <-done:
				return
			}
		}
	}()
	return out, cancel, nil
}

// DepartmentStatus is a department as the widget shows it.
type DepartmentStatus struct {
	Name         string `json:"name"`
	Online       bool   `json:"online"`
	AgentsOnline int    `json:"agents_online"`
}

// Departments lists a portal's departments with how many of their agents
// are online, and whether anyone at all is.
func (e *Engine) Departments(ctx context.Context, portal string) ([]DepartmentStatus, bool, error) {
	depts, err := e.store.Departments(ctx, portal)
	if err != nil {
		return nil, false, err
	}
	agents, err := e.store.Agents(ctx, portal)
	if err != nil {
		return nil, false, err
	}
	side := e.agentsSide()
	online := map[string]bool{}
	anyone := false
	for _, a := range agents {
		if side != nil && side.Availability(portal, a.Key()) == Online {
			online[a.Key()] = true
			anyone = true
		}
	}
	out := make([]DepartmentStatus, 0, len(depts))
	for _, d := range depts {
		st := DepartmentStatus{Name: d.Name}
		for _, a := range agents {
			if online[a.Key()] && inDepartment(a, d.Name) {
				st.AgentsOnline++
			}
		}
		st.Online = st.AgentsOnline > 0
		out = append(out, st)
	}
	return out, anyone, nil
}
