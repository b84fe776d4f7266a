package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// This file holds what the chat commands do that is not routing: pushing
// pages, blocking, notes, history, the visitor's details, canned replies.
// Each runs on the chat's goroutine and returns the reply for the agent.

// pushCommand is #p: it asks the visitor to open a page.
func (c *Chat) pushCommand(by *member, cmd commands.Command) (string, error) {
	if err := c.publish(Event{Type: EventPushURL, URL: cmd.URL}, "agent", by.key); err != nil {
		return "", err
	}
	return "Page pushed: " + cmd.URL + " (you will hear when the visitor opens it)", nil
}

// visitorOpened tells the agents that the visitor opened a pushed page.
func (c *Chat) visitorOpened(url string) {
	for _, m := range c.members {
		c.tell(m.key, c.info.VisitorName+" opened "+url)
	}
}

// blockCommand is #b: it blocks the visitor's address and ends the chat.
// The agent is told here, before the chat ends, so there is no reply.
func (c *Chat) blockCommand(by *member, cmd commands.Command) (string, error) {
	reason := cmd.Text
	if c.isChannel() {
		return c.blockCustomer(by, reason)
	}
	if c.info.IP == "" {
		return "", refuse("This visitor's address is unknown; there is nothing to block.")
	}
	_, err := c.e.store.BlockIP(c.ctx(), c.portal, c.info.IP, reason, by.key, c.id)
	if err != nil && !errors.Is(err, store.ErrExists) {
		var ue *store.UserError
		if errors.As(err, &ue) {
			return "", refuse(ue.Msg)
		}
		return "", err
	}
	reply := "IP address " + c.info.IP + " blocked"
	for _, m := range c.members {
		if m.key != by.key {
			c.tell(m.key, by.name+" blocked "+c.title()+" ("+reason+").")
		}
	}
	c.tell(by.key, reply)
	c.endQuietly(reasonBlocked)
	return "", nil
}

// addNoteCommand is #an: it adds a note to the visitor.
func (c *Chat) addNoteCommand(by *member, cmd commands.Command) (string, error) {
	if _, err := c.e.store.AddVisitorNote(c.ctx(), c.id, by.key, by.name, cmd.Text); err != nil {
		var ue *store.UserError
		if errors.As(err, &ue) {
			return "", refuse(ue.Msg)
		}
		return "", err
	}
	return "Note added", nil
}

// notesCommand is #n: the visitor's notes, from all their chats.
func (c *Chat) notesCommand(_ *member, _ commands.Command) (string, error) {
	notes, err := c.e.store.VisitorNotes(c.ctx(), c.info.VisitorID)
	if err != nil {
		return "", err
	}
	if len(notes) == 0 {
		return "No notes", nil
	}
	lines := []string{fmt.Sprintf("Notes on %s:", c.info.VisitorName)}
	for _, n := range notes {
		lines = append(lines, fmt.Sprintf("%s %s: %s", n.CreatedAt.Local().Format("2006-01-02 15:04"), n.AuthorName, n.Text))
	}
	return strings.Join(lines, "\n"), nil
}

// historyCommand is #h: it replays the chat's transcript to the agent,
// one message per line of it (#h prev: the visitor's previous chat).
func (c *Chat) historyCommand(by *member, cmd commands.Command) (string, error) {
	return "", c.replayHistory(by, cmd.Prev)
}

// replayHistory sends by the transcript of this chat or, with prev, of
// the visitor's previous one.
func (c *Chat) replayHistory(by *member, prev bool) error {
	chatID, title := c.id, c.title()
	visitorName := c.info.VisitorName
	opened, question := c.info.CreatedAt, c.info.Question
	if prev {
		chats, err := c.e.store.VisitorChats(c.ctx(), c.info.VisitorID, 10)
		if err != nil {
			return err
		}
		var found *store.Chat
		for i := range chats { // newest first
			if chats[i].ID < c.id {
				found = &chats[i]
				break
			}
		}
		if found == nil {
			return refuse("No previous chat for this visitor.")
		}
		chatID = found.ID
		title = fmt.Sprintf("#%d of %s", found.Number, found.CreatedAt.Local().Format("2006-01-02"))
		opened, question = found.CreatedAt, found.Question
	}
	evs, err := c.e.store.ChatEvents(c.ctx(), chatID, 0, false, 0)
	if err != nil {
		return err
	}
	c.tell(by.key, "History of "+title+":")
	// The question the visitor opened the chat with comes first.
	c.e.agentsSide().Message(c.portal, by.key, Message{From: c.local,
		Body: SystemPrefix + fmt.Sprintf("(%s, %s) %s", visitorName, opened.Local().Format("15:04"), quoteLines(question, "(visitor) ")), System: true})
	if c.replayMessages(by.key, evs, visitorName) == 0 {
		c.tell(by.key, "No messages yet.")
	}
	return nil
}

