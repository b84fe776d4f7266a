package bridge

import (
	"testing"
	"time"

	"jabberdesk/store"
)

// #e 30 ends the chat after 30 seconds in which the visitor does nothing;
// both sides are told when it starts.
func TestEndTimerRunsOut(t *testing.T) {
	d, c, anna, _ := activeChat(t)
	c.says(anna, "#e 30")
	d.mustHear("anna.b", "will end the chat in 30 seconds unless the visitor writes.")
	c.mustSee("end_timer:30s")
	d.advance(30*time.Second - 1)
	c.wantStatus(store.ChatActive, "")
	d.advance(1)
	c.wantStatus(store.ChatEnded, reasonIdle)
	d.mustHear("anna.b", "ended after the visitor was silent")
	c.mustSee("ended:idle")
	if d.e.Load("acme", "anna.b") != 0 {
		t.Error("the ended chat still counts for anna.b")
	}
}

// What the visitor writes stops a pending end.
func TestVisitorInterruptsEndTimer(t *testing.T) {
	d, c, anna, _ := activeChat(t)
	c.says(anna, "#e 45")
	d.advance(20 * time.Second)
	c.visitorSays("wait, one more question")
	d.mustHear("anna.b", "The visitor is back; the chat stays open.")
	d.advance(time.Minute)
	c.wantStatus(store.ChatActive, "")
	c.mustSee("end_timer_cancelled")
}

// #e cancel stops a pending end; with none pending it is refused.
func TestEndTimerCancelled(t *testing.T) {
	d, c, anna, _ := activeChat(t)
	c.says(anna, "#e 30")
	c.says(anna, "#e cancel")
	d.mustHear("anna.b", "Pending end cancelled")
	d.advance(time.Minute)
	c.wantStatus(store.ChatActive, "")
	c.says(anna, "#e cancel")
	d.mustHear("anna.b", "There is no pending end to cancel.")
}

// A chat whose visitor is gone longer than the grace period ends; one who
// comes back in time keeps it.
func TestVisitorGrace(t *testing.T) {
	d := newDeskTest(t)
	anna := d.agent(store.NewAgent{Username: "anna.b"}, true)
	c := d.chat(NewChat{}, true) // the visitor never connects
	c.says(anna, "y")
	live := d.e.chatByNumber("acme", c.Started.VisitorNumber)
	d.advance(d.e.cfg.VisitorGrace - time.Second)
	live.visitorConnected(1) // back in time
	d.settle()
	d.advance(time.Hour)
	c.wantStatus(store.ChatActive, "")

	live.visitorConnected(-1) // gone again: the grace period starts over
	d.settle()
	d.advance(d.e.cfg.VisitorGrace - time.Second)
	c.wantStatus(store.ChatActive, "")
	d.advance(time.Second)
	c.wantStatus(store.ChatEnded, reasonVisitorLeft)
	d.mustHear("anna.b", "Ann (#")
	d.mustHear("anna.b", "left; the chat is over.")
}

// A pending end outlives a restart: the restored chat ends when it was
// set to, unless the visitor writes first.
func TestEndTimerOutlivesARestart(t *testing.T) {
	d, c, anna, _ := activeChat(t)
	c.says(anna, "#e 30")
	d.advance(10 * time.Second)
	d.e.Stop()
	e := New(Config{Domain: "example.test"}, d.st, nil)
	e.clock = d.clock
	e.Attach(d.agents)
	if err := e.Start(d.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	d.e = e
	d.settle()
	d.advance(20*time.Second - 10*time.Millisecond) // the store keeps milliseconds
	c.wantStatus(store.ChatActive, "")
	d.advance(10 * time.Millisecond)
	c.wantStatus(store.ChatEnded, reasonIdle)

	// Cancelled before the restart, it stays cancelled.
	d2, c2, anna2, _ := activeChat(t)
	c2.says(anna2, "#e 30")
	c2.says(anna2, "#e cancel")
	d2.e.Stop()
	e2 := New(Config{Domain: "example.test"}, d2.st, nil)
	e2.clock = d2.clock
	e2.Attach(d2.agents)
	if err := e2.Start(d2.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e2.Stop)
	d2.e = e2
	d2.settle()
	d2.advance(45 * time.Second) // within the visitor's grace period
	c2.wantStatus(store.ChatActive, "")
}
