package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// activeChat starts a chat in Support and has agent accept it.
func (r *running) activeChat(t *testing.T, agent *xmpptest.Client, name string) *visitor {
	t.Helper()
	v := r.startChat(t, name, "Support", "Question of "+name)
	agent.Expect("offer", xmpptest.Message(v.JID, "Reply y to accept"))
	agent.Send(chatMsg(v.JID, "y"))
	agent.Expect("details", xmpptest.Message(v.JID, "You are chatting with "+name))
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" })
	return v
}

// reply matches a system line from the visitor contact.
func reply(v *visitor, text string) func(xmpptest.Node) bool {
	return xmpptest.Message(v.JID, text)
}

func TestTransferToAgent(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[chats]\noffer_timeout = \"500ms\"")
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Ann")
	fiona := r.loginWithRoster(t, "fiona.demo")

	// Refusals say why.
	for cmd, want := range map[string]string{
		"#t nobody.here":  "There is no agent nobody.here",
		"#t george.demo":  "cannot transfer or invite yourself",
		"#t":              "usage: #t",
		"#t \"Nowhere\"":  `There is no department "Nowhere"`,
		"#t fiona.demo x": "", // accepted below
	} {
		if want == "" {
			continue
		}
		george.Send(chatMsg(v.JID, cmd))
		george.Expect(cmd, reply(v, want))
	}

	// Declined: george keeps the chat.
	george.Send(chatMsg(v.JID, "#t fiona.demo could you take this?"))
	george.Expect("offered", reply(v, "Transfer to fiona.demo offered"))
	offer := fiona.Expect("transfer offer", reply(v, "Transfer from George: Ann (#"))
	if !strings.Contains(offer.Body(), "could you take this?") {
		t.Errorf("offer lacks the note: %q", offer.Body())
	}
	fiona.Expect("contact", inRoster(v, "both"))
	fiona.Send(chatMsg(v.JID, "n"))
	george.Expect("declined", reply(v, "Fiona declined the transfer; you keep the chat"))

	// Not answered in time: george keeps it.
	george.Send(chatMsg(v.JID, "#t fiona.demo@example.com"))
	fiona.Expect("second offer", reply(v, "Transfer from George"))
	george.Expect("timeout", reply(v, "did not answer the transfer; you keep the chat"))

	// Accepted: fiona takes over, george is detached.
	george.Send(chatMsg(v.JID, "#t fiona.demo"))
	fiona.Expect("third offer", reply(v, "Transfer from George"))
	fiona.Send(chatMsg(v.JID, "y"))
	fiona.Expect("details", reply(v, "You are chatting with Ann"))
	george.Expect("took over", reply(v, "Fiona took over the chat"))
	george.Expect("contact removed", inRoster(v, "remove"))
	v.expect("agent_left", func(ev bridge.Event) bool { return ev.Type == "agent_left" && ev.Name == "George" })
	v.expect("agent_joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" && ev.Name == "Fiona" })
	v.say("thanks Fiona")
	fiona.Expect("visitor to the new agent", reply(v, "thanks Fiona"))
	if _, ok := george.Wait(200*time.Millisecond, reply(v, "thanks Fiona")); ok {
		t.Fatal("the detached agent still gets the visitor's messages")
	}
	george.Send(chatMsg(v.JID, "#info"))
	george.Expect("no longer in chat", reply(v, "Only an agent in this chat can run #info"))
}

func TestTransferToDepartment(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Bea")
	fiona := r.loginWithRoster(t, "fiona.demo")
	george.Send(chatMsg(v.JID, "#t “Sales” wants a quote"))
	george.Expect("offered", reply(v, "Transfer to Sales offered to 1 online agent"))
	o := fiona.Expect("offer", reply(v, "Transfer from George: Bea"))
	if !strings.Contains(o.Body(), "(to Sales)") || !strings.Contains(o.Body(), "wants a quote") {
		t.Errorf("offer %q", o.Body())
	}
	fiona.Send(chatMsg(v.JID, "y"))
	george.Expect("took over", reply(v, "Fiona took over"))
}

