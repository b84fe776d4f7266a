package xmppd

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"jabberdesk/bridge"
	"jabberdesk/store"
)

// Ad-hoc commands (XEP-0050) on the desk contact PORTAL|desk@DOMAIN, with
// data forms (XEP-0004): the desk queue, taking a waiting chat, and for
// supervisors assigning and monitoring chats. They are the desk hash
// commands #q, #take, #assign and #monitor for clients that show forms,
// and they call the same bridge functions; nothing of the desk's logic is
// repeated here.
//
// The commands with a form take two stages: "execute" answers with the
// form and a sessionid; "complete" (or "execute" again) with the
// submitted form carries the command out. Each XMPP session keeps its
// commands in progress (at most adhocMaxSessions, for adhocSessionTTL
// each); a completed or canceled command is forgotten at once.

// nsDataForms is the namespace of XEP-0004 data forms.
const nsDataForms = "jabber:x:data"

const (
	adhocMaxSessions = 16               // commands in progress per XMPP session
	adhocSessionTTL  = 10 * time.Minute // a command in progress left alone this long expires
	adhocMaxOptions  = 100              // chats listed in a form
	adhocQuestionMax = 60               // runes of a visitor's question in a label
)

// The desk's command nodes.
const (
	adhocQueue   = "queue"
	adhocTake    = "take"
	adhocAssign  = "assign"
	adhocMonitor = "monitor"
)

// adhocCommand is one command of the desk's command list.
type adhocCommand struct {
	node, name string
	supervisor bool   // only supervisors (and admins) may run it
	denied     string // what an agent without the role is told
}

// adhocCommands is the desk's command list, in the order it is shown.
var adhocCommands = []adhocCommand{
	{node: adhocQueue, name: "Waiting chats"},
	{node: adhocTake, name: "Take a waiting chat"},
	{node: adhocAssign, name: "Assign a chat", supervisor: true, denied: "Only supervisors can assign chats."},
	{node: adhocMonitor, name: "Monitor a chat", supervisor: true, denied: "Only supervisors can monitor chats."},
}

func findAdhoc(node string) (adhocCommand, bool) {
	for _, c := range adhocCommands {
		if c.node == node {
			return c, true
		}
	}
	return adhocCommand{}, false
}

func (c adhocCommand) allowed(r store.Role) bool {
	return !c.supervisor || r.AtLeast(store.RoleSupervisor)
}

// errForbiddenCommand answers a command the agent's role does not allow
// (XEP-0050 §4.6).
var errForbiddenCommand = stanzaError{Type: "auth", Cond: "forbidden"}

// deskDiscoFeatures are the features the desk adds to its disco#info:
// it runs ad-hoc commands with data forms. A server without a desk has
// no desk commands.
func (srv *Server) deskDiscoFeatures() []string {
	if !srv.withDesk {
		return nil
	}
	return []string{nsCommands, nsDataForms}
}

// adhocItems is the desk's answer to a disco#items get (el) on the node
// http://jabber.org/protocol/commands (XEP-0050 §2.2): the <query/> to
// put in the result, listing the commands this agent may run.
func (s *session) adhocItems(el *Element, t target) *Element {
	q := NewElement(nsDiscoIt, "query", "node", nsCommands)
	if !s.srv.withDesk {
		return q
	}
	for _, c := range adhocCommands {
		if c.allowed(s.currentAgent().Role) {
			q.Add(NewElement(nsDiscoIt, "item", "jid", t.bare, "node", c.node, "name", c.name))
		}
	}
	return q
}

