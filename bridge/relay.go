package bridge

import (
	"context"
	"errors"
	"strings"

	"jabberdesk/address"
	"jabberdesk/commands"
	"jabberdesk/store"
)

// AgentInfo is who speaks, as the XMPP side knows it.
type AgentInfo struct {
	Key  string // username key
	Name string // display name
	Role store.Role
}

// AgentSays takes what an agent sent to a visitor contact: an answer to an
// offer, text for the visitor, a hash command, or a chat state (XEP-0085).
// It returns ErrNoChat when local names no chat of the portal.
func (e *Engine) AgentSays(portal string, a AgentInfo, local, body, chatState string) error {
	return e.agentSays(context.Background(), portal, a, local, body, chatState)
}

func (e *Engine) agentSays(ctx context.Context, portal string, a AgentInfo, local, body, chatState string) error {
	number, ok := address.VisitorNumber(local)
	if !ok {
		return ErrNoChat
	}
	r := agentCall{Portal: portal, By: a, Local: local, Body: body, ChatState: chatState}
	if _, done, err := forward[agentCall, none](ctx, e, portal, kindAgentSays, r); done {
		return err
	}
	if c := e.chatByNumber(portal, number); c != nil {
		err := c.call(ctx, func() error {
			if c.over {
				return errChatOver
			}
			c.agentInput(a, body, chatState)
			return nil
		})
		if !errors.Is(err, errChatOver) {
			return err
		}
		// The chat ended just now: answer as for any ended chat.
	}
	if _, err := e.store.ChatByNumber(ctx, portal, number); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoChat
		}
		return err
	}
	if strings.TrimSpace(body) != "" {
		e.agentsSide().Message(portal, a.Key, Message{From: local, Body: SystemPrefix + "This chat is over.", System: true})
	}
	return nil
}

// agentInput runs on the chat's goroutine.
func (c *Chat) agentInput(a AgentInfo, body, chatState string) {
	if c.over {
		return
	}
	text := strings.TrimSpace(body)
	m := c.member(a.Key)
	if o := c.offers[a.Key]; o != nil && text != "" && (m == nil || m.role == roleMonitor) {
		switch strings.ToLower(text) {
		case "y", "yes":
			c.acceptOffer(a, o)
		case "n", "no":
			c.declineOffer(a.Key, o)
		default:
			c.tell(a.Key, "Reply y to accept, or n to decline.")
		}
		return
	}
	kind, literal := commands.Classify(body)
	if kind == commands.HashCommand {
		// Hash commands are never sent to the visitor, nor the typing
		// that wrote them: the visitor's "is typing…" ends here.
		if m != nil && m.role != roleMonitor {
			c.agentTyping(m, "paused")
		}
		c.chatCommand(a, m, body)
		return
	}
	if m == nil {
		if text != "" {
			c.tell(a.Key, "You are not in this chat.")
		}
		return
	}
	if text == "" {
		if chatState != "" && m.role != roleMonitor {
			c.agentTyping(m, chatState)
		}
		return
	}
	if m.role == roleMonitor {
		c.tell(a.Key, "You are monitoring this chat silently; what you type is not sent. Ask to be invited (#i) to talk.")
		return
	}
	if kind == commands.Escaped {
		body = literal
	}
	c.agentMessage(m, body)
}

// agentMessage relays an agent's words to the visitor, or to the channel
// customer when they can be sent now, and copies them to the other
// agents in the chat. A message that is the address of a file in the
// upload store sends the file.
func (c *Chat) agentMessage(m *member, body string) {
	ev := Event{Type: EventMessage, From: m.name, Text: body}
	payload := store.OutboundPayload{Text: body}
	if f, ok := c.ownFile(body); ok {
		ev.Text, ev.Files, body = fileText("", []File{f}), []File{f}, f.URL
		payload = store.OutboundPayload{File: &store.OutboundFile{URL: f.URL, Name: f.Name, MIME: f.MIME}}
	}
	if c.isChannel() {
		var why string
		if ev.out, why = c.customerOut(payload); ev.out == nil {
			c.tell(m.key, why)
			return
		}
	}
	if err := c.relayAgent(m, ev, body); err != nil {
		c.logStoreError("relay an agent's message", err)
		c.tell(m.key, "Your message could not be stored; please send it again.")
	}
}

// relayAgent stores ev, m's message to the visitor — in a channel chat
// with ev.out, what goes to the customer, queued in the same write — and
// copies it to the other agents in the chat as "[Name] text".
func (c *Chat) relayAgent(m *member, ev Event, text string) error {
	if err := c.publish(ev, "agent", m.key); err != nil {
		return err
	}
	c.firstAgentMessage()
	if ev.out != nil {
		c.e.channelsSide().Wake()
	}
	for _, o := range c.members {
		if o.key != m.key {
			c.e.agentsSide().Message(c.portal, o.key, Message{From: c.local, Body: CopyOf(m.name, text)})
		}
	}
	return nil
}

// agentTyping relays an agent's chat state to the visitor.
func (c *Chat) agentTyping(m *member, state string) {
	switch state {
	case "composing":
	case "paused", "active", "inactive", "gone":
		state = "paused"
	default:
		return
	}
	if c.isChannel() {
		if state == "composing" {
			c.e.channelsSide().Typing(c.info.ChannelID, c.info.CustomerID)
		}
		return
	}
	c.announce(Event{Type: EventTyping, From: m.name, State: state}, "agent", m.key)
}

