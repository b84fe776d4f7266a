package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says what a message body is: ordinary text, an escaped "##" line,
// or a hash command.
type Kind int

const (
	// Plain is ordinary text for the visitor; Classify returns it unchanged.
	Plain Kind = iota
	// Escaped is a body starting with "##": the text to send is the body
	// with one "#" removed.
	Escaped
	// HashCommand is a command ("#" and a letter); pass the body to Parse.
	HashCommand
)

func (k Kind) String() string {
	switch k {
	case Plain:
		return "plain"
	case Escaped:
		return "escaped"
	case HashCommand:
		return "command"
	}
	return "unknown"
}

// Classify tells ordinary text, the "##" escape and commands apart.
//
// Leading white space is ignored when deciding, so " #e" is a command (a
// command sent to the visitor by accident would be worse than a stray
// space). For Plain, text is body unchanged; for Escaped, it is the body
// without its leading white space and one "#" ("##1 fan" → "#1 fan"); for
// HashCommand it is the body with surrounding white space trimmed.
func Classify(body string) (kind Kind, text string) {
	t := strings.TrimLeftFunc(body, unicode.IsSpace)
	if strings.HasPrefix(t, "##") {
		return Escaped, t[1:]
	}
	if len(t) > 1 && t[0] == '#' {
		if r, _ := utf8.DecodeRuneInString(t[1:]); unicode.IsLetter(r) {
			return HashCommand, strings.TrimSpace(t)
		}
	}
	return Plain, body
}

// Where is a place where commands are typed: a visitor's chat window or
// the Desk contact. Spec.Where may combine both.
type Where uint8

const (
	// InChat is the chat window of a visitor contact.
	InChat Where = 1 << iota
	// AtDesk is the Desk contact (PORTAL|desk@DOMAIN).
	AtDesk
)

func (w Where) String() string {
	switch w {
	case InChat:
		return "a visitor chat"
	case AtDesk:
		return "the Desk contact"
	case InChat | AtDesk:
		return "a visitor chat and the Desk contact"
	}
	return "nowhere"
}

// Group is a command group; the groups are also #help topics.
type Group string

// The groups, in the order help shows them.
const (
	GroupChat    Group = "chat"    // #t, #i, #info, #b, #p, #m, #e
	GroupMisc    Group = "misc"    // #an, #n, #h, #d, #r, #tpl, #help
	GroupSupport Group = "support" // #support …
	GroupCRM     Group = "crm"     // #crm …
	GroupDesk    Group = "desk"    // #q, #chats, #take, #reopen, #setemail, #convert, #assign, #monitor, #stats
)

// Groups returns the groups in help order.
func Groups() []Group {
	return []Group{GroupChat, GroupMisc, GroupSupport, GroupCRM, GroupDesk}
}

func (g Group) String() string { return string(g) }

// Command is a parsed hash command. Name is the canonical name of its table
// row; the other fields are set as that command uses them and are zero
// otherwise.
type Command struct {
	// Name is the canonical name: "t", "i", "info", "b", "p", "m", "e",
	// "an", "n", "h", "d", "r", "tpl", "help", "support.info", …, "crm.info",
	// "q", "chats", "take", "assign", "monitor", "stats".
	Name string

	// Target is the agent, an email address or a username, for #t, #i and
	// #assign.
	Target string
	// Department is the department name for #t "DEPARTMENT", and the
	// department to file the ticket in for #support conasreq and #convert
	// (without the quotes, trimmed; "" for the chat's own).
	Department string
	// Note is the optional free text after the target of #t and #i: the
	// rest of the message, trimmed, newlines kept.
	Note string

	// Seconds is the end delay of "#e 30": 30, 45, 60 or 90; 0 means end
	// now (unless Cancel).
	Seconds int
	// Cancel is set by "#e cancel".
	Cancel bool
	// Prev is set by "#h prev".
	Prev bool
	// URL is the page of #p: http or https with a host, normalised (scheme
	// and host in lower case, default port dropped, "/" for an empty path).
	URL string

	// Text is the command's free-text or keyword argument:
	//   #b           the reason (required)
	//   #an          the note (required)
	//   #r           the shortcut ("" lists the canned responses)
	//   #tpl         the template name, in lower case ("" lists the
	//                templates)
	//   #help        the topic: "", "all", a group name or a canonical
	//                command name ("#help transfer" → "t")
	//   #chats       the view: mine (the default), unassigned, active,
	//                live (the default before replied or unreplied),
	//                ended, blocked, all
	//   support.searchreq    the search term (required)
	//   support.setreqstatus "open" or "close"
	//   support.setemail     the email address, checked with net/mail
	Text string

	// Reply and Channel are the filters of #chats: Reply is "replied",
	// "unreplied" or "" (any); Channel a channel's name or type or "web",
	// as typed ("" for every chat).
	Reply   string
	Channel string

	// Args are the arguments of "#tpl NAME ARG…", in order: each a word,
	// or the text between quotes ("…", “…” or 「…」), trimmed; never
	// empty, and never with a line break or another control character.
	// Nil without arguments.
	Args []string

	// Number is the chat number of #take, #reopen, #assign and #monitor, or the
	// ticket number of "#support associate" (always > 0 when set).
	Number int64

	// Priority, Status and Classification are the digit codes of
	// "#support conasreq [PSC]" (000 when no digits are given); see
	// PriorityNames, StatusNames and ClassificationNames.
	Priority       int
	Status         int
	Classification int

	// Raw is the body as given to Parse.
	Raw string
}

// Spec returns the table row of c (the zero Spec if c.Name is unknown).
func (c Command) Spec() Spec {
	s, _ := Lookup(c.Name)
	return s
}

// Error is a command the parser refused. Msg says what was wrong; Usage is
// the usage line of the command concerned ("" when no command could be
// recognised, and then the text points to #help).
type Error struct {
	Msg   string
	Usage string
}

// Error returns "MSG — usage: USAGE", or "MSG — try #help" when there is
// no usage line.
func (e *Error) Error() string {
	if e.Usage != "" {
		return e.Msg + " — usage: " + e.Usage
	}
	return e.Msg + " — try #help"
}
