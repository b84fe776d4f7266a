package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// The desk (PORTAL|desk@DOMAIN) works on a portal's chats as a whole: the
// queue, inbox views, taking a waiting chat, and for supervisors assigning
// and monitoring. The hash commands and the ad-hoc commands of the desk
// contact both call these.

// QueuedChat is a chat waiting for an agent.
type QueuedChat struct {
	Number     int64
	Visitor    string
	Department string
	Question   string
	Waiting    time.Duration
	Offered    bool // offered to agents (status offered), not only waiting
}

// Queue lists a portal's waiting chats, longest waiting first.
func (e *Engine) Queue(portal string) []QueuedChat {
	q, err := e.queue(context.Background(), portal)
	e.logForward(kindQueue, portal, err)
	return q
}

func (e *Engine) queue(ctx context.Context, portal string) ([]QueuedChat, error) {
	if q, done, err := forward[portalCall, []QueuedChat](ctx, e, portal, kindQueue, portalCall{Portal: portal}); done {
		return q, err
	}
	chats := e.portalChats(portal)
	now := e.now()
	var out []QueuedChat
	for _, c := range chats {
		var q *QueuedChat
		err := c.call(ctx, func() error {
			if !c.staffed() && !c.over {
				q = &QueuedChat{Number: c.number, Visitor: c.info.VisitorName, Department: c.info.Department,
					Question: c.info.Question, Waiting: now.Sub(c.info.CreatedAt), Offered: c.info.Status == store.ChatOffered}
			}
			return nil
		})
		// The only error is errChatOver: a chat that ended meanwhile
		// waits no more.
		if err == nil && q != nil {
			out = append(out, *q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Waiting > out[j].Waiting })
	return out, nil
}

// queueCommand is #q.
func (e *Engine) queueCommand(ctx context.Context, portal string, _ AgentInfo, _ commands.Command) (string, error) {
	return e.queueText(ctx, portal)
}

// QueueText is the queue in words: what #q answers.
func (e *Engine) QueueText(portal string) string {
	text, err := e.queueText(context.Background(), portal)
	if err != nil {
		e.logForward(kindQueueText, portal, err)
		return unreachableText
	}
	return text
}

func (e *Engine) queueText(ctx context.Context, portal string) (string, error) {
	if text, done, err := forward[portalCall, string](ctx, e, portal, kindQueueText, portalCall{Portal: portal}); done {
		return text, err
	}
	q, err := e.queue(ctx, portal)
	if err != nil {
		return "", err
	}
	if len(q) == 0 {
		return "No chats are waiting.", nil
	}
	offered := 0
	for _, c := range q {
		if c.Offered {
			offered++
		}
	}
	// The same words as #stats: waiting (not offered to anyone yet) and
	// offered (to agents who have not answered).
	lines := []string{fmt.Sprintf("%d without an agent: %d waiting, %d offered", len(q), len(q)-offered, offered)}
	for _, c := range q {
		dept := c.Department
		if dept == "" {
			dept = "no department"
		}
		state := "waiting"
		if c.Offered {
			state = "offered"
		}
		lines = append(lines, fmt.Sprintf("#%d %s (%s), %s for %s: %s", c.Number, c.Visitor, dept, state,
			c.Waiting.Round(time.Second), truncate(c.Question, 60)))
	}
	lines = append(lines, "Take one with #take NUMBER")
	return strings.Join(lines, "\n"), nil
}

// chatsShown is how many chats #chats lists.
const chatsShown = 20

// chatsCommand is #chats [VIEW] [replied|unreplied] [CHANNEL] (default
// mine).
func (e *Engine) chatsCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	// The parser gives one of the store's views (TestChatsViewWords).
	return e.ChatsText(ctx, store.ChatQuery{Portal: portal, View: store.ChatView(cmd.Text), Agent: by.Key,
		Reply: store.ReplyState(cmd.Reply), Channel: cmd.Channel, Limit: chatsShown})
}

