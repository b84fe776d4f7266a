package bridge

import (
	"context"
	"errors"
	"strings"
	"time"

	"jabberdesk/commands"
)

// This file runs the hash commands (docs/COMMANDS.md): parsed by package
// commands, whose table says who may run each and whether it is audited,
// and carried out by the command's handler here against the live chat (on
// its goroutine) or, for the desk contact, against the portal's chats.
// Replies go back to the agent only, from the visitor contact (or the
// desk), marked as system text; nothing of a command reaches the visitor
// unless the command says so.

// handler carries out one hash command; the reply is for the agent who
// typed it, and a *CommandError is a refusal meant for them. Each handler
// is set for the places where the command table says the command is
// valid.
type handler struct {
	// inChat runs a command typed in a visitor chat, on the chat's
	// goroutine. by is the agent's membership: nil only for a command
	// that any agent may run (commands.AnyAgent).
	inChat func(c *Chat, by *member, cmd commands.Command) (string, error)
	// atDesk runs a command typed on the desk contact of portal.
	atDesk func(e *Engine, ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error)
}

// handlers has a handler for every row of the command table, by its
// canonical name. Adding a command is a table row in package commands and
// a handler here.
var handlers = map[string]handler{
	// Chat (transfer.go, actions.go, end.go).
	"t":    {inChat: (*Chat).transferCommand},
	"i":    {inChat: (*Chat).inviteCommand},
	"info": {inChat: (*Chat).infoCommand},
	"b":    {inChat: (*Chat).blockCommand},
	"p":    {inChat: (*Chat).pushCommand},
	"m":    {inChat: (*Chat).membersCommand},
	"e":    {inChat: (*Chat).endCommand},

	// Misc (actions.go, template.go, and #help here).
	"an":   {inChat: (*Chat).addNoteCommand},
	"n":    {inChat: (*Chat).notesCommand},
	"h":    {inChat: (*Chat).historyCommand},
	"d":    {inChat: (*Chat).departmentsCommand},
	"r":    {inChat: (*Chat).cannedCommand},
	"tpl":  {inChat: (*Chat).templateCommand},
	"help": {inChat: (*Chat).helpCommand, atDesk: (*Engine).deskHelpCommand},

	// Support and CRM (helpdesk.go).
	"support.info":         {inChat: (*Chat).supportInfoCommand},
	"support.ticketinfo":   {inChat: (*Chat).ticketInfoCommand},
	"support.recentreq":    {inChat: (*Chat).recentTicketsCommand},
	"support.conasreq":     {inChat: (*Chat).convertCommand},
	"support.searchreq":    {inChat: (*Chat).searchTicketsCommand},
	"support.associate":    {inChat: (*Chat).associateCommand},
	"support.setreqstatus": {inChat: (*Chat).ticketStatusCommand},
	"support.setemail":     {inChat: (*Chat).setEmailCommand},
	"crm.info":             {inChat: (*Chat).crmInfoCommand},

	// Desk (desk.go, reopen.go, convert.go).
	"q":        {atDesk: (*Engine).queueCommand},
	"chats":    {atDesk: (*Engine).chatsCommand},
	"take":     {atDesk: (*Engine).takeCommand},
	"reopen":   {atDesk: (*Engine).reopenCommand},
	"setemail": {atDesk: (*Engine).setChatEmailCommand},
	"convert":  {atDesk: (*Engine).convertChatCommand},
	"assign":   {atDesk: (*Engine).assignCommand},
	"monitor":  {atDesk: (*Engine).monitorCommand},
	"stats":    {atDesk: (*Engine).statsCommand},
}

// chatCommand runs a command typed in a visitor chat by a, whose
// membership is m (nil if a is not in the chat).
func (c *Chat) chatCommand(a AgentInfo, m *member, body string) {
	cmd, err := commands.Parse(body, commands.InChat)
	defer c.e.observeCommand(cmd.Name, time.Now())
	if err != nil {
		c.tell(a.Key, err.Error())
		return
	}
	spec := cmd.Spec()
	if refusal := mayRunInChat(m, spec); refusal != "" {
		c.tell(a.Key, refusal)
		return
	}
	run := handlers[cmd.Name].inChat
	if run == nil {
		c.tell(a.Key, spec.Invocation()+" is not available in a visitor chat — try #help")
		return
	}
	if spec.Helpdesk() {
		err = c.checkDeskMode(spec)
	}
	var reply string
	if err == nil {
		reply, err = run(c, m, cmd)
	}
	reply = c.e.commandReply(cmd, reply, err, "portal", c.portal, "chat", c.number)
	if reply != "" {
		c.tell(a.Key, reply)
	}
	if spec.Changes() {
		result := reply
		if err != nil {
			result = "refused: " + reply
		}
		c.logStoreError("audit "+spec.Invocation(), c.e.audit(c.ctx(), c.portal, a.Key, c.number, cmd.Raw, result))
	}
}

