package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"jabberdesk/commands"
)

// This file runs the hash commands (docs/COMMANDS.md): parsed by package commands,
// carried out here against the live chat (on its goroutine) or, for the
// desk contact, against the portal's chats. Replies go back to the agent
// only, from the visitor contact (or the desk), marked as system text;
// nothing of a command reaches the visitor unless the command says so.

// available says which commands this server runs; #help shows only
// those. It runs them all.
func available(commands.Spec) bool { return true }

// readOnly commands may be run by a supervisor who only monitors a chat.
var readOnly = map[string]bool{"info": true, "m": true, "h": true, "n": true, "d": true, "help": true,
	"support.info": true, "support.ticketinfo": true, "support.recentreq": true, "support.searchreq": true, "crm.info": true}

// chatCommand runs a command typed in a visitor chat by a.
func (c *Chat) chatCommand(a AgentInfo, m *member, body string) {
	cmd, err := commands.Parse(body, commands.InChat)
	defer c.e.observeCommand(cmd.Name, time.Now())
	if err != nil {
		c.tell(a.Key, err.Error())
		return
	}
	if !available(cmd.Spec()) {
		c.tell(a.Key, cmd.Spec().Invocation()+" is not available on this server yet — try #help")
		return
	}
	if cmd.Name == "help" {
		text, err := commands.Help(cmd.Text, commands.InChat, available)
		if err != nil {
			text = err.Error()
		}
		c.tell(a.Key, text)
		return
	}
	switch {
	case m == nil:
		c.tell(a.Key, "Only an agent in this chat can run "+cmd.Spec().Invocation()+".")
		return
	case m.role == roleMonitor && !readOnly[cmd.Name]:
		c.tell(a.Key, "You are monitoring this chat; "+cmd.Spec().Invocation()+" is for the agents in it.")
		return
	}
	reply, err := c.runCommand(m, cmd)
	var ce *CommandError
	switch {
	case errors.As(err, &ce):
		reply = ce.Msg
	case err != nil:
		c.e.log.Error("hash command failed", "portal", c.portal, "chat", c.number, "command", cmd.Name, "err", err)
		reply = "Something went wrong on the server; " + cmd.Spec().Invocation() + " did not run."
	}
	if reply != "" {
		c.tell(a.Key, reply)
	}
	if changes[cmd.Name] {
		result := reply
		if err != nil {
			result = "refused: " + reply
		}
		c.e.store.AuditAgentAction(c.ctx(), c.portal, a.Key, c.number, cmd.Raw, result)
	}
}

// changes marks the commands that change something: they are audited.
var changes = map[string]bool{"t": true, "i": true, "b": true, "p": true, "e": true, "an": true, "r": true,
	"support.conasreq": true, "support.setemail": true, "support.associate": true, "support.setreqstatus": true}

// runCommand carries out one chat command; the reply is for the agent.
func (c *Chat) runCommand(m *member, cmd commands.Command) (string, error) {
	if g := cmd.Spec().Group(); g == commands.GroupSupport || g == commands.GroupCRM {
		return c.helpdeskCommand(m, cmd)
	}
	switch cmd.Name {
	case "t":
		if cmd.Department != "" {
			n, err := c.TransferToDepartment(m, cmd.Department, cmd.Note)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Transfer to %s offered to %d online agent(s); waiting for an answer.", cmd.Department, n), nil
		}
		if err := c.Transfer(m, cmd.Target, cmd.Note); err != nil {
			return "", err
		}
		return "Transfer to " + cmd.Target + " offered; waiting for an answer.", nil
	case "i":
		if err := c.Invite(m, cmd.Target, cmd.Note); err != nil {
			return "", err
		}
		return "Invitation sent to " + cmd.Target + "; waiting for an answer.", nil
	case "info":
		return c.Details(), nil
	case "b":
		_, err := c.Block(m, cmd.Text)
		return "", err
	case "an":
		return c.AddNote(m, cmd.Text)
	case "n":
		return c.Notes()
	case "h":
		return "", c.History(m, cmd.Prev)
	case "d":
		return c.Departments()
	case "p":
		return c.PushURL(m, cmd.URL), nil
	case "m":
		return c.Members(), nil
	case "e":
		switch {
		case cmd.Cancel:
			return "", c.CancelEnd(m)
		case cmd.Seconds > 0:
			c.EndAfter(m, cmd.Seconds)
			return "", nil
		}
		c.EndNow(m)
		return "", nil
	case "r":
		if cmd.Text == "" {
			return c.CannedList()
		}
		return "", c.SendCanned(m, cmd.Text)
	}
	return "", refuse(cmd.Spec().Invocation() + " is not available in a visitor chat — try #help")
}

