package commands

import "strings"

// table is the command table: one row per command, in help order. The
// parser, Lookup and Help all read it, and the server takes from it who
// may run a command, whether it is audited and whether the desk mode rules
// it; nothing else defines a command. A row that changes something
// (changes) leaves access at ChatStaff; a row that only looks sets
// access: ChatMembers so that monitors may run it too.
func table() []Spec {
	return []Spec{
		// Chat: in a visitor's chat window.
		{
			name: "t", aliases: []string{"transfer"}, group: GroupChat, seeAlso: []Group{GroupMisc}, where: InChat, changes: true,
			usage:   `#t EMAIL|USERNAME [note]  or  #t "DEPARTMENT" [note]`,
			summary: "transfer the chat to an agent or a department",
			description: `Offers the chat to one agent, named by email address or username, or to a department: ` +
				`put its name in quotes ("…", “…” or 「…」) and the chat is offered to its online agents like a new chat. ` +
				`The note goes with the offer. When the target answers y they take over and you leave the chat; ` +
				`when they answer n or do not answer, you keep it.`,
			examples: []string{`#t fiona.b`, `#t fiona@example.com asks about an invoice`, `#t "Sales" wants a quote for 20 seats`, `#t “Billing”`},
			parse:    parseTransfer,
		},
		{
			name: "i", aliases: []string{"invite"}, group: GroupChat, seeAlso: []Group{GroupMisc}, where: InChat, changes: true,
			usage:   `#i EMAIL|USERNAME [note]`,
			summary: "invite another agent into the chat",
			description: `Asks another agent, named by email address or username, to join; the note goes with the invitation. ` +
				`When they answer y you are both in the chat: the visitor's messages reach both of you, ` +
				`and each of you sees what the other writes.`,
			examples: []string{`#i fiona.b`, `#i fiona@example.com can you check the order?`},
			parse:    parseInvite,
		},
		{
			name: "info", group: GroupChat, where: InChat, access: ChatMembers,
			usage:   `#info`,
			summary: "show the visitor's details",
			description: `Email, phone, country, browser, operating system, IP address, the page where the chat started, ` +
				`department, question, chat id, start time, and when the visitor was last seen.`,
			examples: []string{`#info`},
			parse:    parseNone,
		},
		{
			name: "b", aliases: []string{"block"}, group: GroupChat, where: InChat, changes: true,
			usage:   `#b REASON`,
			summary: "block the visitor's IP address and end the chat",
			description: `Blocks the visitor's IP address and ends the chat; new chats from that address are refused ` +
				`until an administrator removes the block. The reason is required and is kept with the block, ` +
				`with who blocked and when.`,
			examples: []string{`#b abusive language`},
			parse:    parseRequiredText("a reason"),
		},
		{
			name: "p", aliases: []string{"push"}, group: GroupChat, where: InChat, changes: true,
			usage:   `#p URL`,
			summary: "push a web page to the visitor",
			description: `Sends a web address to the visitor, whose chat window asks before opening it; ` +
				`you are told whether the page was opened. Only http and https addresses; ` +
				`an address typed without http:// or https:// gets https://.`,
			examples: []string{`#p https://example.com/pricing`, `#p example.com/help`},
			parse:    parsePush,
		},
		{
			name: "m", aliases: []string{"members"}, group: GroupChat, where: InChat, access: ChatMembers,
			usage:       `#m`,
			summary:     "list the chat's members",
			description: `The visitor and every agent in the chat, each shown online or offline.`,
			examples:    []string{`#m`},
			parse:       parseNone,
		},
		{
			name: "e", aliases: []string{"end"}, group: GroupChat, where: InChat, changes: true,
			usage:   `#e [30|45|60|90|cancel]`,
			summary: "end the chat now, or after 30 to 90 seconds of visitor silence",
			description: `#e ends the chat now. #e 30, 45, 60 or 90 ends it after that many seconds in which the visitor ` +
				`does nothing: both sides are told, and anything the visitor types or sends interrupts the timer. ` +
				`#e cancel stops a pending end.`,
			examples: []string{`#e`, `#e 30`, `#e cancel`},
			parse:    parseEnd,
		},

		// Misc: in a visitor's chat window (#help everywhere).
		{
			name: "an", group: GroupMisc, where: InChat, changes: true,
			usage:   `#an NOTE`,
			summary: "add a note to the visitor",
			description: `Adds a note to the visitor's record: the rest of the message, which may span lines. ` +
				`Notes stay with the visitor across chats and are never shown to the visitor.`,
			examples: []string{`#an prefers a call back in the morning`},
			parse:    parseRequiredText("a note"),
		},
		{
			name: "n", aliases: []string{"notes"}, group: GroupMisc, where: InChat, access: ChatMembers,
			usage:       `#n`,
			summary:     "list the visitor's notes",
			description: `Every note on the visitor, with its date and author.`,
			examples:    []string{`#n`},
			parse:       parseNone,
		},
		{
			name: "h", aliases: []string{"history"}, group: GroupMisc, where: InChat, access: ChatMembers,
			usage:   `#h [prev]`,
			summary: "replay this chat, or the visitor's previous chat",
			description: `Sends this chat's messages again, one message each, with the author in parentheses and the time. ` +
				`#h prev replays the visitor's previous chat.`,
			examples: []string{`#h`, `#h prev`},
			parse:    parseHistory,
		},
		{
			name: "d", aliases: []string{"departments"}, group: GroupMisc, where: InChat, access: ChatMembers,
			usage:       `#d`,
			summary:     "list the departments and their online agents",
			description: `Every department, with the number of its agents who are online.`,
			examples:    []string{`#d`},
			parse:       parseNone,
		},
		{
			name: "r", group: GroupMisc, where: InChat, changes: true,
			usage:   `#r [SHORTCUT]`,
			summary: "list the canned responses, or send one",
			description: `#r lists the canned responses of the chat's department, by category. ` +
				`#r SHORTCUT sends that response to the visitor, with {visitor.name} and {agent.name} filled in.`,
			examples: []string{`#r`, `#r hello`},
			parse:    parseCanned,
		},
		{
			name: "tpl", aliases: []string{"template"}, group: GroupMisc, where: InChat, changes: true,
			usage:   `#tpl  or  #tpl NAME [ARG…]`,
			summary: "list the WhatsApp templates, or send one",
			description: `#tpl lists the approved message templates of the chat's WhatsApp channel: name, language, ` +
				`how many arguments each takes, and its text. #tpl NAME ARG… sends template NAME to the customer ` +
				`with its {{1}}, {{2}}… filled in order by the arguments; an argument with spaces goes in quotes ` +
				`("…", “…” or 「…」), and the chat shows the text as sent. WhatsApp takes only templates once the ` +
				`customer last wrote more than 24 hours ago; a template may be sent at any time. ` +
				`Only in a WhatsApp customer's chat.`,
			examples: []string{`#tpl`, `#tpl order_update "Ana Lima" 4711`, `#tpl follow_up Ana`},
			parse:    parseTemplate,
		},
		{
			name: "help", group: GroupMisc, where: InChat | AtDesk, access: AnyAgent,
			usage:   `#help [TOPIC]`,
			summary: "list the commands; #help all for details",
			description: `#help lists the commands that work where you type it, one line each. ` +
				`#help all shows every command with its description and examples; ` +
				`#help and a group or a command (#help misc, #help e) shows only that. ` +
				`Works in a visitor chat and on the Desk contact.`,
			examples: []string{`#help`, `#help all`, `#help misc`, `#help e`},
			parse:    parseHelp,
		},

		// Support: helpdesk tickets, in a visitor's chat window.
		{
			name: "support.info", group: GroupSupport, where: InChat, access: ChatMembers, helpdesk: true,
			usage:   `#support info`,
			summary: "show the visitor's support record",
			description: `The visitor's contact, account, SLA, contract and contact owner, ` +
				`and how many tickets they have, in total and overdue.`,
			examples: []string{`#support info`},
			parse:    parseNone,
		},
		{
			name: "support.ticketinfo", group: GroupSupport, where: InChat, access: ChatMembers, helpdesk: true,
			usage:       `#support ticketinfo`,
			summary:     "show the ticket linked to this chat",
			description: `Number, subject, status, priority, classification and department of the ticket linked to this chat.`,
			examples:    []string{`#support ticketinfo`},
			parse:       parseNone,
		},
		{
			name: "support.recentreq", group: GroupSupport, where: InChat, access: ChatMembers, helpdesk: true,
			usage:       `#support recentreq`,
			summary:     "list the visitor's recent tickets",
			description: `The visitor's five most recent tickets.`,
			examples:    []string{`#support recentreq`},
			parse:       parseNone,
		},
		{
			name: "support.conasreq", group: GroupSupport, where: InChat, changes: true, helpdesk: true,
			usage:   `#support conasreq [PSC] ["DEPARTMENT"]`,
			summary: "convert the chat to a ticket (P priority, S status, C classification)",
			description: `Makes the chat a ticket, with the transcript so far; the rest is added when the chat ends. ` +
				`PSC is three digits, for priority, status and classification: ` + pscCodes() + `. ` +
				`112 is low, on hold, problem. Spaces between the digits are allowed; no digits means 000. ` +
				`The ticket goes to the chat's department; where that department's desk mode is choose, ` +
				`a department name in quotes files it in that department instead. ` +
				`The visitor's email address is needed first (#support setemail).`,
			examples: []string{`#support conasreq`, `#support conasreq 112`, `#support conasreq 3 2 4`, `#support conasreq 112 "Billing"`},
			parse:    parseConAsReq,
		},
		{
			name: "support.searchreq", group: GroupSupport, where: InChat, access: ChatMembers, helpdesk: true,
			usage:   `#support searchreq TERM`,
			summary: "search the tickets",
			description: `Searches the tickets by email address, ticket number, visitor name or words of the subject; ` +
				`shows up to 10 matches.`,
			examples: []string{`#support searchreq invoice`, `#support searchreq fiona@example.com`},
			parse:    parseRequiredText("a search term (email, ticket number, name or subject words)"),
		},
		{
			name: "support.associate", group: GroupSupport, where: InChat, changes: true, helpdesk: true,
			usage:   `#support associate ID`,
			summary: "add this chat to an existing ticket",
			description: `Links this chat to an existing ticket, whose number ID is given with or without #: ` +
				`the transcript is added to that ticket.`,
			examples: []string{`#support associate 123`, `#support associate #123`},
			parse:    parseNumberArg("ticket number"),
		},
		{
			name: "support.setreqstatus", group: GroupSupport, where: InChat, changes: true, helpdesk: true,
			usage:       `#support setreqstatus open|close`,
			summary:     "reopen or close the ticket linked to this chat",
			description: `open reopens the ticket linked to this chat; close closes it.`,
			examples:    []string{`#support setreqstatus close`, `#support setreqstatus open`},
			parse:       parseKeyword("status", "", "open", "close"),
		},
		{
			name: "support.setemail", group: GroupSupport, where: InChat, changes: true, helpdesk: true,
			usage:       `#support setemail EMAIL`,
			summary:     "record the visitor's email address",
			description: `Records the visitor's email address; a chat needs one before it can become a ticket.`,
			examples:    []string{`#support setemail visitor@example.com`},
			parse:       parseEmail,
		},

		// CRM: in a visitor's chat window.
		{
			name: "crm.info", group: GroupCRM, where: InChat, access: ChatMembers, helpdesk: true,
			usage:       `#crm info`,
			summary:     "show the visitor's contact record",
			description: `The visitor's contact record: name, email, phone, account and owner.`,
			examples:    []string{`#crm info`},
			parse:       parseNone,
		},

		// Desk: on the Desk contact.
		{
			name: "q", aliases: []string{"queue"}, group: GroupDesk, where: AtDesk,
			usage:       `#q`,
			summary:     "list the chats waiting for an agent",
			description: `Every waiting chat: its number, the visitor's name, the department, and how long it has waited.`,
			examples:    []string{`#q`},
			parse:       parseNone,
		},
		{
			name: "chats", group: GroupDesk, where: AtDesk,
			usage:   `#chats [` + strings.Join(chatViews, "|") + `] [replied|unreplied] [CHANNEL]`,
			summary: "list chats by view, reply state and channel (default: mine)",
			description: `Lists the newest 20 chats of a view, each with its channel, and says how many more there are. ` +
				`The views: mine (the chats you are in; the default), unassigned (waiting or offered), active, ` +
				`live (every chat that goes on), ended (ended or missed), blocked (the chats of blocked customers, ` +
				`and chats that ended with a block), all. ` +
				`replied keeps the chats where an agent wrote last, unreplied those where the visitor or customer did; ` +
				`without a view they list the live chats. ` +
				`CHANNEL keeps the chats of one channel, by its name, or of a type: ` +
				`whatsapp, telegram, line, messenger, instagram, or web for the web visitors' chats.`,
			examples: []string{`#chats`, `#chats unreplied`, `#chats all`, `#chats mine whatsapp`, `#chats ended unreplied wa-sales`, `#chats blocked web`},
			parse:    parseChats,
		},
		{
			name: "take", group: GroupDesk, where: AtDesk, changes: true,
			usage:       `#take N`,
			summary:     "accept a waiting chat",
			description: `Accepts a waiting chat as if it had been offered to you. N is the chat number shown by #q (1042 or #1042).`,
			examples:    []string{`#take 1042`, `#take #1042`},
			parse:       parseNumberArg("chat number"),
		},
		{
			name: "reopen", group: GroupDesk, where: AtDesk, changes: true,
			usage:   `#reopen N`,
			summary: "reopen an ended chat with an IM customer and take it",
			description: `Makes chat number N, ended or missed, with a WhatsApp, Telegram, LINE, Messenger or Instagram customer, ` +
				`active again with you as its owner: it comes back to your roster with its last messages. ` +
				`Refused for a web visitor's chat (the visitor has left the page), for a blocked customer, ` +
				`while the customer is in another live chat, and on Messenger and Instagram more than 24 hours ` +
				`after the customer last wrote. On WhatsApp after 24 hours only templates (#tpl) reach the customer ` +
				`until they write again.`,
			examples: []string{`#reopen 1042`, `#reopen #1042`},
			parse:    parseNumberArg("chat number"),
		},
		{
			name: "setemail", group: GroupDesk, where: AtDesk, changes: true,
			usage:   `#setemail N EMAIL`,
			summary: "record the email address of chat N's visitor, live or over",
			description: `Records the visitor's email address on chat number N, live, ended or missed: ` +
				`a chat needs one before it can become a ticket.`,
			examples: []string{`#setemail 1042 ann@example.com`},
			parse:    parseChatThen(parseEmail),
		},
		{
			name: "convert", group: GroupDesk, where: AtDesk, changes: true,
			usage:   `#convert N [PSC] ["DEPARTMENT"]`,
			summary: "make chat N a ticket, live or over",
			description: `Makes chat number N a ticket with its transcript, live, ended or missed; ` +
				`its visitor needs an email address first (#setemail). ` +
				`PSC is three digits, for priority, status and classification: ` + pscCodes() + `; no digits means 000. ` +
				`A department name in quotes files the ticket there, where the chat's department has desk mode choose.`,
			examples: []string{`#convert 1042`, `#convert 1042 112`, `#convert 1042 "Billing"`},
			parse:    parseChatThen(parseConAsReq),
		},
		{
			name: "assign", group: GroupDesk, where: AtDesk, changes: true, supervisor: true,
			usage:       `#assign N EMAIL|USERNAME`,
			summary:     "give a chat to an agent",
			description: `Gives chat number N to an agent, named by email address or username.`,
			examples:    []string{`#assign 1042 fiona.b`, `#assign #1042 fiona@example.com`},
			parse:       parseAssign,
		},
		{
			name: "monitor", group: GroupDesk, where: AtDesk, changes: true, supervisor: true,
			usage:       `#monitor N`,
			summary:     "receive a silent copy of a chat",
			description: `Sends you a copy of chat number N's messages as they happen, without joining the chat.`,
			examples:    []string{`#monitor 1042`},
			parse:       parseNumberArg("chat number"),
		},
		{
			name: "stats", group: GroupDesk, where: AtDesk,
			usage:       `#stats`,
			summary:     "show queue and chat figures",
			description: `Figures for the portal: chats waiting, active and ended, and agents online.`,
			examples:    []string{`#stats`},
			parse:       parseNone,
		},
	}
}
