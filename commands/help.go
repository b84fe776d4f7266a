package commands

import (
	"fmt"
	"strings"
)

// Help writes the answer to "#help TOPIC" typed at where, from the command
// table alone.
//
// Topics: "" lists the commands valid at where, one line each ("#t
// EMAIL|USERNAME [note] — transfer the chat…"); "all" shows every group
// with descriptions and examples; a group name ("misc", "support", "crm",
// "chat", "desk") shows that group the same way; a command name ("e",
// "#transfer", "support conasreq") shows that command. The topic may be
// given as typed or as Command.Text of a parsed #help.
//
// include, if not nil, hides the rows for which it returns false (groups
// the server does not run yet): they are left out of every listing and
// are not topics. The caller must also refuse those commands when they
// are typed. An unknown or hidden topic is an *Error listing the topics.
func Help(topic string, where Where, include func(Spec) bool) (string, error) {
	return std.help(topic, where, include)
}

func (ix *index) help(topic string, where Where, include func(Spec) bool) (string, error) {
	shown := func(s *Spec) bool { return include == nil || include(*s) }
	groups := ix.shownGroups(shown)
	t, ok := ix.topic(topic)
	if ok {
		switch {
		case t == "" || t == "all":
		case isGroup(t):
			ok = contains(groups, Group(t))
		default:
			s, _ := ix.lookup(t)
			ok = shown(s)
		}
	}
	if !ok {
		help, _ := ix.lookup("help")
		return "", &Error{
			Msg:   fmt.Sprintf("#help: %s is not a help topic; use all, %s, or a command name", quote(strings.TrimSpace(topic)), orList(groupNames(groups))),
			Usage: help.usage,
		}
	}

	var b strings.Builder
	switch {
	case t == "":
		ix.writeList(&b, where, shown, groups)
	case t == "all":
		for i, g := range groups {
			if i > 0 {
				b.WriteString("\n")
			}
			ix.writeGroup(&b, g, shown, false)
		}
		b.WriteString("\n##text sends #text to the visitor.\n")
	case isGroup(t):
		ix.writeGroup(&b, Group(t), shown, true)
	default:
		s, _ := ix.lookup(t)
		b.WriteString(groupTitle(s.group) + "\n")
		writeEntry(&b, s)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// writeList writes the one-line-each list of the commands valid at where.
func (ix *index) writeList(b *strings.Builder, where Where, shown func(*Spec) bool, groups []Group) {
	switch where {
	case InChat:
		b.WriteString("Commands in a visitor chat (never sent to the visitor):\n")
	case AtDesk:
		b.WriteString("Commands on the Desk contact:\n")
	default:
		b.WriteString("Commands:\n")
	}
	// Rows valid only here come first, in table order; rows valid in
	// other places too (#help) come last.
	example := ""
	var shared []*Spec
	for i := range ix.specs {
		s := &ix.specs[i]
		switch {
		case !shown(s) || !s.ValidIn(where):
		case s.where&^where != 0:
			shared = append(shared, s)
		default:
			if example == "" {
				example = s.Invocation()
			}
			b.WriteString(oneLine(s) + "\n")
		}
	}
	for _, s := range shared {
		b.WriteString(oneLine(s) + "\n")
	}
	if where&InChat != 0 {
		b.WriteString("##text sends #text to the visitor.\n")
	}
	if len(groups) > 0 && example != "" {
		fmt.Fprintf(b, "More: #help all; #help %s for one group; #help and a command, as in #help %s.\n",
			orList(groupNames(groups)), strings.TrimPrefix(example, "#"))
	}
}

// writeGroup writes a group's heading and its commands in full.
// With also, commands of other groups that belong here too are listed
// after them, one line each.
func (ix *index) writeGroup(b *strings.Builder, g Group, shown func(*Spec) bool, also bool) {
	b.WriteString(groupTitle(g) + "\n")
	var more []*Spec
	for i := range ix.specs {
		s := &ix.specs[i]
		switch {
		case !shown(s):
		case s.group == g:
			writeEntry(b, s)
		case also && contains(s.seeAlso, g):
			more = append(more, s)
		}
	}
	for i, s := range more {
		if i == 0 {
			b.WriteString("Also (#help " + string(s.group) + " for details):\n")
		}
		b.WriteString(oneLine(s) + "\n")
	}
}

// oneLine is a command's line in the list: usage — summary.
func oneLine(s *Spec) string {
	line := s.usage + " — " + s.summary
	if s.supervisor {
		line += " (supervisors)"
	}
	return line
}

// writeEntry writes a command in full: its line, description, examples,
// aliases and role.
func writeEntry(b *strings.Builder, s *Spec) {
	b.WriteString(oneLine(s) + "\n")
	b.WriteString("  " + s.description + "\n")
	for _, e := range s.examples {
		b.WriteString("  Example: " + e + "\n")
	}
	if len(s.aliases) > 0 {
		also := make([]string, len(s.aliases))
		prefix, _, _ := strings.Cut(s.Invocation(), " ")
		for i, a := range s.aliases {
			also[i] = "#" + a
			if strings.Contains(s.name, ".") {
				also[i] = prefix + " " + a
			}
		}
		b.WriteString("  Also typed as " + orList(also) + ".\n")
	}
	if s.supervisor {
		b.WriteString("  Supervisors only.\n")
	}
}

// groupTitle is the heading of a group in the full help.
func groupTitle(g Group) string {
	switch g {
	case GroupChat:
		return "Chat commands, in a visitor chat:"
	case GroupMisc:
		return "Misc commands, in a visitor chat:"
	case GroupSupport:
		return "Support commands (helpdesk tickets), in a visitor chat:"
	case GroupCRM:
		return "CRM commands, in a visitor chat:"
	case GroupDesk:
		return "Desk commands, on the Desk contact:"
	}
	return string(g) + " commands:"
}

// shownGroups lists the groups with at least one shown command.
func (ix *index) shownGroups(shown func(*Spec) bool) []Group {
	var gs []Group
	for _, g := range Groups() {
		for i := range ix.specs {
			if s := &ix.specs[i]; s.group == g && shown(s) {
				gs = append(gs, g)
				break
			}
		}
	}
	return gs
}

// topic normalises a help topic: "" or "all", a group name, or the
// canonical name of a command ("#Transfer" → "t", "support conasreq" →
// "support.conasreq").
func (ix *index) topic(raw string) (string, bool) {
	t := strings.ToLower(strings.Join(strings.Fields(raw), " "))
	t = strings.TrimPrefix(t, "#")
	switch {
	case t == "" || t == "all":
		return t, true
	case isGroup(t):
		return t, true
	}
	if s, ok := ix.lookup(t); ok {
		return s.name, true
	}
	return "", false
}

func isGroup(t string) bool { return contains(Groups(), Group(t)) }

func contains(gs []Group, g Group) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}
