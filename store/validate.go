package store

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// ErrInvalid marks input that breaks a rule (a bad username, say).
var ErrInvalid = errors.New("invalid")

// UserError is an error whose message is written for the person who made
// the request: it says what was wrong and, where it helps, how to do it
// right. Kind is ErrNotFound, ErrExists or ErrInvalid, so callers can still
// test it with errors.Is.
type UserError struct {
	Msg  string
	Kind error
}

func (e *UserError) Error() string { return e.Msg }
func (e *UserError) Unwrap() error { return e.Kind }

func invalid(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

func notFound(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...), Kind: ErrNotFound}
}

func exists(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...), Kind: ErrExists}
}

// Username rules (docs/AGENTS.md §1.2).
const (
	UsernameMin = 6
	UsernameMax = 30
)

// ValidateUsername checks the username rule: 6 to 30 characters, ASCII
// letters, digits, "_" and "." only. The reserved localparts board, desk
// and v-NNNN can never pass (too short, or a "-").
func ValidateUsername(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case n < UsernameMin:
		return invalid("username %q is too short (%d to %d characters)", name, UsernameMin, UsernameMax)
	case n > UsernameMax:
		return invalid("username %q is too long (%d to %d characters)", name, UsernameMin, UsernameMax)
	}
	for _, r := range name {
		if !usernameRune(r) {
			return invalid("username %q has a character that is not allowed: %q (use letters, digits, \"_\" and \".\")", name, r)
		}
	}
	return nil
}

func usernameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.'
}

// UsernameKey is the case-insensitive form under which usernames are unique
// and which appears in JIDs.
func UsernameKey(name string) string { return strings.ToLower(name) }

// ValidatePortalName checks a portal name: [a-z0-9][a-z0-9-]{1,29}.
func ValidatePortalName(name string) error {
	bad := len(name) < 2 || len(name) > 30
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '-' && i > 0)
		if !ok {
			bad = true
			break
		}
	}
	if bad {
		return invalid("portal name %q is not valid: use 2 to 30 characters, lowercase letters, digits and \"-\", starting with a letter or digit", name)
	}
	return nil
}

// ValidateEmail checks an email address and returns it trimmed.
func ValidateEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") && !strings.HasSuffix(email, "@localhost") {
		return "", invalid("email %q is not a valid address (like name@example.com)", email)
	}
	return email, nil
}

// ValidateDepartmentName checks a department name: 1 to 60 characters of
// printable text, no leading or trailing space, no quotes (so that agents
// can quote it in hash commands).
func ValidateDepartmentName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 60 || strings.TrimSpace(name) != name {
		return invalid("department name %q is not valid: use 1 to 60 characters without leading or trailing spaces", name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f || strings.ContainsRune("\"“”「」#", r) {
			return invalid("department name %q has a character that is not allowed: %q", name, r)
		}
	}
	return nil
}

// Roles of an agent (docs/AGENTS.md §1.2).
type Role string

const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(s)); r {
	case RoleAgent, RoleSupervisor, RoleAdmin:
		return r, nil
	}
	return "", invalid("role %q is not one of agent, supervisor, admin", s)
}

// AtLeast reports whether r has at least the rights of min.
func (r Role) AtLeast(min Role) bool { return roleRank(r) >= roleRank(min) }

func roleRank(r Role) int {
	switch r {
	case RoleSupervisor:
		return 1
	case RoleAdmin:
		return 2
	}
	return 0
}

// DeskMode says what ticket features a department has (docs/HELPDESK.md §5).
type DeskMode string

const (
	DeskMapped DeskMode = "mapped"
	DeskChoose DeskMode = "choose"
	DeskView   DeskMode = "view"
	DeskNone   DeskMode = "none"
)

// ParseDeskMode checks a desk mode name.
func ParseDeskMode(s string) (DeskMode, error) {
	switch m := DeskMode(strings.ToLower(s)); m {
	case DeskMapped, DeskChoose, DeskView, DeskNone:
		return m, nil
	}
	return "", invalid("desk mode %q is not one of mapped, choose, view, none", s)
}

// Routing says how a department's chats are offered (docs/CHATS.md §3).
type Routing string

const (
	RoutingBroadcast  Routing = "broadcast"
	RoutingRoundRobin Routing = "round_robin"
)

// ParseRouting checks a routing mode name ("round-robin" is accepted too).
func ParseRouting(s string) (Routing, error) {
	switch r := Routing(strings.ReplaceAll(strings.ToLower(s), "-", "_")); r {
	case RoutingBroadcast, RoutingRoundRobin:
		return r, nil
	}
	return "", invalid("routing %q is not one of broadcast, round_robin", s)
}
