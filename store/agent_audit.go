package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Audit log actions of what agents do on chats.
const (
	// AuditCommandAction: a hash command an agent ran (AuditAgentAction).
	AuditCommandAction = "command"
	// AuditConsoleAction: a change a supervisor made in the console
	// (AuditConsole).
	AuditConsoleAction = "console"
)

// auditTextMax is how many characters of a command and of its result the
// audit log keeps; the rest is cut off and marked with "…".
const auditTextMax = 500

// AuditAgentAction records a hash command an agent ran (docs/COMMANDS.md: every
// action taken by a command is audited): who ran it, in which chat
// (target "chat #1042"; "" for commands to the Desk contact, chatNumber
// 0), the command as typed and the result the agent was told. Command and
// result are each kept up to 500 characters.
func (s *Store) AuditAgentAction(ctx context.Context, portal, agent string, chatNumber int64, command, result string) error {
	return wrap("audit agent action", s.auditChatAction(ctx, portal, agent, AuditCommandAction, chatNumber, command, result))
}

// AuditConsole records a change made in the supervisor console as
// AuditAgentAction records a command: who made it (actor), to which
// chat, what they asked for in the words of the hash command that does
// the same ("#assign 1042 george.w") and the result they were shown.
func (s *Store) AuditConsole(ctx context.Context, portal, actor string, chatNumber int64, command, result string) error {
	return wrap("audit console action", s.auditChatAction(ctx, portal, actor, AuditConsoleAction, chatNumber, command, result))
}

func (s *Store) auditChatAction(ctx context.Context, portal, actor, action string, chatNumber int64, command, result string) error {
	var target string
	if chatNumber != 0 {
		target = fmt.Sprintf("chat #%d", chatNumber)
	}
	detail := fmt.Sprintf("command=%q result=%q", clipAudit(command, auditTextMax), clipAudit(result, auditTextMax))
	at := s.now().UTC().Truncate(time.Millisecond)
	return s.tx(ctx, func(tx *sql.Tx) error {
		return audit(ctx, tx, at, portal, actor, action, target, detail)
	})
}

// clipAudit shortens s to at most max characters, the last of them "…"
// if it was cut.
func clipAudit(s string, max int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