func TestInviteAndThreeWayRelay(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Cal")
	fiona := r.loginWithRoster(t, "fiona.demo")
	george.Send(chatMsg(v.JID, "#i fiona.demo second opinion"))
	fiona.Expect("invitation", reply(v, "Invitation from George: Cal"))
	fiona.Send(chatMsg(v.JID, "y"))
	george.Expect("joined", reply(v, "Fiona joined the chat"))
	v.expect("fiona joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" && ev.Name == "Fiona" })

	v.say("hello both")
	george.Expect("visitor to george", reply(v, "hello both"))
	fiona.Expect("visitor to fiona", reply(v, "hello both"))
	george.Send(chatMsg(v.JID, "I asked Fiona"))
	v.expect("george's words", func(ev bridge.Event) bool { return ev.Text == "I asked Fiona" && ev.From == "George" })
	fiona.Expect("copy to fiona", reply(v, "[George] I asked Fiona"))
	fiona.Send(chatMsg(v.JID, "Hi Cal"))
	v.expect("fiona's words", func(ev bridge.Event) bool { return ev.Text == "Hi Cal" && ev.From == "Fiona" })
	george.Expect("copy to george", reply(v, "[Fiona] Hi Cal"))
	george.Send(chatMsg(v.JID, "#m"))
	m := george.Expect("members", reply(v, "(visitor)"))
	for _, want := range []string{"Cal (#", "George — online", "Fiona, invited — online"} {
		if !strings.Contains(m.Body(), want) {
			t.Errorf("#m lacks %q: %s", want, m.Body())
		}
	}
}

func TestEndTimers(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Dan")
	george.Send(chatMsg(v.JID, "#e 20"))
	george.Expect("bad delay", reply(v, "use 30, 45, 60 or 90"))
	george.Send(chatMsg(v.JID, "#e cancel"))
	george.Expect("nothing to cancel", reply(v, "There is no pending end"))

	// Interrupted by the visitor ("#e 90" lasts 1.8 s in this test).
	george.Send(chatMsg(v.JID, "#e 90"))
	george.Expect("told", reply(v, "Support will end the chat in 90 seconds"))
	v.expect("end_timer", func(ev bridge.Event) bool { return ev.Type == "end_timer" && ev.Seconds == 90 })
	v.expect("system line", func(ev bridge.Event) bool {
		return ev.Type == "system" && ev.Text == "Support will end the chat in 90 seconds"
	})
	v.say("wait, one more thing")
	v.expect("cancelled", func(ev bridge.Event) bool { return ev.Type == "end_timer_cancelled" })
	george.Expect("interrupted", reply(v, "The visitor is back; the chat stays open."))

	// Cancelled by the agent: the visitor is told. The team is named by
	// the portal's setting.
	ok(t, r.dir, "settings", "set", "demo", "team_name", "Demo  Helpdesk")
	george.Send(chatMsg(v.JID, "#E 45"))
	george.Expect("told", reply(v, "Demo Helpdesk will end the chat in 45 seconds"))
	var before int64
	for _, ev := range v.all() {
		before = max(before, ev.Seq)
	}
	george.Send(chatMsg(v.JID, "#e cancel"))
	george.Expect("cancelled", reply(v, "Pending end cancelled"))
	v.expect("a cancellation line", func(ev bridge.Event) bool {
		return ev.Type == "system" && ev.Text == "The chat stays open." && ev.Seq > before
	})

	// Expiring ("#e 30" lasts 0.6 s here).
	george.Send(chatMsg(v.JID, "#e 30"))
	v.expect("ended idle", func(ev bridge.Event) bool { return ev.Type == "ended" && ev.Reason == "idle" })
	george.Expect("ended", reply(v, "ended after the visitor was silent"))
	george.Send(chatMsg(v.JID, "#info"))
	george.Expect("over", reply(v, "This chat is over"))

	// Ending at once.
	v2 := r.activeChat(t, george, "Dot")
	george.Send(chatMsg(v2.JID, "#e"))
	george.Expect("ended now", reply(v2, "Chat ended."))
	v2.expect("ended by agent", func(ev bridge.Event) bool { return ev.Type == "ended" && ev.Reason == "agent" })
}

