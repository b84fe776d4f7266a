package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		body string
		kind Kind
		text string
	}{
		{"hello", Plain, "hello"},
		{"", Plain, ""},
		{"#", Plain, "#"},
		{"#1", Plain, "#1"},
		{"#1 priority for us", Plain, "#1 priority for us"},
		{"# heading", Plain, "# heading"},
		{"#!", Plain, "#!"},
		{"#\xff", Plain, "#\xff"},
		{"see #t", Plain, "see #t"},
		{"##", Escaped, "#"},
		{"##text", Escaped, "#text"},
		{"##e 30 is how you end", Escaped, "#e 30 is how you end"},
		{"###", Escaped, "##"},
		{"  ##x  ", Escaped, "#x  "},
		{"#e", HashCommand, "#e"},
		{"#E 30", HashCommand, "#E 30"},
		{"#é", HashCommand, "#é"},
		{"#日本", HashCommand, "#日本"},
		{" \t#info\n", HashCommand, "#info"},
		{"\u00a0#info", HashCommand, "#info"},
	}
	for _, tc := range tests {
		kind, text := Classify(tc.body)
		if kind != tc.kind || text != tc.text {
			t.Errorf("Classify(%q) = %v, %q; want %v, %q", tc.body, kind, text, tc.kind, tc.text)
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		body  string
		where Where
		want  Command
	}{
		// #t: agent, department in each quote style, notes.
		{"#t fiona.b", InChat, Command{Name: "t", Target: "fiona.b"}},
		{"#t fiona@example.com", InChat, Command{Name: "t", Target: "fiona@example.com"}},
		{"#t <fiona@example.com> hi", InChat, Command{Name: "t", Target: "fiona@example.com", Note: "hi"}},
		{"#t fiona.b  asks about\nthe invoice \n", InChat, Command{Name: "t", Target: "fiona.b", Note: "asks about\nthe invoice"}},
		{"#T\tFiona_B\u00a0\u00a0note", InChat, Command{Name: "t", Target: "Fiona_B", Note: "note"}},
		{"#transfer fiona.b", InChat, Command{Name: "t", Target: "fiona.b"}},
		{`#t "Sales"`, InChat, Command{Name: "t", Department: "Sales"}},
		{`#t "Sales EU" wants a quote`, InChat, Command{Name: "t", Department: "Sales EU", Note: "wants a quote"}},
		{`#t " Sales " x`, InChat, Command{Name: "t", Department: "Sales", Note: "x"}},
		{`#t “Sales” wants a quote`, InChat, Command{Name: "t", Department: "Sales", Note: "wants a quote"}},
		{`#t “Sales“`, InChat, Command{Name: "t", Department: "Sales"}},
		{`#t "Sales”`, InChat, Command{Name: "t", Department: "Sales"}},
		{`#t ”Sales”`, InChat, Command{Name: "t", Department: "Sales"}},
		{`#t „Vertrieb“ bitte`, InChat, Command{Name: "t", Department: "Vertrieb", Note: "bitte"}},
		{`#t «Ventes»`, InChat, Command{Name: "t", Department: "Ventes"}},
		{`#t 「サポート」 至急`, InChat, Command{Name: "t", Department: "サポート", Note: "至急"}},
		{`#t 『営業』`, InChat, Command{Name: "t", Department: "営業"}},
		{`#t ＂営業＂`, InChat, Command{Name: "t", Department: "営業"}},
		{"#t \"Sales\"\nline one\nline two", InChat, Command{Name: "t", Department: "Sales", Note: "line one\nline two"}},

		// #i
		{"#i fiona.b", InChat, Command{Name: "i", Target: "fiona.b"}},
		{"#invite fiona@example.com can you\ncheck?", InChat, Command{Name: "i", Target: "fiona@example.com", Note: "can you\ncheck?"}},

		// No-argument commands, in any case.
		{"#info", InChat, Command{Name: "info"}},
		{"#INFO", InChat, Command{Name: "info"}},
		{"#m", InChat, Command{Name: "m"}},
		{"#members", InChat, Command{Name: "m"}},
		{"#n", InChat, Command{Name: "n"}},
		{"#d", InChat, Command{Name: "d"}},
		{"#support info", InChat, Command{Name: "support.info"}},
		{"#support TicketInfo", InChat, Command{Name: "support.ticketinfo"}},
		{"#support recentreq", InChat, Command{Name: "support.recentreq"}},
		{"#CRM Info", InChat, Command{Name: "crm.info"}},
		{"#q", AtDesk, Command{Name: "q"}},
		{"#queue", AtDesk, Command{Name: "q"}},
		{"#stats", AtDesk, Command{Name: "stats"}},

		// Free text.
		{"#b abusive language", InChat, Command{Name: "b", Text: "abusive language"}},
		{"#block spam\nand more spam", InChat, Command{Name: "b", Text: "spam\nand more spam"}},
		{"#an prefers email\ncall after 5", InChat, Command{Name: "an", Text: "prefers email\ncall after 5"}},
		{"#support searchreq  invoice march ", InChat, Command{Name: "support.searchreq", Text: "invoice march"}},

		// #e
		{"#e", InChat, Command{Name: "e"}},
		{"#e 30", InChat, Command{Name: "e", Seconds: 30}},
		{"#E 30", InChat, Command{Name: "e", Seconds: 30}},
		{"#e 45", InChat, Command{Name: "e", Seconds: 45}},
		{"#e 60", InChat, Command{Name: "e", Seconds: 60}},
		{"#e\t90 ", InChat, Command{Name: "e", Seconds: 90}},
		{"#e 090", InChat, Command{Name: "e", Seconds: 90}},
		{"#e cancel", InChat, Command{Name: "e", Cancel: true}},
		{"#end CANCEL", InChat, Command{Name: "e", Cancel: true}},

		// #h, #r
		{"#h", InChat, Command{Name: "h"}},
		{"#h prev", InChat, Command{Name: "h", Prev: true}},
		{"#History PREV", InChat, Command{Name: "h", Prev: true}},
		{"#r", InChat, Command{Name: "r"}},
		{"#r hello", InChat, Command{Name: "r", Text: "hello"}},

		// #tpl: a word or a quoted text per argument.
		{"#tpl", InChat, Command{Name: "tpl"}},
		{"#template ", InChat, Command{Name: "tpl"}},
		{"#tpl Order_Update", InChat, Command{Name: "tpl", Text: "order_update"}},
		{`#tpl order_update "Ana Lima" 4711`, InChat, Command{Name: "tpl", Text: "order_update", Args: []string{"Ana Lima", "4711"}}},
		{"#tpl order_update\tAna\n4711 ", InChat, Command{Name: "tpl", Text: "order_update", Args: []string{"Ana", "4711"}}},
		{`#tpl x “ Ana Lima ” 「東京 駅」 «a»`, InChat, Command{Name: "tpl", Text: "x", Args: []string{"Ana Lima", "東京 駅", "a"}}},
		{`#tpl x O"Neil 5"`, InChat, Command{Name: "tpl", Text: "x", Args: []string{`O"Neil`, `5"`}}},

		// #p
		{"#p https://example.com/pricing", InChat, Command{Name: "p", URL: "https://example.com/pricing"}},
		{"#p HTTPS://Example.COM", InChat, Command{Name: "p", URL: "https://example.com/"}},
		{"#p http://example.com:80/a?b=1#top", InChat, Command{Name: "p", URL: "http://example.com/a?b=1#top"}},
		{"#p https://example.com:8443/x", InChat, Command{Name: "p", URL: "https://example.com:8443/x"}},
		{"#p example.com/help", InChat, Command{Name: "p", URL: "https://example.com/help"}},
		{"#p example.com:8080", InChat, Command{Name: "p", URL: "https://example.com:8080/"}},
		{"#p <https://example.com/a>", InChat, Command{Name: "p", URL: "https://example.com/a"}},
		{"#p //example.com/a", InChat, Command{Name: "p", URL: "https://example.com/a"}},
		{"#p www.example.com/a:b?c=d:e", InChat, Command{Name: "p", URL: "https://www.example.com/a:b?c=d:e"}},
		{"#p http://[2001:DB8::1]:8080/", InChat, Command{Name: "p", URL: "http://[2001:db8::1]:8080/"}},
		{"#p https://Bücher.example/ü", InChat, Command{Name: "p", URL: "https://bücher.example/%C3%BC"}},
		{"#push https://example.com/", InChat, Command{Name: "p", URL: "https://example.com/"}},

		// #help, in both places.
		{"#help", InChat, Command{Name: "help"}},
		{"#help", AtDesk, Command{Name: "help"}},
		{"#HELP All", InChat, Command{Name: "help", Text: "all"}},
		{"#help misc", InChat, Command{Name: "help", Text: "misc"}},
		{"#help support", InChat, Command{Name: "help", Text: "support"}},
		{"#help crm", InChat, Command{Name: "help", Text: "crm"}},
		{"#help desk", AtDesk, Command{Name: "help", Text: "desk"}},
		{"#help #Transfer", InChat, Command{Name: "help", Text: "t"}},
		{"#help support  ConAsReq", InChat, Command{Name: "help", Text: "support.conasreq"}},

		// #support
		{"#support conasreq", InChat, Command{Name: "support.conasreq"}},
		{"#support conasreq 112", InChat, Command{Name: "support.conasreq", Priority: 1, Status: 1, Classification: 2}},
		{"#SUPPORT ConAsReq 1 1 2", InChat, Command{Name: "support.conasreq", Priority: 1, Status: 1, Classification: 2}},
		{"#support conasreq 3\t2  4", InChat, Command{Name: "support.conasreq", Priority: 3, Status: 2, Classification: 4}},
		{"#support conasreq 000", InChat, Command{Name: "support.conasreq"}},
		{`#support conasreq 112 "Billing"`, InChat, Command{Name: "support.conasreq", Priority: 1, Status: 1, Classification: 2, Department: "Billing"}},
		{`#support conasreq 「Sales 営業」`, InChat, Command{Name: "support.conasreq", Department: "Sales 営業"}},
		{`#convert 1042 "Billing"`, AtDesk, Command{Name: "convert", Number: 1042, Department: "Billing"}},
		{"#support associate 123", InChat, Command{Name: "support.associate", Number: 123}},
		{"#support associate #123", InChat, Command{Name: "support.associate", Number: 123}},
		{"#support setreqstatus OPEN", InChat, Command{Name: "support.setreqstatus", Text: "open"}},
		{"#support setreqstatus close", InChat, Command{Name: "support.setreqstatus", Text: "close"}},
		{"#support setemail visitor@example.com", InChat, Command{Name: "support.setemail", Text: "visitor@example.com"}},
		{"#support setemail Vera Visitor <vera@example.com>", InChat, Command{Name: "support.setemail", Text: "vera@example.com"}},

		// Desk.
		{"#chats", AtDesk, Command{Name: "chats", Text: "mine"}},
		{"#chats Unreplied", AtDesk, Command{Name: "chats", Text: "live", Reply: "unreplied"}},
		{"#chats replied", AtDesk, Command{Name: "chats", Text: "live", Reply: "replied"}},
		{"#chats all", AtDesk, Command{Name: "chats", Text: "all"}},
		{"#chats Ended", AtDesk, Command{Name: "chats", Text: "ended"}},
		{"#chats mine whatsapp", AtDesk, Command{Name: "chats", Text: "mine", Channel: "whatsapp"}},
		{"#chats ended unreplied WA-Sales", AtDesk, Command{Name: "chats", Text: "ended", Reply: "unreplied", Channel: "WA-Sales"}},
		{"#chats blocked web replied", AtDesk, Command{Name: "chats", Text: "blocked", Reply: "replied", Channel: "web"}},
		{"#chats unreplied tg.support", AtDesk, Command{Name: "chats", Text: "live", Reply: "unreplied", Channel: "tg.support"}},
		{"#chats wa_eu", AtDesk, Command{Name: "chats", Text: "mine", Channel: "wa_eu"}},
		{"#reopen 1042", AtDesk, Command{Name: "reopen", Number: 1042}},
		{"#Reopen #1042", AtDesk, Command{Name: "reopen", Number: 1042}},
		{"#take 1042", AtDesk, Command{Name: "take", Number: 1042}},
		{"#take #1042", AtDesk, Command{Name: "take", Number: 1042}},
		{"#assign 1042 fiona.b", AtDesk, Command{Name: "assign", Number: 1042, Target: "fiona.b"}},
		{"#assign #7 fiona@example.com", AtDesk, Command{Name: "assign", Number: 7, Target: "fiona@example.com"}},
		{"#monitor 1042", AtDesk, Command{Name: "monitor", Number: 1042}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.body, tc.where)
		if err != nil {
			t.Errorf("Parse(%q, %v): %v", tc.body, tc.where, err)
			continue
		}
		want := tc.want
		want.Raw = tc.body
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q, %v)\n got %+v\nwant %+v", tc.body, tc.where, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const (
		tUsage     = `#t EMAIL|USERNAME [note]  or  #t "DEPARTMENT" [note]`
		eUsage     = `#e [30|45|60|90|cancel]`
		support    = `#support info|ticketinfo|recentreq|conasreq|searchreq|associate|setreqstatus|setemail`
		chatsUsage = `#chats [mine|unassigned|active|live|ended|blocked|all] [replied|unreplied] [CHANNEL]`
		tplUsage   = `#tpl  or  #tpl NAME [ARG…]`
	)
	tests := []struct {
		body  string
		where Where
		want  string
	}{
		// Not commands at all.
		{"hello", InChat, "not a command: a command is # and a letter, as in #help — try #help"},
		{"#1", InChat, "not a command: a command is # and a letter, as in #help — try #help"},
		{"##e", InChat, "not a command: ## sends a literal # — try #help"},

		// Unknown commands and subcommands.
		{"#frob", InChat, "unknown command #frob — try #help"},
		{"#FROB now", AtDesk, "unknown command #FROB — try #help"},
		{"#e30", InChat, "unknown command #e30 — try #help"},
		{"#" + strings.Repeat("x", 50), InChat, "unknown command #" + strings.Repeat("x", 40) + "… — try #help"},
		{"#support", InChat, "#support needs a subcommand — usage: " + support},
		{"#support frob", InChat, `#support: "frob" is not a subcommand — usage: ` + support},
		{"#crm", InChat, "#crm needs a subcommand — usage: #crm info"},
		{"#crm notes", InChat, `#crm: "notes" is not a subcommand — usage: #crm info`},

		// Wrong place.
		{"#take 5", InChat, "#take works on the Desk contact, not in a visitor chat — usage: #take N"},
		{"#chats", InChat, "#chats works on the Desk contact, not in a visitor chat — usage: " + chatsUsage},
		{"#t fiona.b", AtDesk, "#t works in a visitor chat, not on the Desk contact — usage: " + tUsage},
		{"#support conasreq 112", AtDesk, "#support conasreq works in a visitor chat, not on the Desk contact — usage: #support conasreq [PSC] [\"DEPARTMENT\"]"},

		// #t, #i, #assign
		{"#t", InChat, `#t needs an agent (email or username) or a "department" — usage: ` + tUsage},
		{"#t   ", InChat, `#t needs an agent (email or username) or a "department" — usage: ` + tUsage},
		{`#t "Sales`, InChat, `#t: the quote is not closed: "Sales — usage: ` + tUsage},
		{`#t “Sales team`, InChat, `#t: the quote is not closed: “Sales team — usage: ` + tUsage},
		{`#t 「Sales"`, InChat, `#t: the quote is not closed: 「Sales" — usage: ` + tUsage},
		{`#t ""`, InChat, `#t: the department name is empty — usage: ` + tUsage},
		{`#t “ ” hi`, InChat, `#t: the department name is empty — usage: ` + tUsage},
		{`#t Sales`, InChat, `#t: "Sales" is not an email address or a username; a department goes in quotes: "Sales" — usage: ` + tUsage},
		{`#t fiona@`, InChat, `#t: "fiona@" is not an email address or a username; a department goes in quotes: "fiona@" — usage: ` + tUsage},
		{`#t fiona-b`, InChat, `#t: "fiona-b" is not an email address or a username; a department goes in quotes: "fiona-b" — usage: ` + tUsage},
		{"#i", InChat, "#i needs an agent (email or username) — usage: #i EMAIL|USERNAME [note]"},
		{`#i "Sales"`, InChat, "#i invites an agent, not a department — usage: #i EMAIL|USERNAME [note]"},
		{"#i bob", InChat, `#i: "bob" is not an email address or a username — usage: #i EMAIL|USERNAME [note]`},
		{"#assign", AtDesk, "#assign needs a chat number and an agent (email or username) — usage: #assign N EMAIL|USERNAME"},
		{"#assign fiona.b", AtDesk, `#assign: "fiona.b" is not a chat number — usage: #assign N EMAIL|USERNAME`},
		{"#assign 1042", AtDesk, "#assign needs an agent (email or username) after the chat number — usage: #assign N EMAIL|USERNAME"},
		{`#assign 1042 "Sales"`, AtDesk, "#assign gives a chat to an agent, not a department — usage: #assign N EMAIL|USERNAME"},
		{"#assign 1042 bob", AtDesk, `#assign: "bob" is not an email address or a username — usage: #assign N EMAIL|USERNAME`},
		{"#assign 1042 fiona.b now", AtDesk, `#assign: unexpected text after the agent: "now" — usage: #assign N EMAIL|USERNAME`},

		// No-argument commands.
		{"#info please", InChat, `#info takes no arguments, but got "please" — usage: #info`},
		{"#support info now", InChat, `#support info takes no arguments, but got "now" — usage: #support info`},
		{"#q all", AtDesk, `#q takes no arguments, but got "all" — usage: #q`},

		// Required text.
		{"#b", InChat, "#b needs a reason — usage: #b REASON"},
		{"#an \n ", InChat, "#an needs a note — usage: #an NOTE"},
		{"#support searchreq", InChat, "#support searchreq needs a search term (email, ticket number, name or subject words) — usage: #support searchreq TERM"},

		// #e
		{"#e 20", InChat, "#e: 20 is not an end delay; use 30, 45, 60 or 90 — usage: " + eUsage},
		{"#e 0", InChat, "#e: 0 is not an end delay; use 30, 45, 60 or 90 — usage: " + eUsage},
		{"#e 99999999999999999999", InChat, "#e: 99999999999999999999 is not an end delay; use 30, 45, 60 or 90 — usage: " + eUsage},
		{"#e -30", InChat, `#e: "-30" is not understood; use 30, 45, 60, 90 or cancel — usage: ` + eUsage},
		{"#e soon", InChat, `#e: "soon" is not understood; use 30, 45, 60, 90 or cancel — usage: ` + eUsage},
		{"#e 30 please", InChat, `#e: unexpected text after 30: "please" — usage: ` + eUsage},
		{"#e cancel now", InChat, `#e: unexpected text after cancel: "now" — usage: ` + eUsage},

		// #h, #r
		{"#h next", InChat, `#h: "next" is not understood; use #h or #h prev — usage: #h [prev]`},
		{"#h prev 2", InChat, `#h: unexpected text after prev: "2" — usage: #h [prev]`},
		{"#r hello there", InChat, `#r: unexpected text after the shortcut: "there" — usage: #r [SHORTCUT]`},

		// #tpl
		{`#tpl "order_update" Ana`, InChat, `#tpl: the template name goes without quotes — usage: ` + tplUsage},
		{`#tpl x "Ana Lima`, InChat, `#tpl: the quote is not closed: "Ana Lima — usage: ` + tplUsage},
		{`#tpl x Ana ""`, InChat, `#tpl: argument 2 is empty — usage: ` + tplUsage},
		{`#tpl x “ ”`, InChat, `#tpl: argument 1 is empty — usage: ` + tplUsage},
		{`#tpl x "say ”hi”"`, InChat, `#tpl: put a space after the closing quote of argument 1: hi”" — usage: ` + tplUsage},
		{`#tpl x "Ana"Lima`, InChat, `#tpl: put a space after the closing quote of argument 1: Lima — usage: ` + tplUsage},
		{"#tpl x \"Ana\nLima\"", InChat, `#tpl: argument 1 has a line break or a control character; each argument is one line — usage: ` + tplUsage},
		{"#tpl x a\x00b", InChat, `#tpl: argument 1 has a line break or a control character; each argument is one line — usage: ` + tplUsage},

		// #p
		{"#p", InChat, "#p needs a web address — usage: #p URL"},
		{"#p javascript:alert(1)", InChat, `#p: only http and https addresses can be pushed, not "javascript:" — usage: #p URL`},
		{"#p mailto:a@example.com", InChat, `#p: only http and https addresses can be pushed, not "mailto:" — usage: #p URL`},
		{"#p ftp://example.com/f", InChat, `#p: only http and https addresses can be pushed, not "ftp://example.com/f" — usage: #p URL`},
		{"#p http://", InChat, `#p: "http://" has no host name — usage: #p URL`},
		{"#p https://user:pw@example.com/", InChat, `#p: "https://user:pw@example.com/" has a user name or password in it; push the address without it — usage: #p URL`},
		{"#p https://example.com:99999/", InChat, `#p: "https://example.com:99999/" has a port that is not valid — usage: #p URL`},
		{"#p https://exa!mple.com/", InChat, `#p: "https://exa!mple.com/" has a host name that is not valid — usage: #p URL`},
		{"#p https://[fe80::1%25en0]/", InChat, `#p: "https://[fe80::1%25en0]/" has a host name that is not valid — usage: #p URL`},
		{"#p http://%zz/", InChat, `#p: "http://%zz/" is not a web address — usage: #p URL`},
		{"#p https://example.com/ look", InChat, `#p: unexpected text after the address: "look" — usage: #p URL`},
		{"#p https://example.com/" + strings.Repeat("a", 2048), InChat, `#p: the address is too long (at most 2048 characters) — usage: #p URL`},

		// #help
		{"#help frob", InChat, `#help: "frob" is not a help topic; use all, chat, misc, support, crm or desk, or a command name — usage: #help [TOPIC]`},

		// #support
		{"#support conasreq 19", InChat, `#support conasreq: "19" is not valid: priority 0 none, 1 low, 2 medium, 3 high; status 0 open, 1 on hold, 2 escalated, 3 closed; classification 0 none, 1 question, 2 problem, 3 feature, 4 others (example: #support conasreq 112) — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{"#support conasreq 415", InChat, `#support conasreq: "415" is not valid: priority 0 none, 1 low, 2 medium, 3 high; status 0 open, 1 on hold, 2 escalated, 3 closed; classification 0 none, 1 question, 2 problem, 3 feature, 4 others (example: #support conasreq 112) — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{"#support conasreq 1 1 5", InChat, `#support conasreq: "1 1 5" is not valid: priority 0 none, 1 low, 2 medium, 3 high; status 0 open, 1 on hold, 2 escalated, 3 closed; classification 0 none, 1 question, 2 problem, 3 feature, 4 others (example: #support conasreq 112) — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{"#support conasreq 1120", InChat, `#support conasreq: "1120" is not valid: priority 0 none, 1 low, 2 medium, 3 high; status 0 open, 1 on hold, 2 escalated, 3 closed; classification 0 none, 1 question, 2 problem, 3 feature, 4 others (example: #support conasreq 112) — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{`#support conasreq 112 "Billing`, InChat, `#support conasreq: the quote is not closed: "Billing — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{`#support conasreq "" 112`, InChat, `#support conasreq: the department name is empty — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{`#support conasreq "Billing" 112`, InChat, `#support conasreq: "112" after the department is not understood — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{"#support conasreq low", InChat, `#support conasreq: "low" is not valid: priority 0 none, 1 low, 2 medium, 3 high; status 0 open, 1 on hold, 2 escalated, 3 closed; classification 0 none, 1 question, 2 problem, 3 feature, 4 others (example: #support conasreq 112) — usage: #support conasreq [PSC] ["DEPARTMENT"]`},
		{"#support associate", InChat, "#support associate needs a ticket number — usage: #support associate ID"},
		{"#support associate x1", InChat, `#support associate: "x1" is not a ticket number — usage: #support associate ID`},
		{"#support associate #0", InChat, `#support associate: "#0" is not a ticket number — usage: #support associate ID`},
		{"#support setreqstatus", InChat, "#support setreqstatus needs open or close — usage: #support setreqstatus open|close"},
		{"#support setreqstatus reopen", InChat, `#support setreqstatus: "reopen" is not a status; use open or close — usage: #support setreqstatus open|close`},
		{"#support setemail", InChat, "#support setemail needs an email address — usage: #support setemail EMAIL"},
		{"#support setemail vera", InChat, `#support setemail: "vera" is not an email address — usage: #support setemail EMAIL`},
		{`#support setemail "a b"@example.com`, InChat, `#support setemail: ""a b"@example.com" is not an email address — usage: #support setemail EMAIL`},

		// Desk.
		{"#chats mine all", AtDesk, `#chats: one view at a time, and first: #chats all — usage: ` + chatsUsage},
		{"#chats wa ended", AtDesk, `#chats: one view at a time, and first: #chats ended — usage: ` + chatsUsage},
		{"#chats frob!", AtDesk, `#chats: "frob!" is not a view (mine, unassigned, active, live, ended, blocked, all), replied or unreplied, or a channel's name or type — usage: ` + chatsUsage},
		{"#chats mine " + strings.Repeat("w", 41), AtDesk, `#chats: "` + strings.Repeat("w", 40) + `…" is not a view (mine, unassigned, active, live, ended, blocked, all), replied or unreplied, or a channel's name or type — usage: ` + chatsUsage},
		{"#chats unreplied replied", AtDesk, `#chats: unreplied or replied, not both — usage: ` + chatsUsage},
		{"#chats all wa tg", AtDesk, `#chats: one channel at a time, not "wa" and "tg" — usage: ` + chatsUsage},
		{"#reopen", AtDesk, "#reopen needs a chat number — usage: #reopen N"},
		{"#reopen 1042", InChat, "#reopen works on the Desk contact, not in a visitor chat — usage: #reopen N"},
		{"#take", AtDesk, "#take needs a chat number — usage: #take N"},
		{"#take abc", AtDesk, `#take: "abc" is not a chat number — usage: #take N`},
		{"#take 99999999999999999999", AtDesk, `#take: "99999999999999999999" is not a chat number — usage: #take N`},
		{"#take 1042 now", AtDesk, `#take: unexpected text after the chat number: "now" — usage: #take N`},
		{"#monitor", AtDesk, "#monitor needs a chat number — usage: #monitor N"},

		// Echoed input is made safe to show; bad UTF-8 is refused.
		{"#e \x01\uFFFE", InChat, "#e: \" \uFFFD\" is not understood; use 30, 45, 60, 90 or cancel — usage: " + eUsage},
		{"#t \"\xed\xa0\x80\"", InChat, "the command is not valid UTF-8 text — try #help"},
		{"#\u00e9\xff", InChat, "the command is not valid UTF-8 text — try #help"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.body, tc.where)
		if err == nil {
			t.Errorf("Parse(%q, %v): no error; want %q", tc.body, tc.where, tc.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q, %v): error %T, want *Error", tc.body, tc.where, err)
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q, %v)\n got %q\nwant %q", tc.body, tc.where, err.Error(), tc.want)
		}
	}
}

