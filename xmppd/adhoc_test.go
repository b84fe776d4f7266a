package xmppd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// deskEnv is a testEnv whose server runs the bridge. Besides fiona.b and
// george.w it has irene.k, a supervisor; fiona.b and irene.k are in the
// department Support.
type deskEnv struct {
	*testEnv
	bridge *bridge.Engine
}

func newDeskEnv(t *testing.T) *deskEnv {
	t.Helper()
	var e *bridge.Engine
	env := newTestEnv(t, func(c *Config) {
		e = bridge.New(bridge.Config{Domain: testDomain}, c.Store, c.Logger)
		c.Desk = e
	})
	ctx := context.Background()
	e.Attach(env.srv)
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	if _, err := env.st.AddDepartment(ctx, "acme", "Support", "", "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: "irene.k", DisplayName: "Irene",
		Email: "irene@acme.example", Role: store.RoleSupervisor, Departments: []string{"Support"}, Password: testPassword}, "test"); err != nil {
		t.Fatal(err)
	}
	depts := []string{"Support"}
	if _, err := env.st.UpdateAgent(ctx, "acme", "fiona.b", store.AgentUpdate{Departments: &depts}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.AgentsChanged(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	return &deskEnv{testEnv: env, bridge: e}
}

// newChat starts a visitor chat in Support (someone of Support must be
// online) and returns its number.
func (e *deskEnv) newChat(name, question string) int64 {
	e.t.Helper()
	started, err := e.bridge.Create(context.Background(), bridge.NewChat{Portal: "acme", Name: name, Department: "Support", Question: question, IP: "203.0.113.7"})
	if err != nil {
		e.t.Fatal(err)
	}
	if started.Status == string(store.ChatMissed) {
		e.t.Fatalf("chat #%d was missed: nobody of Support online", started.VisitorNumber)
	}
	return started.VisitorNumber
}

const deskJID = "acme|desk@" + testDomain

// runCommand sends a command IQ to the desk and returns the answer.
func runCommand(c *xmpptest.Client, id, node, action, sid, payload string) xmpptest.Node {
	attrs := " node='" + node + "'"
	if action != "" {
		attrs += " action='" + action + "'"
	}
	if sid != "" {
		attrs += " sessionid='" + sid + "'"
	}
	c.Send("<iq type='set' id='" + id + "' to='" + deskJID + "'><command xmlns='http://jabber.org/protocol/commands'" + attrs + ">" +
		payload + "</command></iq>")
	return c.Expect("answer to "+id, xmpptest.IQ(id))
}

// submitForm is a submitted data form with the fields given as var, value
// pairs.
func submitForm(fields ...string) string {
	var b strings.Builder
	b.WriteString("<x xmlns='jabber:x:data' type='submit'>")
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, "<field var='%s'><value>%s</value></field>", fields[i], fields[i+1])
	}
	b.WriteString("</x>")
	return b.String()
}

// commandOf returns the <command/> of a result, failing on anything else.
func commandOf(t *testing.T, res xmpptest.Node, status string) xmpptest.Node {
	t.Helper()
	cmd, ok := res.Child("command")
	if res.Attr("type") != "result" || !ok || cmd.XMLName.Space != nsCommands {
		t.Fatalf("want a command result, got %+v", res)
	}
	if cmd.Attr("status") != status {
		t.Fatalf("command status %q, want %q: %+v", cmd.Attr("status"), status, cmd)
	}
	if cmd.Attr("sessionid") == "" {
		t.Fatalf("command response without a sessionid: %+v", cmd)
	}
	return cmd
}

// noteOf returns the type and text of a command's note.
func noteOf(t *testing.T, cmd xmpptest.Node) (string, string) {
	t.Helper()
	n, ok := cmd.Child("note")
	if !ok {
		t.Fatalf("command without a note: %+v", cmd)
	}
	return n.Attr("type"), n.Text
}

// wantError checks an IQ error: its defined condition, the ad-hoc
// condition (if any) and that it explains itself (text, when wantText).
func wantError(t *testing.T, res xmpptest.Node, cond, adhocCond string, wantText bool) {
	t.Helper()
	e, ok := res.Child("error")
	if res.Attr("type") != "error" || !ok {
		t.Fatalf("want an error %s, got %+v", cond, res)
	}
	if len(e.Find(cond)) != 1 {
		t.Fatalf("want condition %s, got %+v", cond, e)
	}
	if adhocCond != "" {
		if c := e.Find(adhocCond); len(c) != 1 || c[0].XMLName.Space != nsCommands {
			t.Fatalf("want the ad-hoc condition %s, got %+v", adhocCond, e)
		}
	}
	if text, _ := e.Child("text"); wantText && text.Text == "" {
		t.Fatalf("error %s without a text: %+v", cond, e)
	}
}

