package commands

import (
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse turns a message body typed at where (InChat or AtDesk) into a
// Command. The error, if any, is an *Error.
//
// The command word is case-insensitive and may be an alias ("#E 30",
// "#transfer fiona.b"); "#support" and "#crm" take a subcommand word
// ("#SUPPORT ConAsReq 1 1 2"). Arguments are separated by any white space.
// A command valid only elsewhere is refused, saying where it works, and so
// is a body that is not valid UTF-8: every string in a Command is valid.
func Parse(body string, where Where) (Command, error) {
	return std.parse(body, where)
}

func (ix *index) parse(body string, where Where) (Command, error) {
	kind, text := Classify(body)
	switch kind {
	case Plain:
		return Command{}, &Error{Msg: "not a command: a command is # and a letter, as in #help"}
	case Escaped:
		return Command{}, &Error{Msg: "not a command: ## sends a literal #"}
	}
	if !utf8.ValidString(text) {
		return Command{}, &Error{Msg: "the command is not valid UTF-8 text"}
	}
	word, rest := cut(text[1:])
	lw := strings.ToLower(word)
	var spec *Spec
	if _, ok := ix.prefixes[lw]; ok {
		sub, subRest := cut(rest)
		if sub == "" {
			return Command{}, &Error{Msg: "#" + lw + " needs a subcommand", Usage: ix.prefixUsage(lw)}
		}
		i, ok := ix.byWord[lw+"."+strings.ToLower(sub)]
		if !ok {
			return Command{}, &Error{Msg: fmt.Sprintf("#%s: %s is not a subcommand", lw, quote(sub)), Usage: ix.prefixUsage(lw)}
		}
		spec, rest = &ix.specs[i], subRest
	} else {
		i, ok := ix.byWord[lw]
		if !ok {
			return Command{}, &Error{Msg: "unknown command #" + clip(word)}
		}
		spec = &ix.specs[i]
	}
	if !spec.ValidIn(where) {
		var msg string
		switch where {
		case InChat:
			msg = " works on the Desk contact, not in a visitor chat"
		case AtDesk:
			msg = " works in a visitor chat, not on the Desk contact"
		default:
			msg = " works only in " + spec.where.String()
		}
		return Command{}, &Error{Msg: spec.Invocation() + msg, Usage: spec.usage}
	}
	cmd := Command{Name: spec.name, Raw: body}
	if err := spec.parse(&args{ix: ix, spec: spec, rest: rest, cmd: &cmd}); err != nil {
		return Command{}, err
	}
	return cmd, nil
}

// prefixUsage is the usage of a command prefix: "#support info|ticketinfo|…".
func (ix *index) prefixUsage(prefix string) string {
	var subs []string
	for _, s := range ix.specs {
		if p, sub, ok := strings.Cut(s.name, "."); ok && p == prefix {
			subs = append(subs, sub)
		}
	}
	return "#" + prefix + " " + strings.Join(subs, "|")
}

// args is the state of one argument parse: the row, the text after the
// command word(s), and the command being filled in.
type args struct {
	ix   *index
	spec *Spec
	rest string
	cmd  *Command
}

// fail returns an *Error with the row's usage line.
func (a *args) fail(format string, v ...any) error {
	return &Error{Msg: fmt.Sprintf(format, v...), Usage: a.spec.usage}
}

func (a *args) inv() string { return a.spec.Invocation() }

// word takes the next white-space-separated word ("" at the end).
func (a *args) word() string {
	tok, rest := cut(a.rest)
	a.rest = rest
	return tok
}

// tail takes the rest of the message, trimmed; newlines are kept.
func (a *args) tail() string {
	t := strings.TrimSpace(a.rest)
	a.rest = ""
	return t
}

// done refuses anything left after what the command takes.
func (a *args) done(after string) error {
	if r := strings.TrimSpace(a.rest); r != "" {
		return a.fail("%s: unexpected text after %s: %s", a.inv(), after, quote(r))
	}
	return nil
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// cut splits off the first white-space-separated word of s.
func cut(s string) (tok, rest string) {
	s = strings.TrimLeftFunc(s, isSpace)
	if i := strings.IndexFunc(s, isSpace); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// The argument parsers, one per kind of row.

func parseNone(a *args) error {
	if r := a.tail(); r != "" {
		return a.fail("%s takes no arguments, but got %s", a.inv(), quote(r))
	}
	return nil
}

// parseRequiredText takes the rest of the message, which must not be empty,
// into Text.
func parseRequiredText(what string) func(*args) error {
	return func(a *args) error {
		t := a.tail()
		if t == "" {
			return a.fail("%s needs %s", a.inv(), what)
		}
		a.cmd.Text = t
		return nil
	}
}

// parseKeyword takes one of words (case-insensitive) into Text; with no
// word, Text is def, or the command is refused if def is "".
func parseKeyword(noun, def string, words ...string) func(*args) error {
	return func(a *args) error {
		tok := a.word()
		if tok == "" {
			if def == "" {
				return a.fail("%s needs %s", a.inv(), orList(words))
			}
			a.cmd.Text = def
			return nil
		}
		lt := strings.ToLower(tok)
		for _, w := range words {
			if lt == w {
				a.cmd.Text = w
				return a.done(w)
			}
		}
		return a.fail("%s: %s is not a %s; use %s", a.inv(), quote(tok), noun, orList(words))
	}
}

// chatViews are the views of #chats; replyStates its reply filters.
var (
	chatViews   = []string{"mine", "unassigned", "active", "live", "ended", "blocked", "all"}
	replyStates = []string{"replied", "unreplied"}
)

// parseChats reads "[VIEW] [replied|unreplied] [CHANNEL]" (the filters in
// either order). Without a view it is mine, except before a reply filter:
// "#chats unreplied" lists the live chats, as it did before views took
// filters.
func parseChats(a *args) error {
	a.cmd.Text = "mine"
	tok := a.word()
	switch lt := strings.ToLower(tok); {
	case slices.Contains(chatViews, lt):
		a.cmd.Text = lt
		tok = a.word()
	case slices.Contains(replyStates, lt):
		a.cmd.Text = "live"
	}
	for ; tok != ""; tok = a.word() {
		lt := strings.ToLower(tok)
		switch {
		case slices.Contains(replyStates, lt) && a.cmd.Reply == "":
			a.cmd.Reply = lt
		case slices.Contains(replyStates, lt):
			return a.fail("%s: %s or %s, not both", a.inv(), a.cmd.Reply, lt)
		case slices.Contains(chatViews, lt):
			return a.fail("%s: one view at a time, and first: %s %s", a.inv(), a.inv(), lt)
		case a.cmd.Channel != "":
			return a.fail("%s: one channel at a time, not %s and %s", a.inv(), quote(a.cmd.Channel), quote(tok))
		case !channelWord(tok):
			return a.fail("%s: %s is not a view (%s), replied or unreplied, or a channel's name or type",
				a.inv(), quote(tok), strings.Join(chatViews, ", "))
		default:
			a.cmd.Channel = tok
		}
	}
	return nil
}

// channelWord reports whether tok can be a channel's name or type: 1 to 40
// ASCII letters, digits, "-", "_" and ".", as channel names are.
func channelWord(tok string) bool {
	if tok == "" || len(tok) > 40 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseNumberArg takes a number (chat or ticket), "1042" or "#1042".
func parseNumberArg(noun string) func(*args) error {
	return func(a *args) error {
		tok := a.word()
		if tok == "" {
			return a.fail("%s needs a %s", a.inv(), noun)
		}
		n, ok := number(tok)
		if !ok {
			return a.fail("%s: %s is not a %s", a.inv(), quote(tok), noun)
		}
		a.cmd.Number = n
		return a.done("the " + noun)
	}
}

// number reads a positive decimal number with an optional leading "#".
func number(tok string) (int64, bool) {
	t := strings.TrimPrefix(tok, "#")
	if t == "" || !allDigits(t) {
		return 0, false
	}
	n, err := strconv.ParseInt(t, 10, 64)
	return n, err == nil && n > 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func parseEnd(a *args) error {
	tok := a.word()
	switch lt := strings.ToLower(tok); {
	case tok == "":
		return nil
	case lt == "cancel":
		a.cmd.Cancel = true
		return a.done(lt)
	case allDigits(tok):
		n, err := strconv.Atoi(tok)
		if err != nil || (n != 30 && n != 45 && n != 60 && n != 90) {
			return a.fail("%s: %s is not an end delay; use 30, 45, 60 or 90", a.inv(), clip(tok))
		}
		a.cmd.Seconds = n
		return a.done(tok)
	default:
		return a.fail("%s: %s is not understood; use 30, 45, 60, 90 or cancel", a.inv(), quote(tok))
	}
}

func parseHistory(a *args) error {
	tok := a.word()
	switch strings.ToLower(tok) {
	case "":
		return nil
	case "prev":
		a.cmd.Prev = true
		return a.done("prev")
	}
	return a.fail("%s: %s is not understood; use #h or #h prev", a.inv(), quote(tok))
}

func parseCanned(a *args) error {
	a.cmd.Text = a.word()
	return a.done("the shortcut")
}

// parseTemplate reads "[NAME [ARG…]]": the template's name into Text, in
// lower case as Meta names templates, and its arguments into Args. An
// argument is a word, or text in quotes like a department name's.
func parseTemplate(a *args) error {
	name := a.word()
	if name == "" {
		return nil
	}
	if isOpenQuote(name) {
		return a.fail("%s: the template name goes without quotes", a.inv())
	}
	a.cmd.Text = strings.ToLower(name)
	for n := 1; ; n++ {
		rest := strings.TrimLeftFunc(a.rest, isSpace)
		if rest == "" {
			return nil
		}
		arg, after := cut(rest)
		if isOpenQuote(rest) {
			var closed bool
			if arg, after, closed = unquote(rest); !closed {
				return a.fail("%s: the quote is not closed: %s", a.inv(), clip(rest))
			}
			if r, _ := utf8.DecodeRuneInString(after); after != "" && !isSpace(r) {
				return a.fail("%s: put a space after the closing quote of argument %d: %s", a.inv(), n, clip(after))
			}
		}
		switch {
		case arg == "":
			return a.fail("%s: argument %d is empty", a.inv(), n)
		case strings.ContainsFunc(arg, unicode.IsControl):
			return a.fail("%s: argument %d has a line break or a control character; each argument is one line", a.inv(), n)
		}
		a.cmd.Args = append(a.cmd.Args, arg)
		a.rest = after
	}
}

func parseTransfer(a *args) error {
	rest := strings.TrimLeftFunc(a.rest, isSpace)
	if rest == "" {
		return a.fail(`%s needs an agent (email or username) or a "department"`, a.inv())
	}
	if isOpenQuote(rest) {
		name, after, closed := unquote(rest)
		if !closed {
			return a.fail("%s: the quote is not closed: %s", a.inv(), clip(rest))
		}
		if name == "" {
			return a.fail("%s: the department name is empty", a.inv())
		}
		a.cmd.Department = name
		a.cmd.Note = strings.TrimSpace(after)
		return nil
	}
	tok, after := cut(rest)
	target, ok := agent(tok)
	if !ok {
		return a.fail(`%s: %s is not an email address or a username; a department goes in quotes: "%s"`, a.inv(), quote(tok), clip(tok))
	}
	a.cmd.Target = target
	a.cmd.Note = strings.TrimSpace(after)
	return nil
}

func parseInvite(a *args) error {
	rest := strings.TrimLeftFunc(a.rest, isSpace)
	if rest == "" {
		return a.fail("%s needs an agent (email or username)", a.inv())
	}
	if isOpenQuote(rest) {
		return a.fail("%s invites an agent, not a department", a.inv())
	}
	tok, after := cut(rest)
	target, ok := agent(tok)
	if !ok {
		return a.fail("%s: %s is not an email address or a username", a.inv(), quote(tok))
	}
	a.cmd.Target = target
	a.cmd.Note = strings.TrimSpace(after)
	return nil
}

func parseAssign(a *args) error {
	tok := a.word()
	if tok == "" {
		return a.fail("%s needs a chat number and an agent (email or username)", a.inv())
	}
	n, ok := number(tok)
	if !ok {
		return a.fail("%s: %s is not a chat number", a.inv(), quote(tok))
	}
	a.cmd.Number = n
	rest := strings.TrimLeftFunc(a.rest, isSpace)
	if rest == "" {
		return a.fail("%s needs an agent (email or username) after the chat number", a.inv())
	}
	if isOpenQuote(rest) {
		return a.fail("%s gives a chat to an agent, not a department", a.inv())
	}
	tok = a.word()
	target, ok := agent(tok)
	if !ok {
		return a.fail("%s: %s is not an email address or a username", a.inv(), quote(tok))
	}
	a.cmd.Target = target
	return a.done("the agent")
}

// parseChatThen takes a chat number, then the rest with then.
func parseChatThen(then func(*args) error) func(*args) error {
	return func(a *args) error {
		tok := a.word()
		if tok == "" {
			return a.fail("%s needs a chat number first", a.inv())
		}
		n, ok := number(tok)
		if !ok {
			return a.fail("%s: %s is not a chat number", a.inv(), quote(tok))
		}
		a.cmd.Number = n
		return then(a)
	}
}

// parseConAsReq reads "[PSC] ["DEPARTMENT"]": the digit codes, then the
// department to file the ticket in, quoted like #t's.
func parseConAsReq(a *args) error {
	t := a.tail()
	if i := strings.IndexFunc(t, func(r rune) bool { return closers(r) != "" }); i >= 0 {
		name, after, closed := unquote(t[i:])
		switch {
		case !closed:
			return a.fail("%s: the quote is not closed: %s", a.inv(), clip(t[i:]))
		case name == "":
			return a.fail("%s: the department name is empty", a.inv())
		case strings.TrimSpace(after) != "":
			return a.fail("%s: %s after the department is not understood", a.inv(), quote(strings.TrimSpace(after)))
		}
		a.cmd.Department = name
		t = strings.TrimSpace(t[:i])
	}
	p, s, c, ok := parsePSC(t)
	if !ok {
		return a.fail("%s: %s is not valid: %s (example: #support conasreq 112)", a.inv(), quote(t), pscCodes())
	}
	a.cmd.Priority, a.cmd.Status, a.cmd.Classification = p, s, c
	return nil
}

func parseEmail(a *args) error {
	t := a.tail()
	if t == "" {
		return a.fail("%s needs an email address", a.inv())
	}
	addr, ok := email(t)
	if !ok {
		return a.fail("%s: %s is not an email address", a.inv(), quote(t))
	}
	a.cmd.Text = addr
	return nil
}

func parsePush(a *args) error {
	tok := a.word()
	if tok == "" {
		return a.fail("%s needs a web address", a.inv())
	}
	u, problem := normalizeURL(tok)
	if problem != "" {
		return a.fail("%s: %s", a.inv(), problem)
	}
	a.cmd.URL = u
	return a.done("the address")
}

func parseHelp(a *args) error {
	t := a.tail()
	topic, ok := a.ix.topic(t)
	if !ok {
		return a.fail("%s: %s is not a help topic; use all, %s, or a command name", a.inv(), quote(t), orList(groupNames(Groups())))
	}
	a.cmd.Text = topic
	return nil
}

// agent checks an agent reference: an email address or a username (the
// username rule of docs/AGENTS.md §1.2: 6 to 30 ASCII letters, digits, "_" and ".").
func agent(tok string) (string, bool) {
	if strings.Contains(tok, "@") {
		return email(tok)
	}
	if len(tok) < 6 || len(tok) > 30 {
		return "", false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return "", false
		}
	}
	return tok, true
}

// email checks an address with net/mail ("Fiona <f@example.com>" gives
// "f@example.com") and accepts it only if the bare address parses back to
// itself without white space (net/mail unquotes "a b"@x into a b@x).
func email(s string) (string, bool) {
	addr, err := mail.ParseAddress(s)
	if err != nil || strings.ContainsFunc(addr.Address, isSpace) {
		return "", false
	}
	again, err := mail.ParseAddress(addr.Address)
	if err != nil || again.Address != addr.Address || again.Name != "" {
		return "", false
	}
	return addr.Address, true
}

// closers returns the quote characters that close a department name opened
// with open ("" if open is not a quote). Straight and curly quotes mix, as
// phone keyboards produce either.
func closers(open rune) string {
	switch open {
	case '"':
		return "\"”"
	case '“':
		return "”“\""
	case '”':
		return "”"
	case '„':
		return "“”"
	case '«':
		return "»"
	case '「':
		return "」"
	case '『':
		return "』"
	case '＂':
		return "＂"
	}
	return ""
}

func isOpenQuote(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return closers(r) != ""
}

// unquote splits a quoted name off s, which starts with an opening quote:
// the trimmed name, the text after the closing quote, and whether there
// was one.
func unquote(s string) (name, after string, closed bool) {
	open, n := utf8.DecodeRuneInString(s)
	body := s[n:]
	i := strings.IndexAny(body, closers(open))
	if i < 0 {
		return "", "", false
	}
	_, m := utf8.DecodeRuneInString(body[i:])
	return strings.TrimSpace(body[:i]), body[i+m:], true
}

func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func groupNames(gs []Group) []string {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = string(g)
	}
	return names
}

// maxEcho is how much of the input an error message repeats.
const maxEcho = 40

// clip makes a piece of input fit to be repeated in an error message: valid
// UTF-8, control characters as spaces, at most maxEcho characters.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxEcho {
			b.WriteString("…")
			break
		}
		switch {
		case unicode.IsControl(r):
			r = ' '
		case r == 0xFFFE || r == 0xFFFF:
			r = '\uFFFD'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// quote is clip in double quotes.
func quote(s string) string { return `"` + clip(s) + `"` }