// ChatsText is a view of the portal's chats in words, newest first: what
// #chats answers. A channel the portal does not have is a refusal.
func (e *Engine) ChatsText(ctx context.Context, q store.ChatQuery) (string, error) {
	l, err := e.store.ChatsInView(ctx, q)
	var ue *store.UserError
	if errors.As(err, &ue) && errors.Is(err, store.ErrNotFound) && q.Channel != "" {
		return "", refuse("#chats: " + ue.Msg + ". The views are " + strings.Join(store.ChatViews(), ", ") + ".")
	}
	if err != nil {
		return "", err
	}
	name := string(q.View)
	for _, f := range []string{string(q.Reply), q.Channel} {
		if f != "" {
			name += ", " + f
		}
	}
	if len(l.Chats) == 0 {
		return "No chats in view " + name + ".", nil
	}
	lines := []string{"Chats (" + name + "):"}
	for _, sc := range l.Chats {
		lines = append(lines, fmt.Sprintf("#%d %s — %s — %s — %s — %s", sc.Number, sc.VisitorName, sc.Status, chatAgents(sc),
			channelLabel(sc), truncate(sc.Question, 50)))
	}
	if more := l.More(); more > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more; narrow the view with replied, unreplied or a channel.", more))
	}
	return strings.Join(lines, "\n"), nil
}

// chatAgents names who has a chat: the agents in it now while it goes
// on, those who were in it once it is over; monitors are not named.
func chatAgents(sc store.Chat) string {
	var names []string
	for _, a := range sc.Agents {
		if a.Role == store.ChatRoleMonitor || sc.Status.Live() && a.LeftAt != nil || slices.Contains(names, a.Name) {
			continue
		}
		names = append(names, a.Name)
	}
	switch {
	case len(names) > 0:
		return strings.Join(names, ", ")
	case sc.Status.Live():
		return "unassigned"
	}
	return "nobody"
}

// channelLabel is where a chat came from: "wa-sales (WhatsApp)", or "web".
func channelLabel(sc store.Chat) string {
	if sc.Channel == "" {
		return store.WebChannel
	}
	return sc.Channel + " (" + sc.ChannelType.Title() + ")"
}

// liveChat finds a live chat by number, or says why not.
func (e *Engine) liveChat(ctx context.Context, portal string, number int64) (*Chat, error) {
	if c := e.chatByNumber(portal, number); c != nil {
		return c, nil
	}
	if _, err := e.store.ChatByNumber(ctx, portal, number); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, refuse(fmt.Sprintf("There is no chat #%d.", number))
		}
		return nil, err
	}
	return nil, refuse(fmt.Sprintf("Chat #%d is over.", number))
}

// takeCommand is #take N.
func (e *Engine) takeCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	if err := e.Take(ctx, portal, by, cmd.Number); err != nil {
		return "", err
	}
	return fmt.Sprintf("You took chat #%d; it is in your roster under Visitors.", cmd.Number), nil
}

// Take accepts a waiting chat as if it had been offered (#take N).
func (e *Engine) Take(ctx context.Context, portal string, a AgentInfo, number int64) error {
	if _, done, err := forward[chatCall, none](ctx, e, portal, kindTake, chatCall{Portal: portal, By: a, Number: number}); done {
		return err
	}
	c, err := e.liveChat(ctx, portal, number)
	if err != nil {
		return err
	}
	err = c.call(ctx, func() error {
		if m, ok := c.staff(); ok {
			return refuse(fmt.Sprintf("Chat #%d is already taken by %s.", number, m.name))
		}
		return c.handTo(a)
	})
	if errors.Is(err, errChatOver) {
		return refuse(fmt.Sprintf("Chat #%d is over.", number))
	}
	return err
}

// assignCommand is #assign N EMAIL|USERNAME.
func (e *Engine) assignCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	return e.Assign(ctx, portal, by, cmd.Number, cmd.Target)
}

