package commands

import (
	"errors"
	"strings"
	"testing"
)

const goldenHelpChat = `Commands in a visitor chat (never sent to the visitor):
#t EMAIL|USERNAME [note]  or  #t "DEPARTMENT" [note] — transfer the chat to an agent or a department
#i EMAIL|USERNAME [note] — invite another agent into the chat
#info — show the visitor's details
#b REASON — block the visitor's IP address and end the chat
#p URL — push a web page to the visitor
#m — list the chat's members
#e [30|45|60|90|cancel] — end the chat now, or after 30 to 90 seconds of visitor silence
#an NOTE — add a note to the visitor
#n — list the visitor's notes
#h [prev] — replay this chat, or the visitor's previous chat
#d — list the departments and their online agents
#r [SHORTCUT] — list the canned responses, or send one
#tpl  or  #tpl NAME [ARG…] — list the WhatsApp templates, or send one
#support info — show the visitor's support record
#support ticketinfo — show the ticket linked to this chat
#support recentreq — list the visitor's recent tickets
#support conasreq [PSC] ["DEPARTMENT"] — convert the chat to a ticket (P priority, S status, C classification)
#support searchreq TERM — search the tickets
#support associate ID — add this chat to an existing ticket
#support setreqstatus open|close — reopen or close the ticket linked to this chat
#support setemail EMAIL — record the visitor's email address
#crm info — show the visitor's contact record
#help [TOPIC] — list the commands; #help all for details
##text sends #text to the visitor.
More: #help all; #help chat, misc, support, crm or desk for one group; #help and a command, as in #help t.`

const goldenHelpDesk = `Commands on the Desk contact:
#q — list the chats waiting for an agent
#chats [mine|unassigned|active|live|ended|blocked|all] [replied|unreplied] [CHANNEL] — list chats by view, reply state and channel (default: mine)
#take N — accept a waiting chat
#reopen N — reopen an ended chat with an IM customer and take it
#setemail N EMAIL — record the email address of chat N's visitor, live or over
#convert N [PSC] ["DEPARTMENT"] — make chat N a ticket, live or over
#assign N EMAIL|USERNAME — give a chat to an agent (supervisors)
#monitor N — receive a silent copy of a chat (supervisors)
#stats — show queue and chat figures
#help [TOPIC] — list the commands; #help all for details
More: #help all; #help chat, misc, support, crm or desk for one group; #help and a command, as in #help q.`

// noTickets hides the support and crm groups, as a server without the
// helpdesk executor does.
func noTickets(s Spec) bool { return s.Group() != GroupSupport && s.Group() != GroupCRM }

func mustHelp(t *testing.T, topic string, where Where, include func(Spec) bool) string {
	t.Helper()
	out, err := Help(topic, where, include)
	if err != nil {
		t.Fatalf("Help(%q, %v): %v", topic, where, err)
	}
	return out
}

func TestHelpGolden(t *testing.T) {
	if got := mustHelp(t, "", InChat, nil); got != goldenHelpChat {
		t.Errorf("#help in a chat:\n%s\n--- want ---\n%s", got, goldenHelpChat)
	}
	if got := mustHelp(t, "", AtDesk, nil); got != goldenHelpDesk {
		t.Errorf("#help at the desk:\n%s\n--- want ---\n%s", got, goldenHelpDesk)
	}
}

// TestHelpListsTheTable: the one-line lists are exactly the rows valid
// there, and #help all has every row with its description, examples and
// aliases, in both places.
func TestHelpListsTheTable(t *testing.T) {
	for _, where := range []Where{InChat, AtDesk} {
		list := mustHelp(t, "", where, nil)
		all := mustHelp(t, "all", where, nil)
		for _, s := range Specs() {
			line := s.Usage() + " — " + s.Summary()
			if s.Supervisor() {
				line += " (supervisors)"
			}
			if got := strings.Contains(list, "\n"+line+"\n"); got != s.ValidIn(where) {
				t.Errorf("#help at %v: line of %s shown = %v, want %v", where, s.Name(), got, s.ValidIn(where))
			}
			if !strings.Contains(all, "\n"+line+"\n  "+s.Description()+"\n") {
				t.Errorf("#help all at %v: no entry for %s", where, s.Name())
			}
			for _, e := range s.Examples() {
				if !strings.Contains(all, "\n  Example: "+e+"\n") {
					t.Errorf("#help all at %v: no example %q", where, e)
				}
			}
			for _, a := range s.Aliases() {
				if !strings.Contains(all, "#"+a) {
					t.Errorf("#help all at %v: alias %q of %s not shown", where, a, s.Name())
				}
			}
		}
	}
}

