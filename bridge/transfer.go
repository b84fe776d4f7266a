package bridge

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// CommandError is a refusal meant for the agent who typed the command.
type CommandError struct{ Msg string }

func (e *CommandError) Error() string { return e.Msg }

func refuse(msg string) error { return &CommandError{Msg: msg} }

// acceptOffer handles "y" to any kind of offer.
func (c *Chat) acceptOffer(a AgentInfo, o *offer) {
	switch o.kind {
	case kindChat:
		c.accept(a.Key, a.Name)
	case kindTransfer:
		c.acceptTransfer(a, o)
	case kindInvite:
		c.acceptInvite(a, o)
	}
}

// declineOffer handles "n" to any kind of offer.
func (c *Chat) declineOffer(key string, o *offer) {
	switch o.kind {
	case kindChat:
		c.decline(key)
	case kindTransfer, kindInvite:
		what := "transfer"
		if o.kind == kindInvite {
			what = "invitation"
		}
		c.withdraw(key, answerDeclined, "You declined the "+what+" of "+c.title()+".")
		c.offerEnded(o, key, "declined")
	}
}

// offerEnded tells the agent who made a transfer or an invitation that
// it came to nothing; a transfer to a department ends when no agent of it
// is left with the offer.
func (c *Chat) offerEnded(o *offer, key, how string) {
	if c.member(o.from) == nil {
		return
	}
	if o.dept != "" {
		for _, other := range c.offers {
			if other.from == o.from && other.dept == o.dept {
				return
			}
		}
		c.tell(o.from, "Nobody in "+o.dept+" took the transfer; you keep the chat.")
		return
	}
	who := c.agentName(key)
	switch o.kind {
	case kindTransfer:
		c.tell(o.from, who+" "+how+" the transfer; you keep the chat.")
	case kindInvite:
		c.tell(o.from, who+" "+how+" the invitation.")
	}
}

// agentName is an agent's display name, or the key if unknown.
func (c *Chat) agentName(key string) string {
	if m := c.member(key); m != nil {
		return m.name
	}
	a, err := c.e.store.Agent(c.ctx(), c.portal, key)
	if err != nil {
		return key
	}
	return a.DisplayName
}

// offerFromAgent offers the chat to target on behalf of from: a transfer
// or an invitation, answered with y or n within the offer timeout.
func (c *Chat) offerFromAgent(from *member, target store.Agent, kind offerKind, note, dept string) {
	o := &offer{kind: kind, from: from.key, fromName: from.name, note: note, dept: dept}
	key := target.Key()
	if err := c.addOffer(key, o); err != nil {
		c.logStoreError("store offer", err)
		return
	}
	c.show(key)
	what := "Transfer from "
	if kind == kindInvite {
		what = "Invitation from "
	}
	text := what + from.name + ": " + c.title()
	if dept != "" {
		text += " (to " + dept + ")"
	}
	if note != "" {
		text += " — " + note
	}
	text += "\nQuestion: " + c.info.Question + "\nReply y to accept, n to decline."
	c.e.agentsSide().Message(c.portal, key, Message{From: c.local, Body: SystemPrefix + text, ChatState: "active", System: true})
	o.timer = c.e.clock.AfterFunc(c.e.cfg.OfferTimeout, func() {
		c.post(func() {
			if c.offers[key] == o {
				c.withdraw(key, answerTimeout, "You did not answer in time; the offer was withdrawn.")
				c.offerEnded(o, key, "did not answer")
			}
		})
	})
}

// resolveAgent finds an agent of the chat's portal by email or username.
func (c *Chat) resolveAgent(who string) (store.Agent, error) {
	var a store.Agent
	var err error
	if strings.Contains(who, "@") {
		a, err = c.e.store.AgentByEmail(c.ctx(), c.portal, who)
	} else {
		a, err = c.e.store.Agent(c.ctx(), c.portal, who)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, refuse("There is no agent " + who + " in this portal.")
	}
	return a, err
}

// transferCommand is #t: it offers the chat to another agent (#t
// EMAIL|USERNAME) or to a department's online agents (#t "DEPARTMENT").
func (c *Chat) transferCommand(by *member, cmd commands.Command) (string, error) {
	if cmd.Department != "" {
		n, err := c.transferToDepartment(by, cmd.Department, cmd.Note)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Transfer to %s offered to %d online agent(s); waiting for an answer.", cmd.Department, n), nil
	}
	target, err := c.checkTarget(by, cmd.Target)
	if err != nil {
		return "", err
	}
	c.offerFromAgent(by, target, kindTransfer, cmd.Note, "")
	return "Transfer to " + cmd.Target + " offered; waiting for an answer.", nil
}

// inviteCommand is #i: it offers another agent to join the chat.
func (c *Chat) inviteCommand(by *member, cmd commands.Command) (string, error) {
	target, err := c.checkTarget(by, cmd.Target)
	if err != nil {
		return "", err
	}
	c.offerFromAgent(by, target, kindInvite, cmd.Note, "")
	return "Invitation sent to " + cmd.Target + "; waiting for an answer.", nil
}

