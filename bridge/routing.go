package bridge

import (
	"jabberdesk/address"
	"jabberdesk/store"
)

// eligible returns the agents who may be offered the chat now: in its
// department (any agent when it has none), online, below their max_chats,
// not in the chat and not already offered it; with broadcast routing, not
// one who declined it.
func (c *Chat) eligible() ([]store.Agent, bool) {
	agents, err := c.e.store.Agents(c.ctx(), c.portal)
	if err != nil {
		c.logStoreError("list agents for routing", err)
		return nil, false
	}
	side := c.e.agentsSide()
	var out []store.Agent
	anyoneOnline := false
	for _, a := range agents {
		if c.info.Department != "" && !inDepartment(a, c.info.Department) {
			continue
		}
		if side.Availability(c.portal, a.Key()) != Online {
			continue
		}
		anyoneOnline = true
		if c.member(a.Key()) != nil || c.offers[a.Key()] != nil || c.declined[a.Key()] || c.e.Load(c.portal, a.Key()) >= a.MaxChats {
			continue
		}
		out = append(out, a)
	}
	return out, anyoneOnline
}

func inDepartment(a store.Agent, dept string) bool {
	for _, d := range a.Departments {
		if equalFold(d, dept) {
			return true
		}
	}
	return false
}

// routing returns the chat's department routing mode.
func (c *Chat) routing() store.Routing {
	if c.info.Department == "" {
		return store.RoutingBroadcast
	}
	d, err := c.e.store.Department(c.ctx(), c.portal, c.info.Department)
	if err != nil {
		return store.RoutingBroadcast
	}
	return d.Routing
}

// dispatch offers a waiting chat: to every eligible agent (broadcast) or
// to the next one in rotation (round robin). On a new chat (first) with
// nobody online at all the chat is missed at once; otherwise it waits for
// agents until the queue timeout.
func (c *Chat) dispatch(first bool) {
	if c.over || c.staffed() {
		return
	}
	agents, anyoneOnline := c.eligible()
	if first && !anyoneOnline {
		c.miss("nobody online")
		return
	}
	if len(agents) == 0 {
		return
	}
	if c.routing() == store.RoutingRoundRobin {
		if len(c.offers) > 0 {
			return // one at a time
		}
		c.offerTo(c.nextInRotation(agents), kindChat)
		return
	}
	for _, a := range agents {
		c.offerTo(a, kindChat)
	}
}