// mayRunInChat says why the agent whose membership is m may not run a
// command in the chat ("" when they may), by the command's Access.
func mayRunInChat(m *member, spec commands.Spec) string {
	switch {
	case spec.Access() == commands.AnyAgent:
		return ""
	case m == nil:
		return "Only an agent in this chat can run " + spec.Invocation() + "."
	case m.role == roleMonitor && spec.Access() != commands.ChatMembers:
		return "You are monitoring this chat; " + spec.Invocation() + " is for the agents in it."
	}
	return ""
}

// commandReply is what the agent who typed cmd is told: the reply, the
// refusal, or, when the server failed (logged with the attributes of
// where), that the command did not run.
func (e *Engine) commandReply(cmd commands.Command, reply string, err error, where ...any) string {
	var ce *CommandError
	switch {
	case errors.As(err, &ce):
		return ce.Msg
	case err != nil:
		e.log.Error("hash command failed", append(where, "command", cmd.Name, "err", err)...)
		return "Something went wrong on the server; " + cmd.Spec().Invocation() + " did not run."
	}
	return reply
}

// audit records a command that changes something, typed by agent about
// chat (its number), in the audit log. The command has run, so callers
// log a failure rather than answer it.
func (e *Engine) audit(ctx context.Context, portal, agent string, chat int64, raw, result string) error {
	return e.store.AuditAgentAction(ctx, portal, agent, chat, raw, result)
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
	reply, err := e.deskSays(ctx, portal, a, body)
	if err != nil {
		e.logForward(kindDeskSays, portal, err)
		return unreachableText
	}
	return reply
}

// unreachableText answers an agent whose request the node that runs the
// portal's chats did not answer.
const unreachableText = "The server could not reach this portal's chats just now; please try again."

func (e *Engine) deskSays(ctx context.Context, portal string, a AgentInfo, body string) (string, error) {
	kind, _ := commands.Classify(body)
	if kind != commands.HashCommand {
		if strings.TrimSpace(body) == "" {
			return "", nil
		}
		return "The desk takes commands: #q shows the queue, #help lists them all.", nil
	}
	if reply, done, err := forward[agentCall, string](ctx, e, portal, kindDeskSays, agentCall{Portal: portal, By: a, Body: body}); done {
		return reply, err
	}
	return e.deskCommand(ctx, portal, a, body), nil
}

// deskCommand runs a command an agent sent to the desk contact.
func (e *Engine) deskCommand(ctx context.Context, portal string, a AgentInfo, body string) string {
	cmd, err := commands.Parse(body, commands.AtDesk)
	defer e.observeCommand(cmd.Name, time.Now())
	if err != nil {
		return err.Error()
	}
	run := handlers[cmd.Name].atDesk
	if run == nil {
		return cmd.Spec().Invocation() + " works in a visitor chat, not on the desk — try #help"
	}
	reply, err := run(e, ctx, portal, a, cmd)
	reply = e.commandReply(cmd, reply, err, "portal", portal, "desk", true)
	if cmd.Spec().Changes() {
		if err := e.audit(ctx, portal, a.Key, cmd.Number, cmd.Raw, reply); err != nil {
			e.log.Error("desk: audit "+cmd.Spec().Invocation()+" failed", "portal", portal, "chat", cmd.Number, "err", err)
		}
	}
	return reply
}

// helpCommand is #help in a visitor chat.
func (c *Chat) helpCommand(_ *member, cmd commands.Command) (string, error) {
	return helpText(cmd, commands.InChat)
}

// deskHelpCommand is #help on the desk contact.
func (e *Engine) deskHelpCommand(_ context.Context, _ string, _ AgentInfo, cmd commands.Command) (string, error) {
	return helpText(cmd, commands.AtDesk)
}

// helpText is the answer to #help typed at where; an unknown topic is a
// refusal that lists the topics.
func helpText(cmd commands.Command, where commands.Where) (string, error) {
	text, err := commands.Help(cmd.Text, where, nil)
	if err != nil {
		return "", refuse(err.Error())
	}
	return text, nil
}