// checkTarget checks the agent a transfer or invitation is for.
func (c *Chat) checkTarget(by *member, who string) (store.Agent, error) {
	target, err := c.resolveAgent(who)
	if err != nil {
		return target, err
	}
	switch {
	case target.Key() == by.key:
		return target, refuse("You cannot transfer or invite yourself.")
	case c.member(target.Key()) != nil && c.member(target.Key()).role != roleMonitor:
		return target, refuse(target.DisplayName + " is already in this chat.")
	case c.offers[target.Key()] != nil:
		return target, refuse(target.DisplayName + " already has an offer of this chat.")
	case c.e.agentsSide().Availability(c.portal, target.Key()) != Online:
		return target, refuse(target.DisplayName + " is " + c.e.agentsSide().Availability(c.portal, target.Key()).String() + "; choose someone who is online.")
	}
	return target, nil
}

// transferToDepartment offers the chat to every online agent of a
// department (#t "DEPARTMENT"); the first y takes it over.
func (c *Chat) transferToDepartment(by *member, dept, note string) (int, error) {
	d, err := c.e.store.Department(c.ctx(), c.portal, dept)
	if errors.Is(err, store.ErrNotFound) {
		return 0, refuse("There is no department \"" + dept + "\"; #d lists them.")
	}
	if err != nil {
		return 0, err
	}
	agents, err := c.e.store.Agents(c.ctx(), c.portal)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range agents {
		if !inDepartment(a, d.Name) || a.Key() == by.key || c.member(a.Key()) != nil || c.offers[a.Key()] != nil ||
			c.e.agentsSide().Availability(c.portal, a.Key()) != Online {
			continue
		}
		c.offerFromAgent(by, a, kindTransfer, note, d.Name)
		n++
	}
	if n == 0 {
		return 0, refuse("Nobody in " + d.Name + " is online to take the chat.")
	}
	return n, nil
}

// acceptTransfer makes the target the chat's agent and detaches the one
// who transferred it.
func (c *Chat) acceptTransfer(a AgentInfo, o *offer) {
	c.closeOffer(a.Key, o, answerAccepted)
	now := c.e.now()
	for key, other := range c.offers {
		if other.kind == kindTransfer && other.from == o.from {
			c.withdraw(key, answerWithdrawn, a.Name+" took the transfer of "+c.title()+".")
		}
	}
	c.join(a, roleOwner, now)
	if from := c.member(o.from); from != nil {
		c.tell(o.from, a.Name+" took over the chat with "+c.title()+".")
		c.leave(o.from, now)
	}
	c.tell(a.Key, c.details())
}

// acceptInvite adds the invited agent to the chat.
func (c *Chat) acceptInvite(a AgentInfo, o *offer) {
	c.closeOffer(a.Key, o, answerAccepted)
	now := c.e.now()
	c.join(a, roleInvited, now)
	for _, m := range c.members {
		if m.key != a.Key && m.role != roleMonitor {
			c.tell(m.key, a.Name+" joined the chat.")
		}
	}
	c.tell(a.Key, c.details())
}

// join adds an agent to the chat (the visitor sees agent_joined unless
// the agent is a silent monitor).
func (c *Chat) join(a AgentInfo, role memberRole, now time.Time) {
	if m := c.member(a.Key); m != nil {
		if m.role == roleMonitor && role != roleMonitor {
			m.role = role
			c.countLoad(*m, 1)
			c.logStoreError("add chat agent", c.e.store.AddChatAgent(c.ctx(), c.id, c.portal, a.Key, string(role), now))
			c.announce(Event{Type: EventAgentJoined, Name: a.Name}, "system", a.Key)
		}
		return
	}
	c.logStoreError("add chat agent", c.e.store.AddChatAgent(c.ctx(), c.id, c.portal, a.Key, string(role), now))
	m := member{key: a.Key, name: a.Name, role: role}
	c.members = append(c.members, m)
	c.countLoad(m, 1)
	c.show(a.Key)
	if role != roleMonitor {
		c.announce(Event{Type: EventAgentJoined, Name: a.Name}, "system", a.Key)
	}
}

// leave detaches an agent from a live chat.
func (c *Chat) leave(key string, now time.Time) {
	for i, m := range c.members {
		if m.key != key {
			continue
		}
		c.members = append(c.members[:i:i], c.members[i+1:]...)
		c.countLoad(m, -1)
		c.logStoreError("remove chat agent", c.e.store.RemoveChatAgent(c.ctx(), c.id, key, now))
		c.hide(key)
		if m.role != roleMonitor {
			c.announce(Event{Type: EventAgentLeft, Name: m.name}, "system", key)
		}
		c.e.redispatch(c.portal)
		return
	}
}