// TestErrorsShowUsage: every error for a recognised command carries that
// command's usage line.
func TestErrorsShowUsage(t *testing.T) {
	for _, s := range Specs() {
		for _, bad := range []string{" \"unterminated", " ?!", " 1 2 3 4 5", " x y z"} {
			where := InChat
			if !s.ValidIn(InChat) {
				where = AtDesk
			}
			_, err := Parse(s.Invocation()+bad, where)
			if err == nil {
				continue // free-text commands accept anything
			}
			if e := err.(*Error); e.Usage != s.Usage() {
				t.Errorf("Parse(%q): usage %q, want %q", s.Invocation()+bad, e.Usage, s.Usage())
			}
		}
	}
}

func TestFormatPSC(t *testing.T) {
	tests := []struct {
		p, s, c int
		want    string
	}{
		{1, 1, 2, "low, on hold, problem"},
		{0, 0, 0, "none, open, none"},
		{3, 3, 4, "high, closed, others"},
		{2, 2, 3, "medium, escalated, feature"},
		{4, -1, 5, "4, -1, 5"},
	}
	for _, tc := range tests {
		if got := FormatPSC(tc.p, tc.s, tc.c); got != tc.want {
			t.Errorf("FormatPSC(%d, %d, %d) = %q, want %q", tc.p, tc.s, tc.c, got, tc.want)
		}
	}
	c, err := Parse("#support conasreq 1 1 2", InChat)
	if err != nil || c.PSC() != "low, on hold, problem" {
		t.Errorf("PSC of #support conasreq 1 1 2 = %q, %v", c.PSC(), err)
	}
	if len(PriorityNames) != 4 || len(StatusNames) != 4 || len(ClassificationNames) != 5 ||
		PriorityNames[1] != "low" || StatusNames[1] != "on hold" || ClassificationNames[2] != "problem" {
		t.Errorf("word tables: %q %q %q", PriorityNames, StatusNames, ClassificationNames)
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"t", "t"}, {"#T", "t"}, {"transfer", "t"}, {"support.conasreq", "support.conasreq"},
		{"support conasreq", "support.conasreq"}, {"#Support ConAsReq", "support.conasreq"},
		{"crm.info", "crm.info"}, {"take", "take"}, {"queue", "q"}, {"help", "help"},
	} {
		s, ok := Lookup(tc.name)
		if !ok || s.Name() != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tc.name, s.Name(), ok, tc.want)
		}
	}
	for _, name := range []string{"", "frob", "support", "crm", "support.frob", "#"} {
		if s, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) = %q, want not found", name, s.Name())
		}
	}
	// Spec hands out copies: changing them does not change the table.
	s, _ := Lookup("t")
	s.Aliases()[0] = "changed"
	s.Examples()[0] = "changed"
	if again, _ := Lookup("t"); again.Aliases()[0] != "transfer" || again.Examples()[0] != "#t fiona.b" {
		t.Error("the table changed through a Spec")
	}
	c := Command{Name: "support.setemail"}
	if c.Spec().Group() != GroupSupport || c.Spec().Invocation() != "#support setemail" {
		t.Errorf("Command.Spec() = %+v", c.Spec())
	}
}