// replayMessages sends agent the messages among evs, one each, as #h
// shows them: "» (Author, 15:04) text", every line that could pass for
// someone else's quoted. It returns how many it sent.
func (c *Chat) replayMessages(agent string, evs []store.ChatEvent, visitorName string) int {
	n := 0
	for _, ev := range evs {
		author, label := "", ""
		switch {
		case ev.Type == EventVisitorMessage:
			author, label = visitorName, "(visitor) "
		case ev.Type == EventMessage:
			author = ev.AuthorName
			label = "(" + author + ") "
		default:
			continue
		}
		n++
		c.e.agentsSide().Message(c.portal, agent, Message{From: c.local,
			Body: SystemPrefix + fmt.Sprintf("(%s, %s) %s", author, ev.At.Local().Format("15:04"), quoteLines(ev.Text, label)), System: true})
	}
	return n
}

// infoCommand is #info: everything known about the visitor and the chat.
func (c *Chat) infoCommand(_ *member, _ commands.Command) (string, error) {
	lines := []string{c.details(),
		"Chat: #" + fmt.Sprint(c.number) + " (id " + c.publicID + ")",
		"Started: " + c.info.CreatedAt.Local().Format("2006-01-02 15:04:05"),
	}
	c.vmu.Lock()
	online := c.conns > 0 && !c.isChannel()
	c.vmu.Unlock()
	seen := "now"
	if !online {
		if sc, err := c.e.store.Chat(c.ctx(), c.id); err == nil && sc.LastVisitorAt != nil {
			seen = sc.LastVisitorAt.Local().Format("15:04:05") + " (" + c.e.now().Sub(*sc.LastVisitorAt).Round(time.Second).String() + " ago)"
		}
	}
	if c.isChannel() {
		lines = append(lines, "Customer last wrote: "+seen)
	} else {
		lines = append(lines, "Visitor last seen: "+seen)
	}
	return strings.Join(lines, "\n"), nil
}

// membersCommand is #m: the visitor and each agent, online or not.
func (c *Chat) membersCommand(_ *member, _ commands.Command) (string, error) {
	c.vmu.Lock()
	online := c.conns > 0
	c.vmu.Unlock()
	state := map[bool]string{true: "online", false: "offline"}
	lines := []string{c.title() + " (visitor) — " + state[online]}
	if c.isChannel() {
		lines[0] = c.title() + " (customer on " + c.info.ChannelType.Title() + ")"
	}
	for _, m := range c.members {
		role := ""
		switch m.role {
		case roleInvited:
			role = ", invited"
		case roleMonitor:
			role = ", monitoring"
		}
		lines = append(lines, m.name+role+" — "+c.e.agentsSide().Availability(c.portal, m.key).String())
	}
	return strings.Join(lines, "\n"), nil
}

// departmentsCommand is #d: the portal's departments with online agents.
func (c *Chat) departmentsCommand(_ *member, _ commands.Command) (string, error) {
	return departmentsText(c.ctx(), c.e, c.portal)
}

func departmentsText(ctx context.Context, e *Engine, portal string) (string, error) {
	depts, _, err := e.Departments(ctx, portal)
	if err != nil {
		return "", err
	}
	if len(depts) == 0 {
		return "This portal has no departments.", nil
	}
	lines := []string{"Departments:"}
	for _, d := range depts {
		lines = append(lines, fmt.Sprintf("%s — %d online", d.Name, d.AgentsOnline))
	}
	return strings.Join(lines, "\n"), nil
}

// cannedCommand is #r: it lists the canned responses, or sends one.
func (c *Chat) cannedCommand(by *member, cmd commands.Command) (string, error) {
	if cmd.Text == "" {
		return c.cannedList()
	}
	return "", c.sendCanned(by, cmd.Text)
}

// cannedList lists the canned responses of the chat's department, by
// category.
func (c *Chat) cannedList() (string, error) {
	list, err := c.e.store.CannedFor(c.ctx(), c.portal, c.info.Department)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "No canned responses (an admin adds them with: jabberdesk canned add)", nil
	}
	var lines []string
	category := ""
	for _, r := range list {
		if r.Category != category {
			category = r.Category
			lines = append(lines, category+":")
		}
		lines = append(lines, "  "+r.Shortcut+" — "+truncate(strings.ReplaceAll(r.Text, "\n", " "), 60))
	}
	lines = append(lines, "Send one with #r SHORTCUT")
	return strings.Join(lines, "\n"), nil
}

// sendCanned sends a canned response to the visitor (#r SHORTCUT), with
// {visitor.name} and {agent.name} filled in.
func (c *Chat) sendCanned(by *member, shortcut string) error {
	r, err := c.e.store.CannedByShortcut(c.ctx(), c.portal, c.info.Department, shortcut)
	if err != nil {
		var ue *store.UserError
		if errors.As(err, &ue) {
			return refuse(ue.Msg)
		}
		return err
	}
	text := strings.NewReplacer("{visitor.name}", c.info.VisitorName, "{agent.name}", by.name).Replace(r.Text)
	c.agentMessage(by, text)
	return nil
}