// adhocInfo answers a disco#info get with a node on the desk (XEP-0050
// §2.3): the command list node, or one command's node.
func (s *session) adhocInfo(el, payload *Element, t target) error {
	if t.kind != targetDesk || !s.srv.withDesk {
		return errItemNotFound
	}
	node := payload.Get("node")
	q := NewElement(nsDiscoInf, "query", "node", node)
	if node == nsCommands {
		q.Add(NewElement(nsDiscoInf, "identity", "category", "automation", "type", "command-list", "name", "Desk commands"))
	} else {
		c, ok := findAdhoc(node)
		if !ok || !c.allowed(s.currentAgent().Role) {
			return errItemNotFound.withText("the desk has no command " + strconv.Quote(node))
		}
		q.Add(NewElement(nsDiscoInf, "identity", "category", "automation", "type", "command-node", "name", c.name))
		q.Add(NewElement(nsDiscoInf, "feature", "var", nsCommands))
		q.Add(NewElement(nsDiscoInf, "feature", "var", nsDataForms))
	}
	s.send(iqResult(el).Add(q))
	return nil
}

// adhocIQ runs a desk command: an IQ set (el) whose payload is
// <command xmlns='http://jabber.org/protocol/commands'/>.
func (s *session) adhocIQ(el, payload *Element, t target) error {
	if t.kind != targetDesk {
		return errServiceUnavailable
	}
	if el.Get("type") != "set" {
		return errBadRequest.withText("ad-hoc commands are run with an IQ set")
	}
	if !s.srv.withDesk {
		return errServiceUnavailable.withText("the desk is not available on this server")
	}
	node := payload.Get("node")
	cmd, ok := findAdhoc(node)
	if !ok {
		return errItemNotFound.withText("the desk has no command " + strconv.Quote(node))
	}
	if !cmd.allowed(s.currentAgent().Role) {
		return errForbiddenCommand.withText(cmd.denied)
	}
	action := payload.Get("action")
	switch action {
	case "":
		action = "execute"
	case "execute", "complete", "cancel", "next", "prev":
	default:
		return s.adhocError(el, errBadRequest.withText("unknown action "+strconv.Quote(action)+
			": use execute, complete or cancel"), "malformed-action")
	}
	sid := payload.Get("sessionid")
	if sid == "" {
		if action != "execute" {
			return s.adhocError(el, errBadRequest.withText("the "+action+" action needs the sessionid of a command in progress"), "bad-sessionid")
		}
		return s.adhocStart(el, cmd)
	}
	now := time.Now()
	if !s.adhocTouch(sid, node, now) {
		return s.adhocError(el, stanzaError{Type: "cancel", Cond: "not-allowed",
			Text: "this command is no longer in progress (completed, canceled or expired): execute it again"}, "session-expired")
	}
	form := payload.Child(nsDataForms, "x")
	if action == "cancel" || form != nil && form.Get("type") == "cancel" {
		s.adhocDrop(sid)
		s.send(adhocResponse(el, node, sid, "canceled"))
		return nil
	}
	if action == "next" || action == "prev" {
		return s.adhocError(el, errBadRequest.withText("this command has a single form: complete it or cancel"), "bad-action")
	}
	note, err := s.adhocComplete(cmd, form)
	var bad badPayload
	switch {
	case errors.As(err, &bad):
		// The command stays in progress: the form may be sent again.
		return s.adhocError(el, errBadRequest.withText(string(bad)), "bad-payload")
	case err != nil:
		s.adhocDrop(sid)
		return err
	}
	s.adhocDrop(sid)
	s.send(adhocResponse(el, node, sid, "completed", note.element()))
	return nil
}

// adhocStart runs the first stage of a command: the queue completes at
// once; the others answer with their form, unless there is nothing to
// choose from.
func (s *session) adhocStart(el *Element, cmd adhocCommand) error {
	var form *Element
	var note adhocNote
	var err error
	switch cmd.node {
	case adhocQueue:
		form, note = s.adhocQueueResult()
	case adhocTake:
		form, note = s.adhocTakeForm()
	case adhocAssign, adhocMonitor:
		form, note, err = s.adhocChatForm(cmd.node == adhocAssign)
	}
	if err != nil {
		return err
	}
	if cmd.node == adhocQueue || form == nil {
		var n *Element
		if note.text != "" {
			n = note.element()
		}
		s.send(adhocResponse(el, cmd.node, "once-"+randomID(), "completed", form, n))
		return nil
	}
	sid := s.adhocBegin(cmd.node, time.Now())
	s.send(adhocResponse(el, cmd.node, sid, "executing",
		NewElement(nsCommands, "actions", "execute", "complete").Add(NewElement(nsCommands, "complete")),
		form,
	))
	return nil
}

