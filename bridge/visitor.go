package bridge

import (
	"context"
	"errors"
	"strings"
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
	if st, done, err := forward[NewChat, Started](ctx, e, n.Portal, kindCreate, n); done {
		return st, err
	}
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

// VisitorChat is a visitor's handle on their chat, live or over. On a
// node that does not run the chat (nodes.go) its calls go to the one that
// does.
type VisitorChat struct {
	e    *Engine
	c    *Chat // nil once the chat is over, or where it runs on another node
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
	if e.nodes != nil && sc.Status.Live() {
		// Where this node runs the portal's chats, they are loaded once
		// this returns.
		if _, err := e.owner(ctx, sc.Portal); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	c := e.live[sc.ID]
	e.mu.Unlock()
	return &VisitorChat{e: e, c: c, info: sc}, nil
}

// visitorChat is the chat of a visitor's call that another node forwarded
// (it authenticated the visitor).
func (e *Engine) visitorChat(r visitorCall) *VisitorChat {
	return &VisitorChat{e: e, info: store.Chat{ID: r.Chat, Portal: r.Portal}}
}

// Info is the stored chat as of the request.
func (v *VisitorChat) Info() store.Chat { return v.info }

// chat is the live chat, when it runs on this node.
func (v *VisitorChat) chat() *Chat {
	if v.c != nil || v.e.nodes == nil {
		return v.c
	}
	// It may have come here since the handle was made.
	v.e.mu.Lock()
	defer v.e.mu.Unlock()
	return v.e.live[v.info.ID]
}

// call is a forwarded call's arguments for the chat.
func (v *VisitorChat) call() visitorCall { return visitorCall{Portal: v.info.Portal, Chat: v.info.ID} }

// live runs f on the chat's goroutine, or says the chat is over.
func (v *VisitorChat) live(ctx context.Context, f func(c *Chat) error) error {
	c := v.chat()
	if c == nil {
		return ErrChatEnded
	}
	err := c.call(ctx, func() error {
		if c.over {
			return ErrChatEnded
		}
		return f(c)
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
	r := v.call()
	r.Text, r.ClientID = text, clientID
	if _, done, err := forward[visitorCall, none](ctx, v.e, v.info.Portal, kindSay, r); done {
		return err
	}
	return v.live(ctx, func(c *Chat) error {
		return c.visitorMessage(Event{Type: EventVisitorMessage, Text: text, ClientID: clientID})
	})
}

// Opened tells the agents that the visitor opened a page pushed with #p.
func (v *VisitorChat) Opened(ctx context.Context, url string) error {
	r := v.call()
	r.Text = url
	if _, done, err := forward[visitorCall, none](ctx, v.e, v.info.Portal, kindOpened, r); done {
		return err
	}
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
	r := v.call()
	r.Text = state
	if _, done, err := forward[visitorCall, none](ctx, v.e, v.info.Portal, kindTyping, r); done {
		return err
	}
	return v.live(ctx, func(c *Chat) error {
		c.visitorTyping(state)
		return nil
	})
}

// End is the visitor ending the chat; rate reports that they are asked
// to rate it (Rate).
func (v *VisitorChat) End(ctx context.Context) (rate bool, err error) {
	if rate, done, err := forward[visitorCall, bool](ctx, v.e, v.info.Portal, kindVisitorEnd, v.call()); done {
		return rate, err
	}
	err = v.live(ctx, func(c *Chat) error {
		c.end(reasonVisitor)
		rate = c.askedRating
		return nil
	})
	return rate, err
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