func TestBlockRefusesNewChats(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.activeChat(t, george, "Eli")
	george.Send(chatMsg(v.JID, "#b"))
	george.Expect("needs a reason", reply(v, "usage: #b REASON"))
	george.Send(chatMsg(v.JID, "#b abusive language"))
	george.Expect("blocked", reply(v, "IP address 127.0.0.1 blocked"))
	v.expect("ended", func(ev bridge.Event) bool { return ev.Type == "ended" })
	var e apiErr
	code := call(t, "POST", r.base+"/api/v1/chats", "", map[string]string{"portal": "demo", "name": "Eli", "question": "again"}, &e)
	if code != http.StatusForbidden || !strings.Contains(e.Error.Message, "cannot start a chat") {
		t.Fatalf("chat from a blocked address: %d %+v", code, e)
	}
	blocks, err := r.st.BlockedIPs(context.Background(), "demo")
	if err != nil || len(blocks) != 1 || blocks[0].BlockedBy != "george.demo" || blocks[0].Reason != "abusive language" {
		t.Fatalf("stored blocks %+v %v", blocks, err)
	}
}

func TestNotesHistoryInfoDepartmentsPushCanned(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	ctx := context.Background()
	if _, err := r.st.AddCanned(ctx, "demo", "Support", "hello", "Greetings", "Hi {visitor.name}, {agent.name} here.", "test"); err != nil {
		t.Fatal(err)
	}
	george := r.loginWithRoster(t, "george.demo")
	first := r.activeChat(t, george, "Fay")
	first.say("my first visit")
	george.Expect("first message", reply(first, "my first visit"))
	george.Send(chatMsg(first.JID, "#n"))
	george.Expect("no notes", reply(first, "No notes"))
	george.Send(chatMsg(first.JID, "#an prefers email"))
	george.Expect("note added", reply(first, "Note added"))
	george.Send(chatMsg(first.JID, "#e"))
	george.Expect("ended", reply(first, "Chat ended."))

	// The same visitor (same email) comes back.
	v := r.activeChat(t, george, "Fay")
	george.Send(chatMsg(v.JID, "#n"))
	george.Expect("notes kept", reply(v, "George: prefers email"))
	george.Send(chatMsg(v.JID, "#h prev"))
	george.Expect("previous chat", reply(v, "(Fay, "))
	v.say("second visit")
	george.Expect("message", reply(v, "second visit"))
	george.Send(chatMsg(v.JID, "#h"))
	h := george.Expect("history line", func(n xmpptest.Node) bool {
		return strings.HasPrefix(n.Attr("from"), v.JID) && strings.Contains(n.Body(), "(Fay, ") && strings.Contains(n.Body(), "second visit")
	})
	if strings.Contains(h.Body(), "first visit") {
		t.Errorf("#h mixed the chats: %q", h.Body())
	}
	george.Send(chatMsg(v.JID, "#info"))
	info := george.Expect("info", reply(v, "Chat: #"))
	for _, want := range []string{"Email: fay@example.com", "Visitor last seen: now", "(id " + v.ChatID + ")", "Department: Support"} {
		if !strings.Contains(info.Body(), want) {
			t.Errorf("#info lacks %q:\n%s", want, info.Body())
		}
	}
	george.Send(chatMsg(v.JID, "#d"))
	george.Expect("departments", reply(v, "Support — 1 online"))

	george.Send(chatMsg(v.JID, "#p http://"))
	george.Expect("bad url", reply(v, "usage: #p URL"))
	george.Send(chatMsg(v.JID, "#p https://shop.example/returns"))
	george.Expect("pushed", reply(v, "Page pushed"))
	v.expect("push_url", func(ev bridge.Event) bool { return ev.Type == "push_url" && ev.URL == "https://shop.example/returns" })
	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/opened", v.Token, map[string]string{"url": "https://shop.example/returns"}, nil)
	george.Expect("opened", reply(v, "Fay opened https://shop.example/returns"))

	george.Send(chatMsg(v.JID, "#r"))
	george.Expect("canned list", reply(v, "hello — Hi {visitor.name}"))
	george.Send(chatMsg(v.JID, "#r HELLO"))
	v.expect("canned text", func(ev bridge.Event) bool { return ev.Type == "message" && ev.Text == "Hi Fay, George here." })
	george.Send(chatMsg(v.JID, "#r nope"))
	george.Expect("unknown canned", reply(v, `no canned response "nope"`))

	george.Send(chatMsg(v.JID, "#help"))
	help := george.Expect("help", reply(v, "#t "))
	if !strings.Contains(help.Body(), "#support") || !strings.Contains(help.Body(), "#e ") {
		t.Errorf("#help:\n%s", help.Body())
	}
	// Nothing of the commands reached the visitor.
	for _, ev := range v.all() {
		if strings.Contains(ev.Text, "#") || strings.Contains(ev.Text, "prefers email") {
			t.Errorf("the visitor saw %+v", ev)
		}
	}
	entries, _ := r.st.Audit(ctx, "demo", 100)
	audited := map[string]bool{}
	for _, e := range entries {
		if _, rest, ok := strings.Cut(e.Detail, `command="`); ok && e.Action == store.AuditCommandAction {
			audited[strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '"' })[0]] = true
		}
	}
	for _, c := range []string{"#an", "#p", "#r", "#e"} {
		if !audited[c] {
			t.Errorf("%s is not in the audit log", c)
		}
	}
}