// TestHelpUsageLinesParse: every usage line that help shows, filled in
// with example arguments in every combination its brackets and bars
// allow, parses as that command. So help cannot show a form the parser
// refuses.
func TestHelpUsageLinesParse(t *testing.T) {
	all := mustHelp(t, "all", InChat, nil)
	seen := map[string]bool{}
	for _, line := range strings.Split(all, "\n") {
		usage, _, ok := strings.Cut(line, " — ")
		if !ok || !strings.HasPrefix(line, "#") || strings.HasPrefix(line, "##") {
			continue
		}
		var spec Spec
		for _, s := range Specs() {
			if s.Usage() == usage {
				spec = s
			}
		}
		if spec.Name() == "" {
			t.Errorf("help shows usage %q that is no row's", usage)
			continue
		}
		seen[spec.Name()] = true
		where := InChat
		if !spec.ValidIn(InChat) {
			where = AtDesk
		}
		bodies := expandUsage(t, usage)
		if len(bodies) == 0 {
			t.Errorf("usage %q expands to nothing", usage)
		}
		for _, body := range bodies {
			c, err := Parse(body, where)
			if err != nil {
				t.Errorf("usage %q: %q does not parse: %v", usage, body, err)
			} else if c.Name != spec.Name() {
				t.Errorf("usage %q: %q parses as %s", usage, body, c.Name)
			}
		}
	}
	for _, s := range Specs() {
		if !seen[s.Name()] {
			t.Errorf("the usage of %s is not in #help all", s.Name())
		}
	}
}

// placeholders fill the upper-case words of usage lines (and [note]).
var placeholders = map[string][]string{
	"EMAIL":        {"fiona@example.com"},
	"USERNAME":     {"fiona.b", "Fiona_B"},
	`"DEPARTMENT"`: {`"Sales"`, `“Sales EU”`, `「サポート」`},
	"note":         {"asks about an invoice", "two\nlines"},
	"NOTE":         {"prefers email"},
	"REASON":       {"spam"},
	"URL":          {"https://example.com/pricing", "example.com"},
	"TERM":         {"invoice march"},
	"ID":           {"123", "#123"},
	"N":            {"1042", "#1042"},
	"SHORTCUT":     {"hello"},
	"CHANNEL":      {"whatsapp", "wa-sales", "web"},
	"NAME":         {"order_update", "Follow_Up"},
	"ARG…":         {"Ana", `"Ana Lima" 4711`, `「東京」 “Ana Lima” 3`},
	"PSC":          {"112", "1 1 2", "000", "324"},
	"TOPIC":        {"all", "misc", "support", "crm", "chat", "desk", "e", "#t", "support conasreq"},
}

// expandUsage turns a usage line into every command it describes.
// Grammar: alternatives separated by "  or  "; words separated by a space;
// "[x|y]" optional with choices; "x|y" choices; upper-case words, [note]
// and "DEPARTMENT" are placeholders; other words are typed as they are.
func expandUsage(t *testing.T, usage string) []string {
	var out []string
	for _, alt := range strings.Split(usage, "  or  ") {
		bodies := []string{""}
		for _, word := range strings.Split(alt, " ") {
			var choices []string
			if strings.HasPrefix(word, "[") && strings.HasSuffix(word, "]") {
				choices = append([]string{""}, strings.Split(word[1:len(word)-1], "|")...)
			} else {
				choices = strings.Split(word, "|")
			}
			var filled []string
			for _, c := range choices {
				if v, ok := placeholders[c]; ok {
					filled = append(filled, v...)
				} else if c != strings.ToLower(c) {
					t.Errorf("usage %q: placeholder %q has no example value", usage, c)
				} else {
					filled = append(filled, c)
				}
			}
			var next []string
			for _, b := range bodies {
				for _, f := range filled {
					switch {
					case f == "":
						next = append(next, b)
					case b == "":
						next = append(next, f)
					default:
						next = append(next, b+" "+f)
					}
				}
			}
			bodies = next
		}
		out = append(out, bodies...)
	}
	return out
}

// TestExamplesParse: every example shown by help parses as its command.
func TestExamplesParse(t *testing.T) {
	for _, s := range Specs() {
		for _, e := range s.Examples() {
			for _, where := range []Where{InChat, AtDesk} {
				c, err := Parse(e, where)
				if !s.ValidIn(where) {
					if err == nil {
						t.Errorf("example %q parses at %v, where %s is not valid", e, where, s.Name())
					}
					continue
				}
				if err != nil || c.Name != s.Name() {
					t.Errorf("example %q at %v: %+v, %v", e, where, c, err)
				}
			}
		}
	}
}