// adhocComplete carries out a command with its submitted form. Refusals
// of the desk come back as an error note; bad input as a badPayload.
func (s *session) adhocComplete(cmd adhocCommand, form *Element) (adhocNote, error) {
	if form == nil {
		return adhocNote{}, badPayload("complete the command with its form (a jabber:x:data form of type submit)")
	}
	if typ := form.Get("type"); typ != "submit" {
		return adhocNote{}, badPayload("the form must be of type submit, not " + strconv.Quote(typ))
	}
	number, err := formChatNumber(form)
	if err != nil {
		return adhocNote{}, err
	}
	ctx := s.ctx()
	e, a := s.srv.desk, s.agentInfo()
	var reply, raw string
	switch cmd.node {
	case adhocTake:
		raw = fmt.Sprintf("#take %d", number)
		if err = e.Take(ctx, s.agent.Portal, a, number); err == nil {
			reply = fmt.Sprintf("You took chat #%d; it is in your roster under Visitors.", number)
		}
	case adhocAssign:
		who, ok := formValue(form, "agent")
		if !ok || who == "" {
			return adhocNote{}, badPayload("choose the agent to assign the chat to (field agent)")
		}
		raw = fmt.Sprintf("#assign %d %s", number, who)
		reply, err = e.Assign(ctx, s.agent.Portal, a, number, who)
	case adhocMonitor:
		raw = fmt.Sprintf("#monitor %d", number)
		reply, err = e.Monitor(ctx, s.agent.Portal, a, number)
	default:
		return adhocNote{}, errItemNotFound
	}
	note := adhocNote{typ: "info", text: reply}
	var ce *bridge.CommandError
	switch {
	case errors.As(err, &ce):
		note = adhocNote{typ: "error", text: ce.Msg}
	case err != nil:
		return adhocNote{}, err
	}
	// Audited as the desk audits the hash commands.
	if aerr := s.srv.store.AuditAgentAction(ctx, s.agent.Portal, a.Key, number, raw+" (ad-hoc command)", note.text); aerr != nil {
		s.log.Error("audit of a desk command failed", "command", raw, "err", aerr)
	}
	return note, nil
}

// adhocQueueResult is the queue: a result form with a row per waiting
// chat, or the desk's "nobody waits" text.
func (s *session) adhocQueueResult() (*Element, adhocNote) {
	q := s.srv.desk.Queue(s.agent.Portal)
	if len(q) == 0 {
		return nil, adhocNote{typ: "info", text: s.srv.desk.QueueText(s.agent.Portal)}
	}
	form := NewElement(nsDataForms, "x", "type", "result").Add(
		NewElement(nsDataForms, "title").AddText(fmt.Sprintf("Waiting chats (%d)", len(q))))
	reported := NewElement(nsDataForms, "reported")
	for _, f := range [][2]string{{"chat", "Chat"}, {"visitor", "Visitor"}, {"department", "Department"},
		{"waiting", "Waiting"}, {"question", "Question"}} {
		reported.Add(NewElement(nsDataForms, "field", "var", f[0], "label", f[1]))
	}
	form.Add(reported)
	for _, c := range q {
		item := NewElement(nsDataForms, "item")
		for _, f := range [][2]string{
			{"chat", "#" + strconv.FormatInt(c.Number, 10)},
			{"visitor", c.Visitor},
			{"department", c.Department},
			{"waiting", c.Waiting.Round(time.Second).String()},
			{"question", c.Question},
		} {
			item.Add(NewElement(nsDataForms, "field", "var", f[0]).Add(NewElement(nsDataForms, "value").AddText(f[1])))
		}
		form.Add(item)
	}
	return form, adhocNote{}
}

