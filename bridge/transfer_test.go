package bridge

import (
	"testing"

	"jabberdesk/store"
)

// activeChat is a chat anna.b has accepted, with boris.c online beside
// her.
func activeChat(t *testing.T) (d *deskTest, c testChat, anna, boris AgentInfo) {
	t.Helper()
	d = newDeskTest(t)
	anna = d.agent(store.NewAgent{Username: "anna.b"}, true)
	c = d.chat(NewChat{}, false)
	c.says(anna, "y")
	boris = d.agent(store.NewAgent{Username: "boris.c"}, true)
	return d, c, anna, boris
}

// A transfer the target accepts makes them the chat's agent; the agent
// who transferred it leaves.
func TestTransferAccepted(t *testing.T) {
	d, c, anna, boris := activeChat(t)
	c.says(anna, "#t boris.c sends an invoice")
	d.mustHear("anna.b", "Transfer to boris.c offered; waiting for an answer.")
	d.mustHear("boris.c", "Transfer from anna.b: Ann (#")
	d.mustHear("boris.c", "sends an invoice")

	c.says(boris, "y")
	c.wantAgents(map[string]string{"boris.c": store.ChatRoleOwner})
	d.mustHear("anna.b", "boris.c took over the chat with Ann")
	d.mustHear("boris.c", "You are chatting with Ann")
	if d.inRoster("anna.b", c.local) || !d.inRoster("boris.c", c.local) {
		t.Error("the contact should have moved from anna.b's roster to boris.c's")
	}
	if d.e.Load("acme", "anna.b") != 0 || d.e.Load("acme", "boris.c") != 1 {
		t.Error("the chat's load did not move with it")
	}
	c.mustSee("agent_joined:boris.c", "agent_left:anna.b")
}

// A transfer the target declines leaves the chat with its agent.
func TestTransferDeclined(t *testing.T) {
	d, c, anna, boris := activeChat(t)
	c.says(anna, "#t boris.c")
	c.says(boris, "n")
	d.mustHear("boris.c", "You declined the transfer of Ann")
	d.mustHear("anna.b", "boris.c declined the transfer; you keep the chat.")
	c.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner})
	if d.inRoster("boris.c", c.local) {
		t.Error("the declined chat stayed in boris.c's roster")
	}
}

// A transfer nobody answers is withdrawn after the offer timeout.
func TestTransferTimesOut(t *testing.T) {
	d, c, anna, boris := activeChat(t)
	c.says(anna, "#t boris.c")
	d.advance(d.e.cfg.OfferTimeout - 1)
	if d.heard("boris.c", "the offer was withdrawn") != 0 {
		t.Fatal("the transfer was withdrawn before its timeout")
	}
	d.advance(1)
	d.mustHear("boris.c", "You did not answer in time; the offer was withdrawn.")
	d.mustHear("anna.b", "boris.c did not answer the transfer; you keep the chat.")
	if d.inRoster("boris.c", c.local) {
		t.Error("the withdrawn chat stayed in boris.c's roster")
	}
	c.says(boris, "y") // too late
	d.mustHear("boris.c", "You are not in this chat.")
	c.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner})
}

// An invitation the agent accepts puts both agents in the chat: the
// visitor's words reach both, and each sees what the other writes.
func TestInviteAccepted(t *testing.T) {
	d, c, anna, boris := activeChat(t)
	c.says(anna, "#i boris.c can you check the order?")
	d.mustHear("anna.b", "Invitation sent to boris.c; waiting for an answer.")
	d.mustHear("boris.c", "Invitation from anna.b: Ann (#")
	c.says(boris, "y")
	c.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner, "boris.c": store.ChatRoleInvited})
	d.mustHear("anna.b", "boris.c joined the chat.")

	c.visitorSays("hello both")
	d.mustHear("anna.b", "hello both")
	d.mustHear("boris.c", "hello both")
	c.says(boris, "I see the order")
	d.mustHear("anna.b", "[boris.c] I see the order")
}

// An invitation nobody answers is withdrawn after the offer timeout, and
// the agent who made it is told.
func TestInviteTimesOut(t *testing.T) {
	d, c, anna, _ := activeChat(t)
	c.says(anna, "#i boris.c")
	d.advance(d.e.cfg.OfferTimeout)
	d.mustHear("boris.c", "You did not answer in time; the offer was withdrawn.")
	d.mustHear("anna.b", "boris.c did not answer the invitation.")
}