// nextInRotation picks the agent after the department's cursor that has
// not been tried in this round; when all have, a new round starts.
func (c *Chat) nextInRotation(agents []store.Agent) store.Agent {
	fresh := agents[:0:0]
	for _, a := range agents {
		if !c.tried[a.Key()] {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		// A new round; it starts with someone other than the agent who
		// just had the offer, when there is anyone else.
		c.tried = make(map[string]bool)
		for _, a := range agents {
			if a.Key() != c.lastOffered || len(agents) == 1 {
				fresh = append(fresh, a)
			}
		}
	}
	key := address.Department{Portal: c.portal, Name: c.info.Department}
	c.e.mu.Lock()
	i := c.e.rr[key] % len(fresh)
	c.e.rr[key] = i + 1
	c.e.mu.Unlock()
	a := fresh[i]
	c.tried[a.Key()] = true
	c.lastOffered = a.Key()
	return a
}

// offerTo offers the chat to one agent: roster contact, presence and a
// message saying how to answer (docs/CHATS.md §3.4).
func (c *Chat) offerTo(a store.Agent, kind offerKind) {
	o := &offer{kind: kind}
	if err := c.addOffer(a.Key(), o); err != nil {
		c.logStoreError("store offer", err)
		return
	}
	if c.info.Status == store.ChatWaiting {
		c.setStatus(store.ChatOffered, "")
	}
	c.show(a.Key())
	text := c.title() + " asks"
	if c.info.Department != "" {
		text += " (" + c.info.Department + ")"
	}
	text += ":\n" + c.info.Question + "\nReply y to accept, n to decline."
	c.e.agentsSide().Message(c.portal, a.Key(), Message{From: c.local, Body: SystemPrefix + text, ChatState: "active", System: true})
	if c.routing() == store.RoutingRoundRobin {
		key := a.Key()
		o.timer = c.e.clock.AfterFunc(c.e.cfg.OfferTimeout, func() {
			c.post(func() {
				if c.offers[key] == o {
					c.withdraw(key, answerTimeout, "You did not answer in time; the chat was offered to someone else.")
					c.dispatch(false)
				}
			})
		})
	}
}

// addOffer stores o, an offer of the chat to the agent key, and keeps it
// pending until it is answered or withdrawn.
func (c *Chat) addOffer(key string, o *offer) error {
	id, err := c.e.store.AddOffer(c.ctx(), c.id, c.portal, key, string(o.kind), c.e.now())
	if err != nil {
		return err
	}
	o.id = id
	c.offers[key] = o
	return nil
}

// closeOffer ends the agent's pending offer o with answer: it is no
// longer pending, its timer stops, and the answer is stored.
func (c *Chat) closeOffer(key string, o *offer, answer offerAnswer) {
	delete(c.offers, key)
	stopTimer(o.timer)
	c.logStoreError("answer offer", c.e.store.AnswerOffer(c.ctx(), o.id, string(answer), c.e.now()))
}

// handTo gives a waiting chat to an agent as if it had been offered to
// them and they had said y (#take, #assign).
func (c *Chat) handTo(a AgentInfo) error {
	if c.offers[a.Key] == nil {
		if err := c.addOffer(a.Key, &offer{kind: kindChat}); err != nil {
			return err
		}
	}
	c.accept(a.Key, a.Name)
	return nil
}

// withdraw takes an offer back, telling the agent why when tell is set.
func (c *Chat) withdraw(key string, answer offerAnswer, tell string) {
	o := c.offers[key]
	if o == nil {
		return
	}
	c.closeOffer(key, o, answer)
	if tell != "" {
		c.tell(key, tell)
	}
	if c.member(key) == nil {
		c.hide(key)
	}
	if len(c.offers) == 0 && !c.staffed() && c.info.Status == store.ChatOffered && !c.over {
		c.setStatus(store.ChatWaiting, "") // nobody has it on offer any more
	}
}

// accept makes the chat active with the agent who said "y" first.
func (c *Chat) accept(key, name string) {
	c.closeOffer(key, c.offers[key], answerAccepted)
	now := c.e.now()
	stopTimer(c.queueTimer)
	answered := c.info.Status != store.ChatActive
	c.setStatus(store.ChatActive, "")
	if answered {
		c.observe(Answered)
	}
	for other, oo := range c.offers {
		if oo.kind == kindChat {
			c.withdraw(other, answerWithdrawn, name+" took the chat with "+c.title()+".")
		}
	}
	c.join(AgentInfo{Key: key, Name: name}, roleOwner, now)
	c.tell(key, c.details())
	c.replayWaiting(key)
	c.autoConvert("accept")
}

// decline withdraws the offer from one agent; round robin moves on.
func (c *Chat) decline(key string) {
	c.withdraw(key, answerDeclined, "You declined the chat with "+c.title()+".")
	if c.routing() == store.RoutingRoundRobin {
		c.dispatch(false)
		return
	}
	c.declined[key] = true
}

// miss ends a chat nobody took (docs/CHATS.md §3.5).
func (c *Chat) miss(why string) {
	// Store first (the ticket, then the status), tell afterwards: whoever
	// hears that the chat was missed finds it so in the database.
	c.autoConvert("missed")
	c.setStatus(store.ChatMissed, reasonMissed)
	c.observe(Missed)
	c.announce(Event{Type: EventSystem, Text: c.e.cfg.MissedText}, "system", "")
	c.announce(Event{Type: EventEnded, Reason: string(reasonMissed)}, "system", "")
	c.completeTicket()
	for key := range c.offers {
		c.withdraw(key, answerWithdrawn, "Nobody accepted the chat with "+c.title()+"; it was missed.")
	}
	for _, m := range c.members { // monitors of a chat nobody took
		c.tell(m.key, "Nobody accepted the chat with "+c.title()+"; it was missed.")
		c.hide(m.key)
		c.logStoreError("remove chat agent", c.e.store.RemoveChatAgent(c.ctx(), c.id, m.key, c.e.now()))
	}
	c.members = nil
	c.e.log.Info("chat missed", "portal", c.portal, "chat", c.number, "why", why)
	c.finish()
}

// end ends a live chat for everyone (docs/CHATS.md §7).
func (c *Chat) end(reason endReason) {
	if c.over {
		return
	}
	var text string
	switch reason {
	case reasonVisitor:
		text = c.title() + " ended the chat."
	case reasonVisitorLeft:
		text = c.title() + " left; the chat is over."
	case reasonIdle:
		text = "The chat with " + c.title() + " ended after the visitor was silent."
	case reasonBlocked:
		text = "The chat with " + c.title() + " ended: the visitor's address is blocked."
		if c.isChannel() {
			text = "The chat with " + c.title() + " ended: the customer is blocked."
		}
	default:
		text = "The chat with " + c.title() + " is over."
	}
	// Store first (the ticket, then the status), tell afterwards.
	attended := c.info.Status == store.ChatActive
	if attended {
		c.autoConvert("end")
	}
	c.setStatus(store.ChatEnded, reason)
	ended := c.endedEvent(reason, attended)
	c.askedRating = ended.Rate
	c.announce(ended, "system", "")
	if ended.out != nil {
		c.e.channelsSide().Wake()
	}
	c.completeTicket()
	for key := range c.offers {
		c.withdraw(key, answerWithdrawn, text)
	}
	now := c.e.now()
	for _, m := range c.members {
		c.tell(m.key, text)
		c.hide(m.key)
		c.countLoad(m, -1)
		c.logStoreError("remove chat agent", c.e.store.RemoveChatAgent(c.ctx(), c.id, m.key, now))
	}
	freed := len(c.members) > 0
	c.members = nil
	c.finish()
	if freed {
		c.e.redispatch(c.portal)
	}
	c.e.log.Info("chat ended", "portal", c.portal, "chat", c.number, "reason", reason)
}

// setStatus stores a status change and keeps the roster card current.
func (c *Chat) setStatus(st store.ChatStatus, reason endReason) {
	c.info.Status = st
	c.logStoreError("store chat status", c.e.store.SetChatStatus(c.ctx(), c.id, st, c.e.now(), string(reason)))
	c.updateCard()
}

// startQueue arms the queue timeout of a waiting chat, counted from its
// creation.
func (c *Chat) startQueue() {
	left := c.e.cfg.QueueTimeout - c.e.now().Sub(c.info.CreatedAt)
	c.queueTimer = c.e.clock.AfterFunc(max(left, 0), func() {
		c.post(func() {
			if !c.over && !c.staffed() {
				c.miss("queue timeout")
			}
		})
	})
}

// restore resumes a chat that was live when the server stopped, or whose
// node died (Engine.Adopt): a chat without an agent is offered again, its
// queue timeout counting from its creation; a pending end (#e 30) runs
// out when it was to; the visitor has the grace period to come back.
func (c *Chat) restore() {
	if at, ok, err := c.e.store.LastMessageAt(c.ctx(), c.id); err != nil {
		c.logStoreError("read the last message time", err)
	} else if ok {
		c.lastMessage = at
	}
	for _, m := range c.members {
		c.countLoad(m, 1)
		c.e.setContact(c, m.key, true)
	}
	if !c.staffed() {
		// Offers did not survive the restart: offer it again.
		if c.info.Status == store.ChatOffered {
			c.setStatus(store.ChatWaiting, "")
		}
		c.startQueue()
		c.dispatch(false)
	} else {
		c.resumeEnd()
	}
	if !c.over && !c.isChannel() { // a customer is never connected
		c.startGrace()
	}
}

// endedEvent is the event that ends the chat. A channel customer whose
// chat nobody accepted is sent the missed-chat text (a web visitor's
// widget shows it). The visitor of a chat an agent took part in is asked
// to rate it (rating.go), unless the portal does not ask or the chat
// ended with a block.
func (c *Chat) endedEvent(reason endReason, attended bool) Event {
	ev := Event{Type: EventEnded, Reason: string(reason)}
	switch {
	case reason == reasonMissed && c.isChannel():
		// Where the provider does not allow it, the customer is not told.
		ev.out, _ = c.customerOut(store.OutboundPayload{Text: c.e.cfg.MissedText})
	case attended && reason != reasonBlocked && c.asksRatings():
		ev.Rate = true
		if c.isChannel() {
			ev.out = c.ratingQuestion()
			ev.Rate = ev.out != nil
		}
	}
	return ev
}