// adhocTakeForm asks which waiting chat to take; with none waiting it
// says so instead.
func (s *session) adhocTakeForm() (*Element, adhocNote) {
	q := s.srv.desk.Queue(s.agent.Portal)
	if len(q) == 0 {
		return nil, adhocNote{typ: "info", text: s.srv.desk.QueueText(s.agent.Portal)}
	}
	var opts []formOption
	for _, c := range q {
		opts = append(opts, formOption{value: strconv.FormatInt(c.Number, 10), label: chatLabel(c.Number, c.Visitor, c.Department, c.Question)})
		if len(opts) == adhocMaxOptions {
			break
		}
	}
	return NewElement(nsDataForms, "x", "type", "form").Add(
		NewElement(nsDataForms, "title").AddText("Take a waiting chat"),
		NewElement(nsDataForms, "instructions").AddText("Choose the chat to take (longest waiting first). It becomes yours as with #take NUMBER."),
		listSingle("chat", "Chat", opts[0].value, opts),
	), adhocNote{}
}

// adhocChatForm asks which live chat to assign (and to whom) or to
// monitor.
func (s *session) adhocChatForm(assign bool) (*Element, adhocNote, error) {
	ctx := s.ctx()
	var chats []store.Chat
	for _, st := range []store.ChatStatus{store.ChatWaiting, store.ChatOffered, store.ChatActive} {
		cs, err := s.srv.store.Chats(ctx, s.agent.Portal, st, adhocMaxOptions)
		if err != nil {
			return nil, adhocNote{}, err
		}
		chats = append(chats, cs...)
	}
	if len(chats) == 0 {
		return nil, adhocNote{typ: "info", text: "There are no live chats."}, nil
	}
	sort.Slice(chats, func(i, j int) bool { return chats[i].Number < chats[j].Number })
	if len(chats) > adhocMaxOptions {
		chats = chats[:adhocMaxOptions]
	}
	var opts []formOption
	for _, c := range chats {
		label := chatLabel(c.Number, c.VisitorName, c.Department, c.Question) + " · " + string(c.Status)
		var with []string
		for _, a := range c.Agents {
			if a.LeftAt == nil {
				with = append(with, a.Name)
			}
		}
		if len(with) > 0 {
			label += ": " + strings.Join(with, ", ")
		}
		opts = append(opts, formOption{value: strconv.FormatInt(c.Number, 10), label: label})
	}
	form := NewElement(nsDataForms, "x", "type", "form")
	if !assign {
		return form.Add(
			NewElement(nsDataForms, "title").AddText("Monitor a chat"),
			NewElement(nsDataForms, "instructions").AddText("Choose the chat to monitor silently: you get a copy of every message; the visitor does not see you."),
			listSingle("chat", "Chat", "", opts),
		), adhocNote{}, nil
	}
	dir, err := s.srv.dir.get(ctx, s.agent.Portal)
	if err != nil {
		return nil, adhocNote{}, err
	}
	var agents []formOption
	for _, a := range dir.agents {
		agents = append(agents, formOption{value: a.Key(), label: a.DisplayName + " (" + a.Username + ")"})
	}
	return form.Add(
		NewElement(nsDataForms, "title").AddText("Assign a chat"),
		NewElement(nsDataForms, "instructions").AddText("Choose the chat and the agent who takes charge of it: a waiting chat is given to them, an active one is taken over."),
		listSingle("chat", "Chat", "", opts),
		listSingle("agent", "Agent", "", agents),
	), adhocNote{}, nil
}