// TestTable checks the table's shape: the groups and places of docs/COMMANDS.md,
// the supervisor commands, and that every row has what help needs.
func TestTable(t *testing.T) {
	want := map[Group][]string{
		GroupChat:    {"t", "i", "info", "b", "p", "m", "e"},
		GroupMisc:    {"an", "n", "h", "d", "r", "tpl", "help"},
		GroupSupport: {"support.info", "support.ticketinfo", "support.recentreq", "support.conasreq", "support.searchreq", "support.associate", "support.setreqstatus", "support.setemail"},
		GroupCRM:     {"crm.info"},
		GroupDesk:    {"q", "chats", "take", "reopen", "setemail", "convert", "assign", "monitor", "stats"},
	}
	got := map[Group][]string{}
	for _, s := range Specs() {
		got[s.Group()] = append(got[s.Group()], s.Name())
		if s.Description() == "" || len(s.Examples()) == 0 {
			t.Errorf("%s: no description or examples", s.Name())
		}
		if !strings.HasPrefix(s.Usage(), s.Invocation()) {
			t.Errorf("%s: usage %q does not start with %q", s.Name(), s.Usage(), s.Invocation())
		}
		wantWhere := InChat
		switch {
		case s.Name() == "help":
			wantWhere = InChat | AtDesk
		case s.Group() == GroupDesk:
			wantWhere = AtDesk
		}
		if s.Where() != wantWhere {
			t.Errorf("%s: where %v, want %v", s.Name(), s.Where(), wantWhere)
		}
		if sup := s.Name() == "assign" || s.Name() == "monitor"; s.Supervisor() != sup {
			t.Errorf("%s: supervisor %v, want %v", s.Name(), s.Supervisor(), sup)
		}
	}
	for _, g := range Groups() {
		if strings.Join(got[g], " ") != strings.Join(want[g], " ") {
			t.Errorf("group %s: %q, want %q", g, got[g], want[g])
		}
	}
}

func TestNewIndexRefusesBadTables(t *testing.T) {
	row := func(name string, aliases ...string) Spec {
		return Spec{name: name, aliases: aliases, group: GroupMisc, where: InChat, usage: "#" + name, summary: "x", parse: parseNone}
	}
	for name, specs := range map[string][]Spec{
		"duplicate":       {row("a"), row("b", "a")},
		"upper case":      {row("A")},
		"prefix clash":    {row("x.y"), row("x")},
		"incomplete":      {{name: "z"}},
		"space in a name": {row("a b")},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: newIndex did not panic", name)
				}
			}()
			newIndex(specs)
		}()
	}
}