// visitorMessage stores the visitor's words and relays them to every
// agent in the chat; a chat still waiting keeps them for whoever accepts.
func (c *Chat) visitorMessage(ev Event) error {
	// Back-pressure: a burst from one visitor must never cost an agent
	// their connection.
	if c.agentBusy() {
		return ErrAgentBusy
	}
	if err := c.publish(ev, "visitor", ""); err != nil {
		return err
	}
	c.interruptEnd()
	c.logStoreError("touch visitor", c.e.store.TouchVisitor(c.ctx(), c.id, c.e.now()))
	for _, m := range c.members {
		c.relayVisitor(m.key, ev, "active")
	}
	return nil
}

// agentBusy reports whether an agent in the chat is not keeping up.
func (c *Chat) agentBusy() bool {
	for _, m := range c.members {
		if c.e.agentsSide().Busy(c.portal, m.key) {
			return true
		}
	}
	return false
}

// visitorTyping relays the visitor's typing state to the agents.
func (c *Chat) visitorTyping(state string) {
	if state == "composing" {
		c.interruptEnd()
	}
	side := c.e.agentsSide()
	for _, m := range c.members {
		if !side.Busy(c.portal, m.key) { // typing is the first thing to go
			side.Message(c.portal, m.key, Message{From: c.local, ChatState: state})
		}
	}
}

// details is what the accepting agent learns about the visitor (docs/CHATS.md
// §4).
func (c *Chat) details() string {
	i := c.info
	or := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	browser := or(i.Browser)
	if i.OS != "" {
		browser += " on " + i.OS
	}
	if c.isChannel() {
		return c.customerDetails()
	}
	lines := []string{
		"You are chatting with " + c.title() + ".",
		"Email: " + or(i.VisitorEmail),
		"Phone: " + or(i.VisitorPhone),
		"Country: " + or(i.Country),
		"Browser: " + browser,
		"IP: " + or(i.IP),
		"Page: " + or(WebAddress(i.PageURL)),
		"Language: " + or(i.Language),
	}
	if i.Department != "" {
		lines = append(lines, "Department: "+i.Department)
	}
	lines = append(lines, "Question: "+i.Question)
	return strings.Join(lines, "\n")
}

// replayWaiting sends the accepting agent what the visitor wrote while
// waiting.
func (c *Chat) replayWaiting(key string) {
	evs, err := c.e.store.ChatEvents(c.ctx(), c.id, 0, true, 200)
	if err != nil {
		c.logStoreError("read the waiting visitor's messages", err)
		return
	}
	for _, ev := range evs {
		if ev.Type == EventVisitorMessage {
			c.relayVisitor(key, eventFromRecord(ev), "")
		}
	}
}

// AgentAvailabilityChanged lets waiting chats reach an agent who became
// available, and moves offers away from one who did not.
//
// With several nodes it acts where the portal's chats run, and is not
// sent there: xmppd tells the engine of every node of each agent's
// availability (its presence mirror follows the other nodes' sessions,
// and routing reads Availability there), so the owner hears of it from
// its own. Elsewhere only the console wakes up.
func (e *Engine) AgentAvailabilityChanged(portal, agent string, a Availability) {
	if e.nodes != nil && !e.runsHere(portal) {
		e.changes.fire()
		return
	}
	e.changed() // the console shows agents' availability
	chats := e.portalChats(portal)
	for _, c := range chats {
		c := c
		c.post(func() {
			if c.staffed() || c.over {
				return
			}
			if a != Online {
				if c.offers[agent] != nil {
					c.withdraw(agent, answerWithdrawn, "You are no longer available; the offer was withdrawn.")
					if c.routing() == store.RoutingRoundRobin {
						c.dispatch(false)
					}
				}
				return
			}
			c.dispatch(false)
		})
	}
}

// Reroute offers the portal's waiting chats again after an admin changed
// its agents or departments (membership, max_chats, routing): routing
// reads them from the store at each decision.
func (e *Engine) Reroute(portal string) {
	if e.nodes == nil {
		e.redispatch(portal)
		return
	}
	e.goAsync(func(ctx context.Context) { e.logForward(kindReroute, portal, e.reroute(ctx, portal)) })
}

func (e *Engine) reroute(ctx context.Context, portal string) error {
	if _, done, err := forward[portalCall, none](ctx, e, portal, kindReroute, portalCall{Portal: portal}); done {
		return err
	}
	e.redispatch(portal)
	return nil
}

// portalChats is a snapshot of the portal's live chats, taken under the
// engine lock and used after it is released.
func (e *Engine) portalChats(portal string) []*Chat {
	e.mu.Lock()
	defer e.mu.Unlock()
	var chats []*Chat
	for _, c := range e.live {
		if c.portal == portal {
			chats = append(chats, c)
		}
	}
	return chats
}

// redispatch offers the portal's waiting chats again, after an agent's
// capacity freed up.
func (e *Engine) redispatch(portal string) {
	chats := e.portalChats(portal)
	for _, c := range chats {
		c.post(func() { c.dispatch(false) })
	}
}

// equalFold compares department names like the store does.
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