func TestDeskCommands(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	desk := "demo|desk@localhost"
	george := r.loginWithRoster(t, "george.demo")
	fiona := r.loginWithRoster(t, "fiona.demo")
	v := r.startChat(t, "Gil", "Support", "Waiting here")
	george.Expect("offer", reply(v, "Reply y"))

	george.Send(chatMsg(desk, "#q"))
	q := george.Expect("queue", xmpptest.Message(desk, "1 without an agent: 0 waiting, 1 offered"))
	if !strings.Contains(q.Body(), fmt.Sprintf("#%d Gil (Support), offered for", v.Number)) {
		t.Errorf("#q: %s", q.Body())
	}
	george.Send(chatMsg(desk, fmt.Sprintf("#take %d", v.Number)))
	george.Expect("taken", xmpptest.Message(desk, fmt.Sprintf("You took chat #%d", v.Number)))
	george.Expect("details", reply(v, "You are chatting with Gil"))
	fiona.Expect("told", reply(v, "George took the chat"))
	george.Send(chatMsg(desk, "#chats mine"))
	george.Expect("mine", xmpptest.Message(desk, fmt.Sprintf("#%d Gil — active — George", v.Number)))
	george.Send(chatMsg(desk, fmt.Sprintf("#take %d", v.Number)))
	george.Expect("already", xmpptest.Message(desk, "already taken"))

	// Supervisor actions are refused to agents.
	george.Send(chatMsg(desk, fmt.Sprintf("#monitor %d", v.Number)))
	george.Expect("refused", xmpptest.Message(desk, "Only supervisors can monitor chats"))
	fiona.Send(chatMsg(desk, fmt.Sprintf("#monitor %d", v.Number)))
	fiona.Expect("monitoring", xmpptest.Message(desk, "Monitoring chat"))
	v.say("can anyone hear me")
	fiona.Expect("silent copy", reply(v, "can anyone hear me"))
	fiona.Send(chatMsg(v.JID, "hello?"))
	fiona.Expect("silent", reply(v, "monitoring this chat silently"))
	for _, ev := range v.all() {
		if ev.Type == "agent_joined" && ev.Name == "Fiona" {
			t.Fatal("the visitor saw the monitor join")
		}
	}
	fiona.Send(chatMsg(desk, fmt.Sprintf("#assign %d fiona.demo", v.Number)))
	fiona.Expect("assigned", xmpptest.Message(desk, "assigned to Fiona"))
	george.Expect("detached", reply(v, "Fiona assigned the chat"))
	v.expect("fiona joined", func(ev bridge.Event) bool { return ev.Type == "agent_joined" && ev.Name == "Fiona" })
	fiona.Send(chatMsg(desk, "#stats"))
	fiona.Expect("stats", xmpptest.Message(desk, "Agents online: 2 of 2"))
	fiona.Send(chatMsg(desk, "#help"))
	fiona.Expect("desk help", xmpptest.Message(desk, "#take"))
	if sc := mustChat(t, r, v); len(sc.Agents) == 0 || sc.Status != store.ChatActive {
		t.Fatalf("stored %+v", sc)
	}
}