// field returns a form's field by var.
func field(t *testing.T, form xmpptest.Node, name string) xmpptest.Node {
	t.Helper()
	for _, f := range form.Find("field") {
		if f.Attr("var") == name {
			return f
		}
	}
	t.Fatalf("form without field %s: %+v", name, form)
	return xmpptest.Node{}
}

// options returns a list field's options, value → label.
func options(f xmpptest.Node) map[string]string {
	out := map[string]string{}
	for _, o := range f.Find("option") {
		v, _ := o.Child("value")
		out[v.Text] = o.Attr("label")
	}
	return out
}

func TestDeskCommandList(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", false)
	irene := env.login("irene.k", "desk", false)
	list := func(c *xmpptest.Client, id string) []string {
		c.Send("<iq type='get' id='" + id + "' to='" + deskJID + "'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>")
		res := c.Expect("command list", xmpptest.IQ(id))
		if q, _ := res.Child("query"); q.Attr("node") != nsCommands {
			t.Fatalf("command list %+v", res)
		}
		var nodes []string
		for _, it := range res.Find("query/item") {
			if it.Attr("jid") != deskJID || it.Attr("name") == "" {
				t.Errorf("item %+v", it)
			}
			nodes = append(nodes, it.Attr("node"))
		}
		return nodes
	}
	if got := strings.Join(list(fiona, "l1"), " "); got != "queue take" {
		t.Errorf("an agent's commands: %q", got)
	}
	if got := strings.Join(list(irene, "l2"), " "); got != "queue take assign monitor" {
		t.Errorf("a supervisor's commands: %q", got)
	}

	// The desk says it runs commands with forms.
	fiona.Send("<iq type='get' id='i1' to='" + deskJID + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	res := fiona.Expect("desk disco#info", xmpptest.IQ("i1"))
	features := map[string]bool{}
	for _, f := range res.Find("query/feature") {
		features[f.Attr("var")] = true
	}
	if !features[nsCommands] || !features["jabber:x:data"] {
		t.Errorf("desk features %v", features)
	}
}

func TestDeskCommandNodeInfo(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", false)
	info := func(id, node string) xmpptest.Node {
		fiona.Send("<iq type='get' id='" + id + "' to='" + deskJID + "'><query xmlns='http://jabber.org/protocol/disco#info' node='" + node + "'/></iq>")
		return fiona.Expect("disco#info of "+node, xmpptest.IQ(id))
	}
	res := info("n1", "take")
	id := res.Find("query/identity")
	if len(id) != 1 || id[0].Attr("category") != "automation" || id[0].Attr("type") != "command-node" {
		t.Fatalf("command node info %+v", res)
	}
	if q, _ := res.Child("query"); q.Attr("node") != "take" {
		t.Errorf("node %+v", q)
	}
	res = info("n2", nsCommands)
	if id := res.Find("query/identity"); len(id) != 1 || id[0].Attr("type") != "command-list" {
		t.Fatalf("command list info %+v", res)
	}
	// Supervisors' commands do not exist for an agent; nor does nonsense.
	for _, node := range []string{"assign", "nonsense"} {
		if res := info("n-"+node, node); len(res.Find("error/item-not-found")) != 1 {
			t.Errorf("%s: %+v", node, res)
		}
	}
}

func TestDeskQueueAndTake(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	george := env.login("george.w", "desk", true)

	// Nobody waits: the queue and take say so at once.
	cmd := commandOf(t, runCommand(george, "q1", "queue", "execute", "", ""), "completed")
	if typ, text := noteOf(t, cmd); typ != "info" || text != env.bridge.QueueText("acme") || !strings.Contains(text, "No chats are waiting") {
		t.Fatalf("empty queue note %s %q", typ, text)
	}
	cmd = commandOf(t, runCommand(george, "q2", "take", "", "", ""), "completed")
	if _, text := noteOf(t, cmd); !strings.Contains(text, "No chats are waiting") {
		t.Fatalf("take with an empty queue: %q", text)
	}

	number := env.newChat("Ann", "My order is late")
	num := strconv.FormatInt(number, 10)

	// The queue lists it in a result form.
	cmd = commandOf(t, runCommand(george, "q3", "queue", "", "", ""), "completed")
	forms := cmd.Find("x")
	if len(forms) != 1 || forms[0].Attr("type") != "result" || len(forms[0].Find("reported/field")) == 0 {
		t.Fatalf("queue form %+v", cmd)
	}
	items := forms[0].Find("item")
	if len(items) != 1 {
		t.Fatalf("queue items %+v", forms[0])
	}
	row := map[string]string{}
	for _, f := range items[0].Find("field") {
		v, _ := f.Child("value")
		row[f.Attr("var")] = v.Text
	}
	if row["chat"] != "#"+num || row["visitor"] != "Ann" || row["department"] != "Support" || row["question"] != "My order is late" || row["waiting"] == "" {
		t.Fatalf("queue row %v", row)
	}

	// Take: a form to choose the chat, then the chat is george's.
	cmd = commandOf(t, runCommand(george, "t1", "take", "execute", "", ""), "executing")
	sid := cmd.Attr("sessionid")
	if a := cmd.Find("actions/complete"); len(a) != 1 {
		t.Fatalf("take actions %+v", cmd)
	}
	form, _ := cmd.Child("x")
	if form.Attr("type") != "form" || form.XMLName.Space != "jabber:x:data" {
		t.Fatalf("take form %+v", cmd)
	}
	chat := field(t, form, "chat")
	if chat.Attr("type") != "list-single" || len(chat.Find("required")) != 1 {
		t.Fatalf("chat field %+v", chat)
	}
	if got, want := options(chat)[num], "#"+num+" Ann (Support) — My order is late"; got != want {
		t.Fatalf("option %q, want %q (all: %v)", got, want, options(chat))
	}
	cmd = commandOf(t, runCommand(george, "t2", "take", "complete", sid, submitForm("chat", num)), "completed")
	if typ, text := noteOf(t, cmd); typ != "info" || text != "You took chat #"+num+"; it is in your roster under Visitors." {
		t.Fatalf("take note %s %q", typ, text)
	}
	if cmd.Attr("sessionid") != sid {
		t.Errorf("sessionid %q, want %q", cmd.Attr("sessionid"), sid)
	}
	testwait.For(t, "george to have the chat", func() bool {
		for _, c := range env.bridge.Contacts("acme", "george.w") {
			if c.Local == "v-"+num {
				return true
			}
		}
		return false
	})
	if q := env.bridge.Queue("acme"); len(q) != 0 {
		t.Fatalf("queue after take: %+v", q)
	}
	sc, err := env.st.ChatByNumber(context.Background(), "acme", number)
	if err != nil || sc.Status != store.ChatActive || len(sc.Agents) != 1 || sc.Agents[0].Username != "george.w" {
		t.Fatalf("stored chat %+v %v", sc, err)
	}

	// The command is over: its session is gone.
	wantError(t, runCommand(george, "t3", "take", "complete", sid, submitForm("chat", num)), "not-allowed", "session-expired", true)

	// Taking a chat someone has: the desk's refusal, as an error note.
	cmd = commandOf(t, runCommand(fiona, "t4", "take", "", "", ""), "completed") // nothing waits any more
	if _, text := noteOf(t, cmd); !strings.Contains(text, "No chats are waiting") {
		t.Fatalf("take: %q", text)
	}
	other := env.newChat("Bob", "Refund?")
	cmd = commandOf(t, runCommand(fiona, "t5", "take", "", "", ""), "executing")
	cmd = commandOf(t, runCommand(fiona, "t6", "take", "complete", cmd.Attr("sessionid"), submitForm("chat", num)), "completed")
	if typ, text := noteOf(t, cmd); typ != "error" || text != "Chat #"+num+" is already taken by George." {
		t.Fatalf("refusal note %s %q", typ, text)
	}
	if q := env.bridge.Queue("acme"); len(q) != 1 || q[0].Number != other {
		t.Fatalf("queue %+v", q)
	}
}

func TestDeskTakeBadInput(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", true)
	number := env.newChat("Ann", "Hello?")
	sid := commandOf(t, runCommand(fiona, "b1", "take", "execute", "", ""), "executing").Attr("sessionid")

	wantError(t, runCommand(fiona, "b2", "take", "complete", sid, ""), "bad-request", "bad-payload", true)
	wantError(t, runCommand(fiona, "b3", "take", "complete", sid, submitForm("other", "1")), "bad-request", "bad-payload", true)
	res := runCommand(fiona, "b4", "take", "complete", sid, submitForm("chat", "forty-two"))
	wantError(t, res, "bad-request", "bad-payload", true)
	if e, _ := res.Child("error"); !strings.Contains(e.Find("text")[0].Text, "forty-two") {
		t.Errorf("the error does not say what was wrong: %+v", e)
	}
	wantError(t, runCommand(fiona, "b5", "take", "next", sid, ""), "bad-request", "bad-action", true)
	wantError(t, runCommand(fiona, "b6", "take", "jump", sid, ""), "bad-request", "malformed-action", true)
	wantError(t, runCommand(fiona, "b7", "take", "complete", "", submitForm("chat", "1")), "bad-request", "bad-sessionid", true)
	wantError(t, runCommand(fiona, "b8", "queue", "complete", sid, submitForm("chat", "1")), "not-allowed", "session-expired", true)

	// A chat that does not exist: the desk's own words.
	cmd := commandOf(t, runCommand(fiona, "b9", "take", "complete", sid, submitForm("chat", "999999")), "completed")
	if typ, text := noteOf(t, cmd); typ != "error" || text != "There is no chat #999999." {
		t.Fatalf("note %s %q", typ, text)
	}
	if q := env.bridge.Queue("acme"); len(q) != 1 || q[0].Number != number {
		t.Fatalf("queue %+v", q)
	}

	// Commands are run with sets.
	fiona.Send("<iq type='get' id='g1' to='" + deskJID + "'><command xmlns='http://jabber.org/protocol/commands' node='queue'/></iq>")
	wantError(t, fiona.Expect("get", xmpptest.IQ("g1")), "bad-request", "", true)
}

func TestDeskAssignAndMonitor(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	env.login("fiona.b", "phone", true)
	george := env.login("george.w", "desk", true)
	irene := env.login("irene.k", "desk", true)
	number := env.newChat("Ann", "Where is my parcel?")
	num := strconv.FormatInt(number, 10)

	// Agents are refused, with the reason.
	for i, node := range []string{"assign", "monitor"} {
		res := runCommand(george, "f"+strconv.Itoa(i), node, "execute", "", "")
		wantError(t, res, "forbidden", "", true)
		if e, _ := res.Child("error"); !strings.Contains(e.Find("text")[0].Text, "Only supervisors") {
			t.Errorf("%s refusal: %+v", node, e)
		}
	}

	// A supervisor assigns the waiting chat to george.
	cmd := commandOf(t, runCommand(irene, "a1", "assign", "execute", "", ""), "executing")
	form, _ := cmd.Child("x")
	chats, agents := options(field(t, form, "chat")), options(field(t, form, "agent"))
	if !strings.HasPrefix(chats[num], "#"+num+" Ann (Support) — Where is my parcel?") {
		t.Fatalf("chat options %v", chats)
	}
	if agents["george.w"] == "" || agents["fiona.b"] == "" || agents["irene.k"] == "" {
		t.Fatalf("agent options %v", agents)
	}
	cmd = commandOf(t, runCommand(irene, "a2", "assign", "complete", cmd.Attr("sessionid"), submitForm("chat", num, "agent", "george.w")), "completed")
	if typ, text := noteOf(t, cmd); typ != "info" || text != "Chat #"+num+" assigned to George." {
		t.Fatalf("assign note %s %q", typ, text)
	}
	testwait.For(t, "george to have the chat", func() bool {
		sc, _ := env.st.ChatByNumber(context.Background(), "acme", number)
		return sc.Status == store.ChatActive && len(sc.Agents) == 1 && sc.Agents[0].Username == "george.w"
	})

	// Assigning without an agent is bad input; to george again, a refusal.
	cmd = commandOf(t, runCommand(irene, "a3", "assign", "", "", ""), "executing")
	wantError(t, runCommand(irene, "a4", "assign", "complete", cmd.Attr("sessionid"), submitForm("chat", num)), "bad-request", "bad-payload", true)
	cmd = commandOf(t, runCommand(irene, "a5", "assign", "complete", cmd.Attr("sessionid"), submitForm("chat", num, "agent", "george.w")), "completed")
	if typ, text := noteOf(t, cmd); typ != "error" || text != "George already has chat #"+num+"." {
		t.Fatalf("note %s %q", typ, text)
	}

	// Monitoring: "execute" with the form completes the single stage too.
	cmd = commandOf(t, runCommand(irene, "m1", "monitor", "execute", "", ""), "executing")
	if opts := options(field(t, cmd.Find("x")[0], "chat")); !strings.Contains(opts[num], "active: George") {
		t.Fatalf("monitor options %v", opts)
	}
	cmd = commandOf(t, runCommand(irene, "m2", "monitor", "execute", cmd.Attr("sessionid"), submitForm("chat", num)), "completed")
	if typ, text := noteOf(t, cmd); typ != "info" || !strings.HasPrefix(text, "Monitoring chat #"+num+" silently") {
		t.Fatalf("monitor note %s %q", typ, text)
	}
	testwait.For(t, "irene to monitor", func() bool {
		sc, _ := env.st.ChatByNumber(context.Background(), "acme", number)
		for _, a := range sc.Agents {
			if a.Username == "irene.k" && a.Role == store.ChatRoleMonitor && a.LeftAt == nil {
				return true
			}
		}
		return false
	})
}

func TestDeskCommandSessions(t *testing.T) {
	t.Parallel()
	env := newDeskEnv(t)
	fiona := env.login("fiona.b", "phone", true)

	wantError(t, runCommand(fiona, "u1", "reboot", "execute", "", ""), "item-not-found", "", true)

	env.newChat("Ann", "Hello?")
	// Cancel ends a command; it cannot go on afterwards.
	sid := commandOf(t, runCommand(fiona, "c1", "take", "execute", "", ""), "executing").Attr("sessionid")
	cmd := commandOf(t, runCommand(fiona, "c2", "take", "cancel", sid, ""), "canceled")
	if cmd.Attr("sessionid") != sid || cmd.Attr("node") != "take" {
		t.Fatalf("cancel answered %+v", cmd)
	}
	wantError(t, runCommand(fiona, "c3", "take", "complete", sid, submitForm("chat", "1")), "not-allowed", "session-expired", true)
	// So does a cancel form.
	sid = commandOf(t, runCommand(fiona, "c4", "take", "execute", "", ""), "executing").Attr("sessionid")
	commandOf(t, runCommand(fiona, "c5", "take", "complete", sid, "<x xmlns='jabber:x:data' type='cancel'/>"), "canceled")

	// A session keeps at most 16 commands in progress: the oldest go.
	var sids []string
	for i := 0; i < adhocMaxSessions+1; i++ {
		sids = append(sids, commandOf(t, runCommand(fiona, "s"+strconv.Itoa(i), "take", "execute", "", ""), "executing").Attr("sessionid"))
	}
	wantError(t, runCommand(fiona, "s-old", "take", "cancel", sids[0], ""), "not-allowed", "session-expired", true)
	for i, sid := range sids[1:] {
		commandOf(t, runCommand(fiona, "s-cancel"+strconv.Itoa(i), "take", "cancel", sid, ""), "canceled")
	}
	// Another session of the same agent has its own commands.
	tablet := env.login("fiona.b", "tablet", false)
	sid = commandOf(t, runCommand(fiona, "x1", "take", "execute", "", ""), "executing").Attr("sessionid")
	wantError(t, runCommand(tablet, "x2", "take", "cancel", sid, ""), "not-allowed", "session-expired", true)
}

func TestDeskCommandsWithoutBridge(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	fiona := env.login("fiona.b", "phone", false)
	wantError(t, runCommand(fiona, "n1", "queue", "execute", "", ""), "service-unavailable", "", false)
	fiona.Send("<iq type='get' id='n2' to='" + deskJID + "'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>")
	if res := fiona.Expect("command list", xmpptest.IQ("n2")); len(res.Find("query/item")) != 0 {
		t.Fatalf("commands without a bridge: %+v", res)
	}
}

func TestAdhocCommandsInProgress(t *testing.T) {
	t.Parallel()
	s := &session{}
	t0 := time.Now()
	id := s.adhocBegin("take", t0)
	if !s.adhocTouch(id, "take", t0.Add(adhocSessionTTL/2)) || s.adhocTouch(id, "assign", t0) {
		t.Fatal("a command in progress is not found on its node only")
	}
	// Touching keeps it alive; left alone for the TTL, it expires.
	if !s.adhocTouch(id, "take", t0.Add(adhocSessionTTL)) {
		t.Fatal("a touched command expired")
	}
	if s.adhocTouch(id, "take", t0.Add(2*adhocSessionTTL+time.Second)) {
		t.Fatal("an idle command did not expire")
	}
	if (&session{}).adhocTouch(s.adhocBegin("take", t0), "take", t0) {
		t.Fatal("another session sees the command")
	}
	for i := 0; i < adhocMaxSessions+3; i++ {
		s.adhocBegin("monitor", t0)
	}
	if n := len(s.adhoc.list); n != adhocMaxSessions {
		t.Fatalf("%d commands kept, want at most %d", n, adhocMaxSessions)
	}
}
