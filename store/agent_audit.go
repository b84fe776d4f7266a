package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// AuditCommandAction is the audit log action of a hash command run by an
// agent (AuditAgentAction).
const AuditCommandAction = "command"

// auditTextMax is how many characters of a command and of its result the
// audit log keeps; the rest is cut off and marked with "…".
const auditTextMax = 500

// AuditAgentAction records a hash command an agent ran (docs/COMMANDS.md: every
// action taken by a command is audited): who ran it, in which chat
// (target "chat #1042"; "" for commands to the Desk contact, chatNumber
// 0), the command as typed and the result the agent was told. Command and
// result are each kept up to 500 characters.
func (s *Store) AuditAgentAction(ctx context.Context, portal, agent string, chatNumber int64, command, result string) error {
	var target string
	if chatNumber != 0 {
		target = fmt.Sprintf("chat #%d", chatNumber)
	}
	detail := fmt.Sprintf("command=%q result=%q", clipAudit(command, auditTextMax), clipAudit(result, auditTextMax))
	at := s.now().UTC().Truncate(time.Millisecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return audit(ctx, tx, at, portal, agent, AuditCommandAction, target, detail)
	})
	return wrap("audit agent action", err)
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
