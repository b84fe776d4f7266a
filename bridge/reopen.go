package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// #reopen N on the desk (docs/CHATS.md §11.3): a chat with a channel
// customer that is over becomes active again, owned by the agent who
// typed it. A web visitor's chat cannot come back: the visitor has left
// the page, and nothing reaches them any more.

// EventReopened is stored when a chat is reopened: Name is the agent,
// Reason how the chat had ended. The visitor is not shown it.
const EventReopened = "reopened"

// recentLines is how many of a reopened chat's last messages its new
// owner is sent.
const recentLines = 10

// reopenCommand is #reopen N.
func (e *Engine) reopenCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	return e.Reopen(ctx, portal, by, cmd.Number)
}

// Reopen makes an ended or missed channel chat active again with the
// agent as its owner (#reopen N): the chat is back in their roster, and
// they are sent its details and last messages. The reply says what the
// agent can send the customer now.
func (e *Engine) Reopen(ctx context.Context, portal string, by AgentInfo, number int64) (string, error) {
	if reply, done, err := forward[chatCall, string](ctx, e, portal, kindReopen, chatCall{Portal: portal, By: by, Number: number}); done {
		return reply, err
	}
	sc, note, err := e.reopenable(ctx, portal, number)
	if err != nil {
		return "", err
	}
	now := e.now()
	ev := Event{Type: EventReopened, At: now.UTC(), From: by.Name, Name: by.Name, Reason: sc.EndReason, Text: "Reopened by " + by.Name}
	rec := ev.record(store.AuthorAgent, by.Key)
	rec.Visible = false
	sc, err = e.store.ReopenChat(ctx, store.Reopen{ChatID: sc.ID, Portal: portal, Agent: by.Key, At: now, Event: rec})
	var ue *store.UserError
	if errors.As(err, &ue) { // changed since it was looked at
		return "", refuse(fmt.Sprintf("Chat #%d cannot be reopened: %s.", number, ue.Msg))
	}
	if err != nil {
		return "", err
	}
	c := e.adopt(sc)
	err = c.call(context.WithoutCancel(ctx), func() error {
		c.reopened(by.Key, note)
		return nil
	})
	if err != nil {
		return "", err
	}
	e.log.Info("chat reopened", "portal", portal, "chat", number, "channel", sc.Channel, "agent", by.Key)
	reply := fmt.Sprintf("You reopened chat #%d with %s (%s); it is in your roster under Visitors.", number, sc.VisitorName, channelLabel(sc))
	if note != "" {
		reply += "\n" + note
	}
	return reply, nil
}

// reopenable finds chat number and says why it may not be reopened now
// (a refusal), or what the agent should know when it is (note).
func (e *Engine) reopenable(ctx context.Context, portal string, number int64) (sc store.Chat, note string, err error) {
	if e.chatByNumber(portal, number) != nil {
		return sc, "", refuse(fmt.Sprintf("Chat #%d is not over.", number))
	}
	sc, err = e.store.ChatByNumber(ctx, portal, number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return sc, "", refuse(fmt.Sprintf("There is no chat #%d.", number))
	case err != nil:
		return sc, "", err
	case sc.Status.Live():
		return sc, "", refuse(fmt.Sprintf("Chat #%d is not over.", number))
	case sc.CustomerID == 0:
		return sc, "", refuse(fmt.Sprintf("Chat #%d cannot be reopened: %s was a web visitor, who has left the page.", number, sc.VisitorName))
	}
	cu, err := e.store.Customer(ctx, sc.CustomerID)
	if err != nil {
		return sc, "", err
	}
	if why := e.cannotWrite(ctx, sc, cu); why != "" {
		return sc, "", refuse(fmt.Sprintf("Chat #%d cannot be reopened: %s.", number, why))
	}
	live, ok, err := e.store.LiveChatOfCustomer(ctx, sc.CustomerID)
	if err != nil {
		return sc, "", err
	}
	if ok {
		return sc, "", refuse(fmt.Sprintf("Chat #%d cannot be reopened: %s is in chat #%d, which goes on; answer there.", number, sc.VisitorName, live.Number))
	}
	if !cu.WindowOpen(sc.ChannelType, e.now()) {
		// WhatsApp: cannotWrite let it through, for templates.
		note = fmt.Sprintf("%s last wrote %s: %s only takes templates until they write again; send one with #tpl NAME ARG….",
			sc.VisitorName, lastWrote(cu, e.now()), sc.ChannelType.Title())
	}
	return sc, note, nil
}

// cannotWrite says why nothing can be sent to the customer of channel
// chat sc ("" when something can: on WhatsApp outside the reply window,
// templates).
func (e *Engine) cannotWrite(ctx context.Context, sc store.Chat, cu store.ChannelCustomer) string {
	provider := sc.ChannelType.Title()
	switch {
	case cu.Blocked:
		return fmt.Sprintf("%s is blocked (by %s: %s)", sc.VisitorName, cu.BlockedBy, cu.BlockedReason)
	case cu.State == store.CustomerBlocked:
		return fmt.Sprintf("%s blocked this %s account, so nothing reaches them", sc.VisitorName, provider)
	case !cu.WindowOpen(sc.ChannelType, e.now()) && !sc.ChannelType.HasTemplates():
		return fmt.Sprintf("%s only lets us write within %s of the customer's last message, and %s last wrote %s",
			provider, hours(sc.ChannelType.ReplyWindow()), sc.VisitorName, lastWrote(cu, e.now()))
	}
	ch, err := e.store.ChannelByID(ctx, sc.ChannelID)
	switch {
	case err != nil:
		return "its channel " + sc.Channel + " cannot be read"
	case ch.Disabled:
		return "channel " + ch.Name + " is disabled"
	}
	return ""
}

// reopened puts a chat that came back in its owner's roster, counts it
// against their max_chats, and sends them what they would see on
// accepting it: the customer's details, then its last messages.
func (c *Chat) reopened(agent, note string) {
	for _, m := range c.members {
		c.countLoad(m, 1)
		c.show(m.key)
	}
	c.tell(agent, c.details())
	evs, err := c.e.store.ChatEvents(c.ctx(), c.id, 0, false, 0)
	if err != nil {
		c.logStoreError("read the reopened chat's messages", err)
		return
	}
	var msgs []store.ChatEvent
	for _, ev := range evs {
		if ev.Type == EventMessage || ev.Type == EventVisitorMessage {
			msgs = append(msgs, ev)
			c.lastMessage = ev.At // what the live view shows
		}
	}
	if len(msgs) > recentLines {
		c.tell(agent, fmt.Sprintf("The last %d of %d messages (#h shows them all):", recentLines, len(msgs)))
		msgs = msgs[len(msgs)-recentLines:]
	}
	c.replayMessages(agent, msgs, c.info.VisitorName)
	if note != "" {
		c.tell(agent, note)
	}
}

// lastWrote is when the customer last wrote, for people: "3 days ago".
func lastWrote(cu store.ChannelCustomer, now time.Time) string {
	if cu.LastInboundAt == nil {
		return "never"
	}
	d := now.Sub(*cu.LastInboundAt)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
}

// hours is a reply window in words: "24 hours".
func hours(d time.Duration) string { return fmt.Sprintf("%d hours", int(d/time.Hour)) }