// chatLabel names a chat in a form: "#1042 Ann (Support) — question".
func chatLabel(number int64, visitor, dept, question string) string {
	label := "#" + strconv.FormatInt(number, 10) + " " + visitor
	if dept != "" {
		label += " (" + dept + ")"
	}
	if question != "" {
		label += " — " + clip(question, adhocQuestionMax)
	}
	return label
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// badPayload is submitted form input the command cannot use
// (XEP-0050 §4.6 bad-payload).
type badPayload string

func (e badPayload) Error() string { return string(e) }

// formChatNumber reads the chat field of a submitted form.
func formChatNumber(form *Element) (int64, error) {
	v, ok := formValue(form, "chat")
	if !ok || v == "" {
		return 0, badPayload("choose a chat (field chat)")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, badPayload("the chat must be a chat number like 1042, not " + strconv.Quote(v))
	}
	return n, nil
}

// formValue returns the (first) value of a submitted form's field.
func formValue(form *Element, name string) (string, bool) {
	for _, f := range form.Children() {
		if f.Space == nsDataForms && f.Local == "field" && f.Get("var") == name {
			return strings.TrimSpace(f.ChildText(nsDataForms, "value")), true
		}
	}
	return "", false
}

// formOption is one option of a list field.
type formOption struct{ value, label string }

// listSingle is a required list-single field; def is its default value.
func listSingle(name, label, def string, opts []formOption) *Element {
	f := NewElement(nsDataForms, "field", "var", name, "type", "list-single", "label", label).
		Add(NewElement(nsDataForms, "required"))
	if def != "" {
		f.Add(NewElement(nsDataForms, "value").AddText(def))
	}
	for _, o := range opts {
		f.Add(NewElement(nsDataForms, "option", "label", o.label).Add(NewElement(nsDataForms, "value").AddText(o.value)))
	}
	return f
}

// adhocNote is the <note/> of a command's response.
type adhocNote struct{ typ, text string }

func (n adhocNote) element() *Element {
	return NewElement(nsCommands, "note", "type", n.typ).AddText(n.text)
}

// adhocResponse is the result of a command IQ: a <command/> with the
// children given.
func adhocResponse(el *Element, node, sid, status string, children ...*Element) *Element {
	cmd := NewElement(nsCommands, "command", "node", node, "sessionid", sid, "status", status)
	for _, c := range children {
		if c != nil {
			cmd.Add(c)
		}
	}
	return iqResult(el).Add(cmd)
}

// adhocError answers el with a stanza error that carries an ad-hoc
// commands condition (XEP-0050 §4.6) such as <bad-payload/>.
func (s *session) adhocError(el *Element, se stanzaError, cond string) error {
	r := errorReply(el, se)
	if r == nil {
		return nil
	}
	if e := r.Child(nsClient, "error"); e != nil {
		e.Add(NewElement(nsCommands, cond))
	}
	s.send(r)
	return nil
}

// adhocPending are a session's ad-hoc commands in progress, oldest
// first; they live in the session (guarded by its mutex) and go with it.
type adhocPending struct {
	list []adhocRunning
}

type adhocRunning struct {
	id, node string
	last     time.Time
}

// expireLocked drops the commands left alone too long.
func (p *adhocPending) expireLocked(now time.Time) {
	live := p.list[:0]
	for _, c := range p.list {
		if now.Sub(c.last) < adhocSessionTTL {
			live = append(live, c)
		}
	}
	clear(p.list[len(live):])
	p.list = live
}

// adhocBegin records a new command in progress and returns its sessionid;
// the oldest is dropped when there are too many.
func (s *session) adhocBegin(node string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.adhoc
	p.expireLocked(now)
	if len(p.list) >= adhocMaxSessions {
		p.list = append(p.list[:0], p.list[len(p.list)-adhocMaxSessions+1:]...)
	}
	id := node + "-" + randomID()
	p.list = append(p.list, adhocRunning{id: id, node: node, last: now})
	return id
}

// adhocTouch reports whether the command with the sessionid is in progress
// on node, and keeps it alive.
func (s *session) adhocTouch(id, node string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.adhoc
	p.expireLocked(now)
	for i := range p.list {
		if p.list[i].id == id {
			if p.list[i].node != node {
				return false
			}
			p.list[i].last = now
			return true
		}
	}
	return false
}

// adhocDrop forgets a command that completed or was canceled.
func (s *session) adhocDrop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.adhoc
	for i, c := range p.list {
		if c.id == id {
			p.list = append(p.list[:i], p.list[i+1:]...)
			return
		}
	}
}
