package main

import (
	"fmt"
	"strings"
	"testing"

	"jabberdesk/bridge"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

// Changes made with the CLI while agents are signed in apply at once: a
// new department membership or chat limit brings the chats waiting
// there, a new role
// and name are used by the next command and board post, and a new
// password signs out whoever used the old one.
func TestAdminChangesReachSignedInAgents(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	desk := "demo|desk@localhost"
	board := "demo|board@localhost"
	george := r.loginWithRoster(t, "george.demo")
	fiona := r.login(t, "fiona.demo", false)
	ok(t, r.dir, "agent", "set", "demo", "fiona.demo", "--max-chats", "0") // Sales is online but takes no chats
	v := r.startChat(t, "Ann", "Sales", "Prices?")

	// George joins Sales: the waiting chat is offered to him.
	ok(t, r.dir, "agent", "set", "demo", "george.demo", "--dept", "Sales", "--dept", "Support")
	offered(george, v)
	// Fiona may take chats again: she is offered it too.
	ok(t, r.dir, "agent", "set", "demo", "fiona.demo", "--max-chats", "5")
	fiona.Expect("offer to fiona", xmpptest.Message(v.JID, "Reply y"))

	// A supervisor now, and renamed: #monitor is his, and the board says
	// who he is now.
	george.Send(chatMsg(desk, fmt.Sprintf("#monitor %d", v.Number)))
	george.Expect("refused", xmpptest.Message(desk, ""))
	ok(t, r.dir, "agent", "set", "demo", "george.demo", "--role", "supervisor", "--name", "George M")
	george.Send(chatMsg(desk, fmt.Sprintf("#monitor %d", v.Number)))
	if m := george.Expect("monitoring", xmpptest.Message(desk, "")); strings.Contains(m.Body(), "upervisors") {
		t.Errorf("#monitor after the role change: %s", m.Body())
	}
	george.Send(chatMsg(board, "Lunch at noon"))
	fiona.Expect("post", xmpptest.Message(board, "[George M] Lunch at noon"))

	// A new password signs out George's session; Fiona stays.
	ok(t, r.dir, "agent", "passwd", "demo", "george.demo")
	if err, closed := george.Closed(xmpptest.Timeout); !closed || err == nil || !strings.Contains(err.Error(), "not-authorized") {
		t.Errorf("george's stream after the password change: closed=%v err=%v", closed, err)
	}
	// Fiona is still signed in, and George's monitoring did not take the
	// chat out of the queue.
	fiona.Send(chatMsg(desk, "#q"))
	fiona.Expect("queue", xmpptest.Message(desk, "1 without an agent: 0 waiting, 1 offered"))
}

// ticket create --from-chat on a live chat: the running chat learns its
// new email and its ticket, so #info shows the email, #support ticketinfo
// the ticket, and the rest of the chat goes to that ticket when it ends
// (not to a second one).
func TestTicketFromALiveChatInTheCLI(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.login(t, "george.demo", false)
	v := r.activeChat(t, george, "Ann")
	n := fmt.Sprint(v.Number)
	ok(t, r.dir, "ticket", "create", "demo", "--from-chat", n, "--email", "ann.new@example.com")

	george.Send(chatMsg(v.JID, "#info"))
	if m := george.Expect("info", reply(v, "")); !strings.Contains(m.Body(), "ann.new@example.com") {
		t.Errorf("#info after the CLI set the email:\n%s", m.Body())
	}
	george.Send(chatMsg(v.JID, "#support ticketinfo"))
	if m := george.Expect("ticketinfo", reply(v, "")); strings.Contains(m.Body(), "No ticket") {
		t.Errorf("#support ticketinfo after the CLI made a ticket:\n%s", m.Body())
	}
	george.Send(chatMsg(v.JID, "Said after the ticket was made"))
	v.expect("the agent's message", func(ev bridge.Event) bool { return ev.Text == "Said after the ticket was made" })
	george.Send(chatMsg(v.JID, "#e"))
	v.expect("ended", func(ev bridge.Event) bool { return ev.Type == "ended" })
	testwait.For(t, "the ticket to hold the whole chat", func() bool {
		return strings.Contains(ok(t, r.dir, "ticket", "show", "demo", "1"), "Said after the ticket was made")
	})
	if out := ok(t, r.dir, "ticket", "list", "demo", "--view", "all"); strings.Count(out, "\n") != 2 {
		t.Errorf("want one ticket:\n%s", out)
	}
}
