package commands

import (
	"fmt"
	"strings"
)

// Spec is one row of the command table. Its fields are read through
// methods so that the table cannot be changed by callers.
type Spec struct {
	name        string // canonical: "t", "support.conasreq"
	aliases     []string
	group       Group
	seeAlso     []Group // other groups whose help lists it too (#t and #i with misc)
	usage       string
	summary     string
	description string
	examples    []string
	where       Where
	access      Access // in a visitor chat: which agents may run it
	supervisor  bool
	changes     bool // changes something: audited, and never for a monitor
	helpdesk    bool // works on tickets or contacts: ruled by the desk mode
	parse       func(a *args) error
}

// Access says which agents may run a command typed in a visitor chat.
// The Desk contact is no chat: there every agent may run the desk
// commands (Supervisor excepted).
type Access uint8

const (
	// ChatStaff are the agents in the chat, but not a supervisor who only
	// monitors it. It is the default.
	ChatStaff Access = iota
	// ChatMembers are all the agents in the chat, monitors too: for
	// commands that only look.
	ChatMembers
	// AnyAgent is any agent, in the chat or not (#help).
	AnyAgent
)

// Name is the canonical name ("t", "support.conasreq", "take").
func (s Spec) Name() string { return s.name }

// Aliases are other words accepted for the command ("transfer" for "t").
func (s Spec) Aliases() []string { return append([]string(nil), s.aliases...) }

// Group is the command's group.
func (s Spec) Group() Group { return s.group }

// Invocation is how the command is typed, without arguments: "#t",
// "#support conasreq".
func (s Spec) Invocation() string {
	if s.name == "" {
		return ""
	}
	return "#" + strings.ReplaceAll(s.name, ".", " ")
}

// Usage is the usage line: `#t EMAIL|USERNAME [note]  or  #t "DEPARTMENT" [note]`.
// Upper-case words and [note] are placeholders; "[x]" is optional; "a|b"
// are alternatives; other words are typed as shown.
func (s Spec) Usage() string { return s.usage }

// Summary is the one-line description shown by #help.
func (s Spec) Summary() string { return s.summary }

// Description is the longer description shown by #help all.
func (s Spec) Description() string { return s.description }

// Examples are complete example commands, each of which parses.
func (s Spec) Examples() []string { return append([]string(nil), s.examples...) }

// Where says where the command is valid: InChat, AtDesk or both.
func (s Spec) Where() Where { return s.where }

// ValidIn reports whether the command may be typed at w.
func (s Spec) ValidIn(w Where) bool { return s.where&w != 0 }

// Supervisor reports whether the command needs the supervisor (or admin)
// role. Parse does not check roles; the caller does.
func (s Spec) Supervisor() bool { return s.supervisor }

// Access says which agents may run the command in a visitor chat. Parse
// does not check it; the caller does.
func (s Spec) Access() Access { return s.access }

// Changes reports whether the command changes something (a chat, a
// visitor's record, a ticket): the server records it in the audit log,
// and a supervisor who only monitors the chat may not run it.
func (s Spec) Changes() bool { return s.changes }

// Helpdesk reports whether the command works on tickets or contacts, so
// that the desk mode of the chat's department rules it: desk mode none
// allows no such command, desk mode view only those that change nothing
// (docs/HELPDESK.md §5).
func (s Spec) Helpdesk() bool { return s.helpdesk }

// index is the table with its lookup map; built once, never changed.
type index struct {
	specs    []Spec
	byWord   map[string]int // canonical names and aliases → specs index
	prefixes map[string]Group
}

// std is the command table. It is read-only after package initialisation.
var std = newIndex(table())

func newIndex(specs []Spec) *index {
	ix := &index{specs: specs, byWord: map[string]int{}, prefixes: map[string]Group{}}
	add := func(word string, i int) {
		if word != strings.ToLower(word) || strings.ContainsFunc(word, isSpace) {
			panic(fmt.Sprintf("commands: bad command word %q", word))
		}
		if _, dup := ix.byWord[word]; dup {
			panic(fmt.Sprintf("commands: command word %q twice in the table", word))
		}
		ix.byWord[word] = i
	}
	for i, s := range specs {
		if s.parse == nil || s.usage == "" || s.summary == "" || s.group == "" || s.where == 0 {
			panic(fmt.Sprintf("commands: incomplete table row %q", s.name))
		}
		if s.changes && s.access != ChatStaff {
			panic(fmt.Sprintf("commands: %q changes something, so it is only for the chat's staff", s.name))
		}
		add(s.name, i)
		prefix, _, sub := strings.Cut(s.name, ".")
		for _, a := range s.aliases {
			if sub {
				a = prefix + "." + a
			}
			add(a, i)
		}
		if sub {
			ix.prefixes[prefix] = s.group
		}
	}
	for p := range ix.prefixes {
		if _, clash := ix.byWord[p]; clash {
			panic(fmt.Sprintf("commands: %q is both a command and a prefix", p))
		}
	}
	return ix
}

// lookup finds a command by canonical name or alias, case-insensitively,
// with or without a leading "#"; "support conasreq" and "support.conasreq"
// are the same.
func (ix *index) lookup(name string) (*Spec, bool) {
	name = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))
	if f := strings.Fields(name); len(f) == 2 {
		name = f[0] + "." + f[1]
	}
	i, ok := ix.byWord[name]
	if !ok {
		return nil, false
	}
	return &ix.specs[i], true
}

// Lookup finds a command's row by canonical name or alias ("t",
// "transfer", "#T", "support.conasreq", "support conasreq").
func Lookup(name string) (Spec, bool) {
	s, ok := std.lookup(name)
	if !ok {
		return Spec{}, false
	}
	return *s, true
}

// Specs returns every row of the table, in help order.
func Specs() []Spec { return append([]Spec(nil), std.specs...) }
