package bridge

import (
	"context"
	"errors"
	"fmt"
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
	chats := e.portalChats(portal)
	now := e.now()
	var out []QueuedChat
	for _, c := range chats {
		var q *QueuedChat
		err := c.call(context.Background(), func() error {
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
	return out
}

// queueCommand is #q.
func (e *Engine) queueCommand(_ context.Context, portal string, _ AgentInfo, _ commands.Command) (string, error) {
	return e.QueueText(portal), nil
}

// QueueText is the queue in words: what #q answers.
func (e *Engine) QueueText(portal string) string {
	q := e.Queue(portal)
	if len(q) == 0 {
		return "No chats are waiting."
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
	return strings.Join(lines, "\n")
}

// Inbox views of #chats.
var ChatViews = []string{"mine", "unassigned", "active", "ended", "blocked", "unreplied", "replied", "all"}

// chatsCommand is #chats [VIEW] (default mine).
func (e *Engine) chatsCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	view := cmd.Text
	if view == "" {
		view = "mine"
	}
	return e.ChatsText(ctx, portal, by.Key, view)
}

// ChatsText is #chats VIEW for an agent.
func (e *Engine) ChatsText(ctx context.Context, portal, agent, view string) (string, error) {
	chats, err := e.store.Chats(ctx, portal, "", 200)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, sc := range chats {
		if !e.inView(ctx, sc, agent, view) {
			continue
		}
		agents := "unassigned"
		if len(sc.Agents) > 0 {
			var names []string
			for _, a := range sc.Agents {
				names = append(names, a.Name)
			}
			agents = strings.Join(names, ", ")
		}
		lines = append(lines, fmt.Sprintf("#%d %s — %s — %s — %s", sc.Number, sc.VisitorName, sc.Status, agents, truncate(sc.Question, 50)))
		if len(lines) == 20 {
			break
		}
	}
	if len(lines) == 0 {
		return "No chats in view " + view + ".", nil
	}
	return "Chats (" + view + "):\n" + strings.Join(lines, "\n"), nil
}

func (e *Engine) inView(ctx context.Context, sc store.Chat, agent, view string) bool {
	mine := false
	for _, a := range sc.Agents {
		if store.UsernameKey(a.Username) == agent {
			mine = true
		}
	}
	live := sc.Status.Live()
	switch view {
	case "mine":
		return mine
	case "unassigned":
		return live && len(sc.Agents) == 0
	case "active":
		return sc.Status == store.ChatActive
	case "ended":
		return !live
	case "blocked":
		return sc.EndReason == string(reasonBlocked)
	case "unreplied", "replied":
		if !live {
			return false
		}
		visitorLast := e.visitorSpokeLast(ctx, sc.ID)
		return visitorLast == (view == "unreplied")
	}
	return true
}

// visitorSpokeLast reports whether the last message of a chat is the
// visitor's.
func (e *Engine) visitorSpokeLast(ctx context.Context, chatID int64) bool {
	evs, err := e.store.ChatEvents(ctx, chatID, 0, false, 0)
	if err != nil {
		return false
	}
	for i := len(evs) - 1; i >= 0; i-- {
		switch evs[i].Type {
		case EventVisitorMessage:
			return true
		case EventMessage:
			return false
		}
	}
	return false
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
