package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// endReason is why a chat ended, as stored and as told to the visitor
// (Event.Reason).
type endReason string

// Why a chat ended, as the store keeps it.
const (
	reasonVisitor     endReason = store.EndVisitor     // the visitor ended it
	reasonVisitorLeft endReason = store.EndVisitorLeft // gone longer than the grace period
	reasonMissed      endReason = store.EndMissed      // nobody accepted in time, or nobody was online
	reasonAgent       endReason = store.EndAgent       // an agent ended it (#e)
	reasonIdle        endReason = store.EndIdle        // the end timer of #e 30 ran out
	reasonBlocked     endReason = store.EndBlocked     // an agent blocked the visitor's address or the customer (#b)
)

// EndDelays are the seconds #e accepts.
var EndDelays = []int{30, 45, 60, 90}

// endCommand is #e: it ends the chat now, after seconds of visitor
// silence (#e 30), or cancels a pending end (#e cancel). The agents are
// told here, so there is no reply.
func (c *Chat) endCommand(by *member, cmd commands.Command) (string, error) {
	switch {
	case cmd.Cancel:
		return "", c.cancelEnd(by)
	case cmd.Seconds > 0:
		c.endAfter(by, cmd.Seconds)
	default:
		c.endNow(by)
	}
	return "", nil
}

// endNow ends the chat at an agent's request (#e).
func (c *Chat) endNow(by *member) { c.endBy(by.key, by.name) }

// endBy ends the chat at the request of the agent key, named name: the
// other agents in it are told who ended it (#e; a supervisor's End).
func (c *Chat) endBy(key, name string) {
	for _, m := range c.members {
		if m.key != key {
			c.tell(m.key, name+" ended the chat with "+c.title()+".")
		}
	}
	if c.member(key) != nil {
		c.tell(key, "Chat ended.")
	}
	c.endQuietly(reasonAgent)
}

// End ends a live chat at a supervisor's request, whether or not they
// are in it, as #e ends it for an agent in it: the agents in the chat
// are told who ended it, the visitor sees it end (reason agent), and
// offers of a chat still waiting are withdrawn. The reply is for the
// supervisor; a refusal is a *CommandError.
func (e *Engine) End(ctx context.Context, portal string, by AgentInfo, number int64) (string, error) {
	if !by.Role.AtLeast(store.RoleSupervisor) {
		return "", refuse("Only supervisors can end chats they are not in.")
	}
	if reply, done, err := forward[chatCall, string](ctx, e, portal, kindEnd, chatCall{Portal: portal, By: by, Number: number}); done {
		return reply, err
	}
	c, err := e.liveChat(ctx, portal, number)
	if err != nil {
		return "", err
	}
	err = c.call(ctx, func() error {
		if c.over {
			return errChatOver
		}
		c.endBy(by.Key, by.Name)
		return nil
	})
	if errors.Is(err, errChatOver) {
		return "", refuse(fmt.Sprintf("Chat #%d is over.", number))
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Chat #%d ended.", number), nil
}

// endQuietly ends the chat without the generic line to the agents (the
// caller told them already).
func (c *Chat) endQuietly(reason endReason) {
	for _, m := range c.members {
		c.hide(m.key)
		c.countLoad(m, -1)
		c.logStoreError("remove chat agent", c.e.store.RemoveChatAgent(c.ctx(), c.id, m.key, c.e.now()))
	}
	c.members = nil
	c.end(reason)
	c.e.redispatch(c.portal)
}

// endAfter ends the chat after seconds of visitor silence (#e 30): both
// sides are told; any visitor message or typing interrupts it.
func (c *Chat) endAfter(by *member, seconds int) {
	text := c.teamName() + " will end the chat in " + strconv.Itoa(seconds) + " seconds"
	c.armEnd(time.Duration(seconds) * c.e.cfg.EndTimerUnit)
	c.announce(Event{Type: EventSystem, Text: text}, "system", by.key)
	c.announce(Event{Type: EventEndTimer, Seconds: seconds}, "system", by.key)
	for _, m := range c.members {
		c.tell(m.key, text+" unless the visitor writes.")
	}
}

// armEnd ends the chat after d unless the visitor speaks first.
func (c *Chat) armEnd(d time.Duration) {
	stopTimer(c.endTimer)
	var t timer
	t = c.e.clock.AfterFunc(d, func() {
		c.post(func() {
			if c.endTimer == t && !c.over {
				c.endTimer = nil
				c.end(reasonIdle)
			}
		})
	})
	c.endTimer = t
}

// resumeEnd arms again the end (#e 30) that was pending when the chat
// last ran, on this node before a restart or on another: its end_timer
// event, not cancelled since, says when it runs out.
func (c *Chat) resumeEnd() {
	recs, err := c.e.store.ChatEvents(c.ctx(), c.id, 0, true, 0)
	if err != nil {
		c.logStoreError("read the chat's pending end", err)
		return
	}
	for i := len(recs) - 1; i >= 0; i-- {
		switch recs[i].Type {
		case EventEndTimerCancelled, EventEnded:
			return
		case EventEndTimer:
			ev := eventFromRecord(recs[i])
			at := ev.At.Add(time.Duration(ev.Seconds) * c.e.cfg.EndTimerUnit)
			c.armEnd(max(at.Sub(c.e.now()), 0))
			return
		}
	}
}

// cancelEnd cancels a pending end (#e cancel).
func (c *Chat) cancelEnd(by *member) error {
	if c.endTimer == nil {
		return refuse("There is no pending end to cancel.")
	}
	c.endTimer.Stop()
	c.endTimer = nil
	c.announce(Event{Type: EventSystem, Text: "The chat stays open."}, "system", by.key)
	c.announce(Event{Type: EventEndTimerCancelled}, "system", by.key)
	for _, m := range c.members {
		c.tell(m.key, "Pending end cancelled")
	}
	return nil
}

// teamName is how the visitor's window names the team: the portal's
// team_name setting, else the chat's department, else "Support".
func (c *Chat) teamName() string {
	if m, err := c.e.store.PortalSettings(c.ctx(), c.portal); err == nil && m[store.SettingTeamName] != "" {
		return m[store.SettingTeamName]
	}
	if c.info.Department != "" {
		return c.info.Department
	}
	return "Support"
}

// interruptEnd stops a pending end because the visitor is active.
func (c *Chat) interruptEnd() {
	if c.endTimer == nil {
		return
	}
	c.endTimer.Stop()
	c.endTimer = nil
	c.announce(Event{Type: EventSystem, Text: "The chat stays open."}, "system", "")
	c.announce(Event{Type: EventEndTimerCancelled}, "system", "")
	for _, m := range c.members {
		c.tell(m.key, "The visitor is back; the chat stays open.")
	}
}