func TestHelpTopics(t *testing.T) {
	for _, where := range []Where{InChat, AtDesk} {
		for _, topic := range []string{"", "all", "ALL", " misc ", "support", "crm", "chat", "desk", "e", "#E", "transfer", "support conasreq", "#support ConAsReq", "support.conasreq", "help"} {
			mustHelp(t, topic, where, nil)
		}
	}
	misc := mustHelp(t, "misc", InChat, nil)
	if !strings.HasPrefix(misc, "Misc commands, in a visitor chat:\n#an NOTE — add a note to the visitor\n") ||
		!strings.Contains(misc, "#help [TOPIC]") ||
		!strings.HasSuffix(misc, "\nAlso (#help chat for details):\n"+
			"#t EMAIL|USERNAME [note]  or  #t \"DEPARTMENT\" [note] — transfer the chat to an agent or a department\n"+
			"#i EMAIL|USERNAME [note] — invite another agent into the chat") {
		t.Errorf("#help misc (its commands, then transfer and invite):\n%s", misc)
	}
	want := "Chat commands, in a visitor chat:\n" +
		"#e [30|45|60|90|cancel] — end the chat now, or after 30 to 90 seconds of visitor silence\n" +
		"  #e ends the chat now. #e 30, 45, 60 or 90 ends it after that many seconds in which the visitor does nothing: " +
		"both sides are told, and anything the visitor types or sends interrupts the timer. #e cancel stops a pending end.\n" +
		"  Example: #e\n  Example: #e 30\n  Example: #e cancel\n  Also typed as #end."
	if got := mustHelp(t, "#End", InChat, nil); got != want {
		t.Errorf("#help #End:\n%s\n--- want ---\n%s", got, want)
	}
	assign := mustHelp(t, "assign", AtDesk, nil)
	if !strings.HasPrefix(assign, "Desk commands, on the Desk contact:\n#assign N EMAIL|USERNAME — give a chat to an agent (supervisors)\n") ||
		!strings.HasSuffix(assign, "\n  Supervisors only.") {
		t.Errorf("#help assign:\n%s", assign)
	}

	// Every topic Parse accepts, Help answers.
	for _, body := range []string{"#help", "#help all", "#help Misc", "#help support", "#help crm", "#help desk", "#help #transfer", "#help support setemail"} {
		c, err := Parse(body, InChat)
		if err != nil {
			t.Fatalf("Parse(%q): %v", body, err)
		}
		if _, err := Help(c.Text, InChat, nil); err != nil {
			t.Errorf("Help(%q) from %q: %v", c.Text, body, err)
		}
	}

	for _, out := range []string{mustHelp(t, "", InChat, nil), mustHelp(t, "all", AtDesk, nil)} {
		if strings.HasSuffix(out, "\n") {
			t.Error("help ends with a newline")
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.TrimRight(line, " ") != line {
				t.Errorf("trailing space: %q", line)
			}
		}
	}
}

func TestHelpUnknownTopic(t *testing.T) {
	tests := []struct {
		topic   string
		include func(Spec) bool
		want    string
	}{
		{"frob", nil, `#help: "frob" is not a help topic; use all, chat, misc, support, crm or desk, or a command name — usage: #help [TOPIC]`},
		{"support", noTickets, `#help: "support" is not a help topic; use all, chat, misc or desk, or a command name — usage: #help [TOPIC]`},
		{"support conasreq", noTickets, `#help: "support conasreq" is not a help topic; use all, chat, misc or desk, or a command name — usage: #help [TOPIC]`},
		{"crm", noTickets, `#help: "crm" is not a help topic; use all, chat, misc or desk, or a command name — usage: #help [TOPIC]`},
	}
	for _, tc := range tests {
		_, err := Help(tc.topic, InChat, tc.include)
		var e *Error
		if !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("Help(%q):\n got %v\nwant %s", tc.topic, err, tc.want)
		}
	}
}

// TestHelpHidesGroups: with support and crm hidden, no listing mentions
// them, and the rest is unchanged.
func TestHelpHidesGroups(t *testing.T) {
	for _, where := range []Where{InChat, AtDesk} {
		for _, topic := range []string{"", "all", "misc", "chat", "desk"} {
			out := mustHelp(t, topic, where, noTickets)
			if strings.Contains(out, "#support") || strings.Contains(out, "#crm") || strings.Contains(out, "support,") {
				t.Errorf("Help(%q, %v) with support and crm hidden mentions them:\n%s", topic, where, out)
			}
		}
	}
	want := strings.NewReplacer(
		"#support info — show the visitor's support record\n", "",
		"#support ticketinfo — show the ticket linked to this chat\n", "",
		"#support recentreq — list the visitor's recent tickets\n", "",
		"#support conasreq [PSC] [\"DEPARTMENT\"] — convert the chat to a ticket (P priority, S status, C classification)\n", "",
		"#support searchreq TERM — search the tickets\n", "",
		"#support associate ID — add this chat to an existing ticket\n", "",
		"#support setreqstatus open|close — reopen or close the ticket linked to this chat\n", "",
		"#support setemail EMAIL — record the visitor's email address\n", "",
		"#crm info — show the visitor's contact record\n", "",
		"chat, misc, support, crm or desk", "chat, misc or desk",
	).Replace(goldenHelpChat)
	if got := mustHelp(t, "", InChat, noTickets); got != want {
		t.Errorf("#help with support and crm hidden:\n%s\n--- want ---\n%s", got, want)
	}
}
