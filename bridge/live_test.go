package bridge

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"jabberdesk/store"
)

// liveText is a LiveView in one line per chat: number, status, agents
// with roles, offers, and whether a message time is known.
func liveText(v LiveView) string {
	var lines []string
	for _, c := range v.Chats {
		var agents []string
		for _, m := range c.Agents {
			agents = append(agents, m.Key+"/"+m.Role)
		}
		lines = append(lines, fmt.Sprintf("#%d %s agents=%s offered=%s written=%v", c.Number, c.Status,
			strings.Join(agents, ","), strings.Join(c.OfferedTo, ","), !c.LastMessageAt.IsZero()))
	}
	return strings.Join(lines, "\n")
}

// changed reports whether ch was closed.
func changed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// The live view shows the waiting chats first, longest waiting first,
// with their offers, then the active ones with their agents; loads count
// the chats each agent is in; every change is signalled.
func TestLiveView(t *testing.T) {
	d := newDeskTest(t)
	anna := d.agent(store.NewAgent{Username: "anna.b"}, true)
	d.agent(store.NewAgent{Username: "boris.c"}, false)
	first := d.chat(NewChat{Name: "Ann"}, false)
	d.clock.Advance(1)
	sig := d.e.LiveChanged()
	second := d.chat(NewChat{Name: "Bob"}, false)
	if !changed(sig) {
		t.Error("a new chat was not signalled")
	}
	v := d.e.Live(d.ctx, "acme")
	want := fmt.Sprintf("#%d offered agents= offered=anna.b written=false\n#%d offered agents= offered=anna.b written=false",
		first.VisitorNumber, second.VisitorNumber)
	if got := liveText(v); got != want {
		t.Fatalf("live view:\n%s\nwant\n%s", got, want)
	}

	sig = d.e.LiveChanged()
	second.says(anna, "y")
	second.says(anna, "Hello Bob")
	if !changed(sig) {
		t.Error("an accept was not signalled")
	}
	v = d.e.Live(d.ctx, "acme")
	want = fmt.Sprintf("#%d offered agents= offered=anna.b written=false\n#%d active agents=anna.b/owner offered= written=true",
		first.VisitorNumber, second.VisitorNumber)
	if got := liveText(v); got != want {
		t.Fatalf("after an accept:\n%s\nwant\n%s", got, want)
	}
	if v.Loads["anna.b"] != 1 || len(v.Loads) != 1 {
		t.Errorf("loads %v", v.Loads)
	}
	if other := d.e.Live(d.ctx, "globex"); len(other.Chats) != 0 || len(other.Loads) != 0 {
		t.Errorf("another portal sees %+v", other)
	}

	sig = d.e.LiveChanged()
	d.e.AgentAvailabilityChanged("acme", "boris.c", Online)
	if !changed(sig) {
		t.Error("a change of availability was not signalled")
	}
}

// A supervisor ends a chat they are not in, as #e would: the agent in it
// is told who ended it, the visitor sees it end; agents may not.
func TestSupervisorEndsChat(t *testing.T) {
	d, c, anna, _ := activeChat(t)
	sue := d.agent(store.NewAgent{Username: "sue.super", Role: store.RoleSupervisor}, false)
	sue.Role = store.RoleSupervisor
	ctx := context.Background()

	if _, err := d.e.End(ctx, "acme", anna, c.VisitorNumber); !isRefusal(err, "Only supervisors") {
		t.Fatalf("an agent ended a chat: %v", err)
	}
	reply, err := d.e.End(ctx, "acme", sue, c.VisitorNumber)
	if err != nil || reply != fmt.Sprintf("Chat #%d ended.", c.VisitorNumber) {
		t.Fatalf("End: %q %v", reply, err)
	}
	d.settle()
	c.wantStatus(store.ChatEnded, reasonAgent)
	c.mustSee("ended:agent")
	d.mustHear("anna.b", "sue.super ended the chat with Ann (#")
	if d.heard("sue.super", "") != 0 {
		t.Error("the supervisor, not in the chat, was sent a line from its contact")
	}
	if _, err := d.e.End(ctx, "acme", sue, c.VisitorNumber); !isRefusal(err, "is over") {
		t.Fatalf("ended twice: %v", err)
	}
	if _, err := d.e.End(ctx, "acme", sue, 99); !isRefusal(err, "There is no chat #99") {
		t.Fatalf("no such chat: %v", err)
	}
}

// A waiting chat a supervisor ends loses its offers.
func TestSupervisorEndsWaitingChat(t *testing.T) {
	d := newDeskTest(t)
	d.agent(store.NewAgent{Username: "anna.b"}, true)
	sue := AgentInfo{Key: "sue.super", Name: "Sue", Role: store.RoleAdmin}
	c := d.chat(NewChat{}, false)
	if _, err := d.e.End(d.ctx, "acme", sue, c.VisitorNumber); err != nil {
		t.Fatal(err)
	}
	d.settle()
	c.wantStatus(store.ChatEnded, reasonAgent)
	if d.inRoster("anna.b", c.local) {
		t.Error("the offer was not withdrawn")
	}
}

func isRefusal(err error, text string) bool {
	ce, ok := err.(*CommandError)
	return ok && strings.Contains(ce.Msg, text)
}