// observeCommand tells Config.ObserveCommand how long a command took
// since start, by the table's name for it (so that what agents type
// cannot make new metric labels): "invalid" for one that did not parse.
func (e *Engine) observeCommand(name string, start time.Time) {
	if obs := e.cfg.ObserveCommand; obs != nil {
		if name == "" {
			name = "invalid"
		}
		obs(name, time.Since(start))
	}
}

// DeskSays answers a message an agent sent to the desk contact: a desk
// command, or a hint that the desk takes commands.
func (e *Engine) DeskSays(ctx context.Context, portal string, a AgentInfo, body string) string {
	kind, _ := commands.Classify(body)
	if kind != commands.HashCommand {
		if strings.TrimSpace(body) == "" {
			return ""
		}
		return "The desk takes commands: #q shows the queue, #help lists them all."
	}
	cmd, err := commands.Parse(body, commands.AtDesk)
	defer e.observeCommand(cmd.Name, time.Now())
	if err != nil {
		return err.Error()
	}
	reply, err := e.deskCommand(ctx, portal, a, cmd)
	var ce *CommandError
	switch {
	case errors.As(err, &ce):
		reply = ce.Msg
	case err != nil:
		e.log.Error("desk command failed", "portal", portal, "command", cmd.Name, "err", err)
		reply = "Something went wrong on the server; " + cmd.Spec().Invocation() + " did not run."
	}
	if cmd.Name == "take" || cmd.Name == "assign" || cmd.Name == "monitor" || cmd.Name == "setemail" || cmd.Name == "convert" {
		e.store.AuditAgentAction(ctx, portal, a.Key, cmd.Number, cmd.Raw, reply)
	}
	return reply
}

func (e *Engine) deskCommand(ctx context.Context, portal string, a AgentInfo, cmd commands.Command) (string, error) {
	switch cmd.Name {
	case "help":
		return commands.Help(cmd.Text, commands.AtDesk, available)
	case "q":
		return e.QueueText(portal), nil
	case "chats":
		view := cmd.Text
		if view == "" {
			view = "mine"
		}
		return e.ChatsText(ctx, portal, a.Key, view)
	case "take":
		if err := e.Take(ctx, portal, a, cmd.Number); err != nil {
			return "", err
		}
		return fmt.Sprintf("You took chat #%d; it is in your roster under Visitors.", cmd.Number), nil
	case "assign":
		return e.Assign(ctx, portal, a, cmd.Number, cmd.Target)
	case "monitor":
		return e.Monitor(ctx, portal, a, cmd.Number)
	case "stats":
		return e.StatsText(ctx, portal)
	case "d":
		return departmentsText(ctx, e, portal)
	case "setemail":
		return e.SetChatEmail(ctx, portal, cmd.Number, cmd.Text)
	case "convert":
		t, err := e.ConvertChat(ctx, portal, cmd.Number, TicketOrder{Actor: a.Key, Priority: cmd.Priority, Status: cmd.Status,
			Classification: cmd.Classification, Department: cmd.Department})
		if err != nil {
			return "", err
		}
		return convertText(cmd.Number, t), nil
	}
	return "", refuse(cmd.Spec().Invocation() + " works in a visitor chat, not on the desk — try #help")
}