// Assign makes an agent the one in charge of a chat (#assign N EMAIL,
// supervisors): a waiting chat is given to them; an active one is taken
// over from whoever had it.
func (e *Engine) Assign(ctx context.Context, portal string, by AgentInfo, number int64, who string) (string, error) {
	if !by.Role.AtLeast(store.RoleSupervisor) {
		return "", refuse("Only supervisors can assign chats.")
	}
	r := chatCall{Portal: portal, By: by, Number: number, Who: who}
	if reply, done, err := forward[chatCall, string](ctx, e, portal, kindAssign, r); done {
		return reply, err
	}
	c, err := e.liveChat(ctx, portal, number)
	if err != nil {
		return "", err
	}
	var reply string
	err = c.call(ctx, func() error {
		target, err := c.resolveAgent(who)
		if err != nil {
			return err
		}
		if m := c.member(target.Key()); m != nil && m.role == roleOwner {
			return refuse(target.DisplayName + " already has chat #" + fmt.Sprint(number) + ".")
		}
		now := e.now()
		ta := AgentInfo{Key: target.Key(), Name: target.DisplayName, Role: target.Role}
		if !c.staffed() {
			if err := c.handTo(ta); err != nil {
				return err
			}
		} else {
			c.join(ta, roleOwner, now)
			for _, m := range append([]member(nil), c.members...) {
				if m.key != ta.Key && m.role == roleOwner {
					c.tell(m.key, by.Name+" assigned the chat with "+c.title()+" to "+ta.Name+".")
					c.leave(m.key, now)
				}
			}
			c.tell(ta.Key, c.details())
		}
		c.tell(ta.Key, by.Name+" assigned this chat to you.")
		reply = fmt.Sprintf("Chat #%d assigned to %s.", number, ta.Name)
		return nil
	})
	return reply, err
}

// monitorCommand is #monitor N.
func (e *Engine) monitorCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	return e.Monitor(ctx, portal, by, cmd.Number)
}

// Monitor gives a supervisor a silent copy of a chat (#monitor N).
func (e *Engine) Monitor(ctx context.Context, portal string, by AgentInfo, number int64) (string, error) {
	if !by.Role.AtLeast(store.RoleSupervisor) {
		return "", refuse("Only supervisors can monitor chats.")
	}
	if reply, done, err := forward[chatCall, string](ctx, e, portal, kindMonitor, chatCall{Portal: portal, By: by, Number: number}); done {
		return reply, err
	}
	c, err := e.liveChat(ctx, portal, number)
	if err != nil {
		return "", err
	}
	err = c.call(ctx, func() error {
		if c.member(by.Key) != nil {
			return refuse(fmt.Sprintf("You are already in chat #%d.", number))
		}
		c.join(by, roleMonitor, e.now())
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Monitoring chat #%d silently: you get a copy of every message; the visitor does not see you.", number), nil
}

// statsCommand is #stats: the portal's chats right now and today.
func (e *Engine) statsCommand(ctx context.Context, portal string, _ AgentInfo, _ commands.Command) (string, error) {
	chats, err := e.store.Chats(ctx, portal, "", 1000)
	if err != nil {
		return "", err
	}
	count := map[store.ChatStatus]int{}
	today := 0
	midnight := e.now().Truncate(24 * time.Hour)
	for _, c := range chats {
		count[c.Status]++
		if c.CreatedAt.After(midnight) {
			today++
		}
	}
	agents, err := e.store.Agents(ctx, portal)
	if err != nil {
		return "", err
	}
	online := 0
	for _, a := range agents {
		if e.agentsSide().Availability(portal, a.Key()) == Online {
			online++
		}
	}
	return fmt.Sprintf("Chats: %d waiting, %d offered, %d active; %d ended and %d missed (of the last %d); %d started today.\nAgents online: %d of %d.",
		count[store.ChatWaiting], count[store.ChatOffered], count[store.ChatActive], count[store.ChatEnded], count[store.ChatMissed], len(chats), today,
		online, len(agents)), nil
}
