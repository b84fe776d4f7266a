package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"jabberdesk/address"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// startOn starts a visitor's chat through node d (the visitor's request
// landed there), wherever it runs.
func (ct *clusterTest) startOn(d *deskTest, name string) testChat {
	ct.t.Helper()
	started, err := d.e.Create(ct.ctx, NewChat{Portal: "acme", Name: name, Question: "Where is my parcel?"})
	if err != nil {
		ct.t.Fatal(err)
	}
	return testChat{d: d, Started: started, local: address.VisitorName(started.VisitorNumber)}
}

// visitor is the visitor's handle on their chat through node d.
func (ct *clusterTest) visitor(d *deskTest, tc testChat) *VisitorChat {
	ct.t.Helper()
	v, err := d.e.Visitor(ct.ctx, tc.ChatID, tc.Token)
	if err != nil {
		ct.t.Fatal(err)
	}
	return v
}

// agentSays is what an agent sends to a chat's contact through node d.
func (ct *clusterTest) agentSays(d *deskTest, a AgentInfo, tc testChat, body string) {
	ct.t.Helper()
	if err := d.e.AgentSays("acme", a, tc.local, body, ""); err != nil {
		ct.t.Fatal(err)
	}
}

// chatStates counts the chat states an agent was sent.
func chatStates(d *deskTest, agent, state string) int {
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	n := 0
	for _, m := range d.agents.messages[agent] {
		if m.Body == "" && m.ChatState == state {
			n++
		}
	}
	return n
}

// A visitor whose requests land on node b has their chat run by node a,
// the portal's owner; what they and the agent say goes through a, and
// the agent hears it from a.
func TestNodesVisitorOnAnotherNode(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})

	tc := ct.startOn(b, "Ann")
	if tc.Status != string(store.ChatOffered) {
		t.Fatalf("the new chat is %s, want offered", tc.Status)
	}
	if a.e.chatByNumber("acme", tc.VisitorNumber) == nil || b.e.chatByNumber("acme", tc.VisitorNumber) != nil {
		t.Fatal("the chat does not run on node a alone")
	}
	a.settle()
	a.mustHear("anna.b", "Ann (#1001) asks")

	ct.agentSays(b, anna, tc, "y")
	a.settle()
	a.mustHear("anna.b", "You are chatting with Ann (#1001)")
	tc.d = a
	tc.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner})

	v := ct.visitor(b, tc)
	if err := v.Say(ct.ctx, "Hello from b", ""); err != nil {
		t.Fatal(err)
	}
	if err := v.Typing(ct.ctx, "composing"); err != nil {
		t.Fatal(err)
	}
	a.settle()
	a.mustHear("anna.b", "Hello from b")
	if chatStates(a, "anna.b", "composing") != 1 {
		t.Error("the visitor's typing did not reach the agent")
	}
	if got := b.e.Contacts("acme", "anna.b"); len(got) != 1 || got[0].Local != tc.local {
		t.Errorf("contacts through b: %+v", got)
	}
	ct.agentSays(b, anna, tc, "Hi Ann")
	tc.mustSee("visitor_message:Hello from b", "message:Hi Ann")
	if b.agents.count("anna.b", "") != 0 {
		t.Error("node b spoke to the agent: only the owner does")
	}
}

// Desk commands typed through a node that does not run the portal's
// chats act on the owner's: the queue, #take, #monitor, #e 30 in a chat.
func TestNodesDeskOnAnotherNode(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	sue := ct.agent(store.NewAgent{Username: "sue.smith", Role: store.RoleSupervisor})
	sue.Role = store.RoleSupervisor
	tc := ct.startOn(b, "Ann")
	tc.d = a
	a.settle()

	if q := b.e.Queue("acme"); len(q) != 1 || q[0].Number != tc.VisitorNumber {
		t.Errorf("queue through b: %+v", q)
	}
	if reply := b.e.DeskSays(ct.ctx, "acme", anna, "#q"); !strings.Contains(reply, "#1001 Ann") {
		t.Errorf("#q through b: %q", reply)
	}
	if reply := b.e.DeskSays(ct.ctx, "acme", anna, "#take 1001"); !strings.Contains(reply, "You took chat #1001") {
		t.Errorf("#take through b: %q", reply)
	}
	if reply := b.e.DeskSays(ct.ctx, "acme", sue, "#monitor 1001"); !strings.HasPrefix(reply, "Monitoring chat #1001") {
		t.Errorf("#monitor through b: %q", reply)
	}
	a.settle()
	tc.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner, "sue.smith": store.ChatRoleMonitor})

	ct.agentSays(b, anna, tc, "#e 30")
	a.settle()
	a.mustHear("anna.b", "will end the chat in 30 seconds unless the visitor writes.")
	tc.mustSee("end_timer:30s")
	a.advance(30 * time.Second)
	tc.wantStatus(store.ChatEnded, reasonIdle)
	if ct.bus.answered(kindDeskSays) != 3 || ct.bus.answered(kindAgentSays) != 1 {
		t.Errorf("node a answered %d desk and %d chat messages, want 3 and 1", ct.bus.answered(kindDeskSays), ct.bus.answered(kindAgentSays))
	}
}

// The errors of a call another node ran are the same kinds as if it had
// run here.
func TestNodesErrorsKeepTheirKind(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	sue := ct.agent(store.NewAgent{Username: "sue.smith", Role: store.RoleSupervisor})
	sue.Role = store.RoleSupervisor

	if err := b.e.AgentSays("acme", anna, "v-9999", "hello", ""); !errors.Is(err, ErrNoChat) {
		t.Errorf("a message to no chat: %v, want ErrNoChat", err)
	}
	var ce *CommandError
	if err := b.e.Take(ct.ctx, "acme", anna, 9999); !errors.As(err, &ce) || ce.Msg != "There is no chat #9999." {
		t.Errorf("#take of no chat: %v, want a refusal", err)
	}
	var ue *store.UserError
	_, err := b.e.Create(ct.ctx, NewChat{Portal: "acme", Name: "Ann", Question: "Hello?", Department: "Nowhere"})
	if !errors.As(err, &ue) || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a chat for no department: %v, want a user error, not found", err)
	}

	tc := ct.startOn(b, "Ann")
	tc.d = a
	v := ct.visitor(b, tc)
	if err := v.Rate(ct.ctx, 5, ""); !errors.Is(err, ErrChatLive) {
		t.Errorf("rating a live chat: %v, want ErrChatLive", err)
	}
	ct.agentSays(a, anna, tc, "y")
	ct.agentSays(a, anna, tc, "#e")
	a.settle()
	tc.wantStatus(store.ChatEnded, reasonAgent)
	if err := v.Say(ct.ctx, "still there?", ""); !errors.Is(err, ErrChatEnded) {
		t.Errorf("a message to an ended chat: %v, want ErrChatEnded", err)
	}
	if _, err := b.e.End(ct.ctx, "acme", sue, tc.VisitorNumber); !errors.As(err, &ce) || ce.Msg != "Chat #1001 is over." {
		t.Errorf("ending an ended chat: %v, want a refusal", err)
	}
	if err := v.Rate(ct.ctx, 5, "Quick"); err != nil {
		t.Fatal(err)
	}
	if err := v.Rate(ct.ctx, 4, ""); !errors.Is(err, ErrRated) {
		t.Errorf("rating twice: %v, want ErrRated", err)
	}
	for _, kind := range []string{kindAgentSays, kindTake, kindCreate, kindRate, kindSay, kindEnd} {
		if ct.bus.answered(kind) == 0 {
			t.Errorf("node a answered no %s: the call did not travel", kind)
		}
	}
}

// An error is rebuilt on the node that forwarded the call as the kind it
// was.
func TestWireErrorsKeepTheirKind(t *testing.T) {
	trip := func(err error) error {
		e := encodeError(err)
		return e.rebuild("bridge.test", "a")
	}
	for _, s := range wireSentinels {
		if got := trip(s.err); got != s.err {
			t.Errorf("%v came back as %v", s.err, got)
		}
		wrapped := fmt.Errorf("doing it: %w", s.err)
		if got := trip(wrapped); !errors.Is(got, s.err) || got.Error() != wrapped.Error() {
			t.Errorf("%v came back as %v", wrapped, got)
		}
	}
	for _, k := range wireUserKinds {
		var ue *store.UserError
		got := trip(fmt.Errorf("store: %w", &store.UserError{Msg: "no such thing", Kind: k.err}))
		if !errors.As(got, &ue) || ue.Msg != "no such thing" || !errors.Is(got, k.err) {
			t.Errorf("a user error of kind %v came back as %#v", k.err, got)
		}
	}
	var ce *CommandError
	if got := trip(refuse("No.")); !errors.As(got, &ce) || ce.Msg != "No." {
		t.Errorf("a refusal came back as %#v", got)
	}
	if got := trip(errors.New("disk on fire")); got.Error() != "bridge: bridge.test on node a: disk on fire" {
		t.Errorf("an internal error came back as %q", got)
	}
}

// next reads the next event of a stream.
func next(t *testing.T, evs <-chan Event) (Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-evs:
		return ev, ok
	case <-time.After(testwait.Timeout):
		t.Fatal("timed out waiting for an event")
		return Event{}, false
	}
}

// until reads a stream until an event with text (or of that type),
// checking that the stored events come one after the other: none
// missing, none twice.
func until(t *testing.T, evs <-chan Event, last *int64, text string) (typing int) {
	t.Helper()
	for {
		ev, ok := next(t, evs)
		if !ok {
			t.Fatalf("the stream closed before %q", text)
		}
		if ev.Seq == 0 {
			typing++
			continue
		}
		if ev.Seq != *last+1 {
			t.Fatalf("event %d (%s %q) after %d", ev.Seq, ev.Type, ev.Text, *last)
		}
		*last = ev.Seq
		if ev.Text == text || ev.Type == text {
			return typing
		}
	}
}

// A visitor's stream on a node that does not run the chat gets every
// event of the owner's in order, the agent's typing too; events the
// topic lost are read from the store at the next refresh; a long poll
// there wakes up at the owner's event.
func TestNodesVisitorStreamOnAnotherNode(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	tc := ct.startOn(b, "Ann")
	ct.agentSays(a, anna, tc, "y")
	v := ct.visitor(b, tc)
	evs, stop, err := v.Subscribe(ct.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	const n = 150 // more than a stream's buffer: a slow reader catches up from the store
	for i := 1; i <= n; i++ {
		if i%10 == 0 {
			if err := a.e.AgentSays("acme", anna, tc.local, "", "composing"); err != nil {
				t.Fatal(err)
			}
		}
		ct.agentSays(a, anna, tc, fmt.Sprintf("m%d", i))
	}
	var last int64
	if typing := until(t, evs, &last, fmt.Sprintf("m%d", n)); typing == 0 {
		t.Error("the agent's typing did not reach the stream")
	}

	// Lost on the topic: the next refresh finds the owner ahead.
	ct.bus.loseTopic(chatTopic(v.Info().ID), true)
	ct.agentSays(a, anna, tc, "lost 1")
	ct.agentSays(a, anna, tc, "lost 2")
	ct.bus.loseTopic(chatTopic(v.Info().ID), false)
	b.clock.Advance(b.e.cfg.VisitorGrace / hereEvery)
	until(t, evs, &last, "lost 2")

	polled := make(chan []Event, 1)
	go func() {
		for {
			evs, err := v.Events(ct.ctx, last, time.Minute)
			if err != nil {
				t.Error(err)
			}
			// Typing that was still on its way from a is not stored:
			// the visitor polls again.
			evs = slices.DeleteFunc(evs, func(ev Event) bool { return ev.Seq == 0 })
			if len(evs) > 0 || err != nil {
				polled <- evs
				return
			}
		}
	}()
	testwait.For(t, "the long poll to wait", func() bool {
		b.e.nodes.mu.Lock()
		defer b.e.nodes.mu.Unlock()
		w := b.e.nodes.watches[v.Info().ID]
		return w != nil && w.refs == 2
	})
	ct.agentSays(a, anna, tc, "poll me")
	select {
	case got := <-polled:
		if len(got) != 1 || got[0].Text != "poll me" || got[0].Seq != last+1 {
			t.Errorf("the long poll got %+v", got)
		}
	case <-time.After(testwait.Timeout):
		t.Fatal("the long poll did not wake up")
	}
}

// A visitor connected to another node is there for the owner: the grace
// period does not run while their stream is open, and runs once it
// closes.
func TestNodesVisitorOnAnotherNodeKeepsTheChat(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	tc := ct.startOn(b, "Ann")
	tc.d = a
	ct.agentSays(a, anna, tc, "y")
	v := ct.visitor(b, tc)
	evs, stop, err := v.Subscribe(ct.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	grace := a.e.cfg.VisitorGrace
	for range 3 * hereEvery {
		b.clock.Advance(grace / hereEvery)
		a.advance(grace / hereEvery)
	}
	tc.wantStatus(store.ChatActive, "")

	stop()
	for range evs { // the stream ends
	}
	b.clock.Advance(grace / hereEvery) // the watch, unused, tells a
	a.settle()
	a.advance(grace - time.Second)
	tc.wantStatus(store.ChatActive, "")
	a.advance(time.Second)
	tc.wantStatus(store.ChatEnded, reasonVisitorLeft)
}

// When the owner dies, the node that adopts the portal runs its chats on:
// a chat on offer is offered again, an active one goes on with its agent
// and its visitor's stream, and its pending end runs out on the new
// node's clock.
func TestNodesTakeOverWhenTheOwnerDies(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b", MaxChats: 1})
	boris := ct.agent(store.NewAgent{Username: "boris.c"})
	ann := ct.startOn(b, "Ann")
	ct.agentSays(b, anna, ann, "y")
	ct.agentSays(b, anna, ann, "#e 30")
	bob := ct.startOn(b, "Bob")
	a.settle()
	a.mustHear("boris.c", "Bob (#1002) asks")
	v := ct.visitor(b, ann)
	evs, stop, err := v.Subscribe(ct.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var last int64
	until(t, evs, &last, "Support will end the chat in 30 seconds")

	ct.kill("a")
	if err := b.e.Adopt(ct.ctx, []int64{ct.portal}); err != nil {
		t.Fatal(err)
	}
	b.settle()
	if b.e.chatByNumber("acme", ann.VisitorNumber) == nil || b.e.chatByNumber("acme", bob.VisitorNumber) == nil {
		t.Fatal("node b does not run the chats it adopted")
	}
	b.mustHear("boris.c", "Bob (#1002) asks")
	ct.agentSays(b, boris, bob, "y")
	if err := ct.visitor(b, bob).Say(ct.ctx, "Thanks", ""); err != nil {
		t.Fatal(err)
	}
	b.settle()
	b.mustHear("boris.c", "Thanks")

	ct.agentSays(b, anna, ann, "Anything else?")
	until(t, evs, &last, "Anything else?")
	if b.e.Load("acme", "anna.b") != 1 || b.e.Load("acme", "boris.c") != 1 {
		t.Errorf("loads on b: anna %d, boris %d", b.e.Load("acme", "anna.b"), b.e.Load("acme", "boris.c"))
	}
	b.advance(30 * time.Second)
	ann.d = b
	ann.wantStatus(store.ChatEnded, reasonIdle)
	b.mustHear("anna.b", "ended after the visitor was silent")
	until(t, evs, &last, EventEnded)
	if _, ok := next(t, evs); ok {
		t.Error("the stream goes on after the end")
	}
}

// Without Adopt, the first call that finds the owner dead makes the node
// that took it the owner: it loads the portal's chats and runs the call.
func TestNodesClaimTheChatsOfADeadOwner(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	b := ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	tc := ct.startOn(b, "Ann")
	ct.agentSays(b, anna, tc, "y")
	v := ct.visitor(b, tc)

	ct.kill("a")
	if err := v.Say(ct.ctx, "Anyone there?", ""); err != nil {
		t.Fatal(err)
	}
	if o := ct.bus.ownerOf(ct.portal); o != "b" {
		t.Fatalf("the portal's owner is %s, want b", o)
	}
	b.settle()
	b.mustHear("anna.b", "Anyone there?")
	tc.d = b
	tc.wantAgents(map[string]string{"anna.b": store.ChatRoleOwner})
}

// A portal moved from a to c while b still took a for its owner: a says
// that it is not, b asks again and reaches c; a's own visitor streams
// close, so that they come back through c.
func TestNodesCallsFollowAMovedPortal(t *testing.T) {
	ct := newClusterTest(t, "a", "b", "c")
	ct.bus.setOwner(ct.portal, "a")
	a, b, c := ct.nodes["a"], ct.nodes["b"], ct.nodes["c"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	tc := ct.startOn(b, "Ann")
	ct.agentSays(b, anna, tc, "y")
	evs, _, err := ct.visitor(a, tc).Subscribe(ct.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}

	ct.bus.setOwner(ct.portal, "c")
	a.e.Release([]int64{ct.portal})
	if err := c.e.Adopt(ct.ctx, []int64{ct.portal}); err != nil {
		t.Fatal(err)
	}
	if a.e.chatByNumber("acme", tc.VisitorNumber) != nil {
		t.Error("node a still runs the chat")
	}
	for range evs { // a's stream closes
	}
	if err := ct.visitor(b, tc).Say(ct.ctx, "Hello?", ""); err != nil {
		t.Fatal(err)
	}
	c.settle()
	c.mustHear("anna.b", "Hello?")
	if c.e.Load("acme", "anna.b") != 1 || a.e.Load("acme", "anna.b") != 0 {
		t.Errorf("anna's load: %d on c, %d on a; want 1 and 0", c.e.Load("acme", "anna.b"), a.e.Load("acme", "anna.b"))
	}
}

// The console of a node that does not run the portal's chats sees them,
// wakes up at their changes, and ends a chat.
func TestNodesConsoleOnAnotherNode(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	ct.agent(store.NewAgent{Username: "anna.b"})
	sue := ct.agent(store.NewAgent{Username: "sue.smith", Role: store.RoleSupervisor})
	sue.Role = store.RoleSupervisor
	ch := b.e.LiveChanged()
	tc := ct.startOn(a, "Ann")
	tc.d = a
	testwait.For(t, "b's console to hear of the new chat", func() bool { return changed(ch) })
	lv := b.e.Live(ct.ctx, "acme")
	if len(lv.Chats) != 1 || lv.Chats[0].Number != tc.VisitorNumber || !slices.Equal(lv.Chats[0].OfferedTo, []string{"anna.b", "sue.smith"}) {
		t.Fatalf("b's live view: %+v", lv.Chats)
	}
	if reply, err := b.e.End(ct.ctx, "acme", sue, tc.VisitorNumber); err != nil || reply != "Chat #1001 ended." {
		t.Fatalf("end through b: %q, %v", reply, err)
	}
	tc.wantStatus(store.ChatEnded, reasonAgent)
}

// A channel customer's message that the dispatcher on b delivers reaches
// the chat on a, once; a line for the chat's agents too.
func TestNodesCustomerOnAnotherNode(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	anna := ct.agent(store.NewAgent{Username: "anna.b"})
	ch, err := ct.st.AddChannel(ct.ctx, store.NewChannel{Portal: "acme", Name: "shop", Type: store.ChannelTelegram,
		Secrets: map[string]string{"bot_token": "1:x", "secret_token": "s"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := ct.st.StoreInbound(ct.ctx, ch.ID, store.InboundMessage{ProviderMessageID: "m1", CustomerID: "42", Name: "Ana",
		Text: "Where is my order?", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.e.CustomerMessage(ct.ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := b.e.CustomerMessage(ct.ctx, in); err != nil && !errors.Is(err, store.ErrDelivered) {
		t.Errorf("the message again: %v, want nil or ErrDelivered", err)
	}
	a.settle()
	a.mustHear("anna.b", "Ana (#1001) asks")
	tc := testChat{d: a, local: address.VisitorName(1001)}
	tc.Started.VisitorNumber = 1001
	ct.agentSays(a, anna, tc, "y")
	in2, _, err := ct.st.StoreInbound(ct.ctx, ch.ID, store.InboundMessage{ProviderMessageID: "m2", CustomerID: "42", Text: "Hello?", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.e.CustomerMessage(ct.ctx, in2); err != nil {
		t.Fatal(err)
	}
	if err := b.e.CustomerMessage(context.Background(), in2); !errors.Is(err, store.ErrDelivered) {
		t.Errorf("a message shown before: %v, want ErrDelivered", err)
	}
	b.e.TellChat(tc.stored().ID, "Not delivered: test")
	testwait.For(t, "the line to reach the agent", func() bool {
		a.settle()
		return a.heard("anna.b", "Not delivered: test") == 1
	})
	a.mustHear("anna.b", "Hello?")
}

// An agent's availability change is acted on where the portal's chats
// run, from what that node's xmppd says; the other nodes send nothing.
func TestNodesAvailabilityActsOnTheOwner(t *testing.T) {
	ct := newClusterTest(t, "a", "b")
	ct.bus.setOwner(ct.portal, "a")
	a, b := ct.nodes["a"], ct.nodes["b"]
	ct.agent(store.NewAgent{Username: "anna.b"})
	boris := ct.agent(store.NewAgent{Username: "boris.c"})
	a.setOnline(boris.Key, false)
	b.setOnline(boris.Key, false)
	ct.startOn(b, "Ann")
	a.settle()
	if a.heard("boris.c", "asks") != 0 {
		t.Fatal("boris, offline, was offered the chat")
	}

	// boris signs in on b: each node's xmppd tells its engine.
	a.setOnline(boris.Key, true)
	b.setOnline(boris.Key, true)
	b.e.AgentAvailabilityChanged("acme", boris.Key, Online)
	a.e.AgentAvailabilityChanged("acme", boris.Key, Online)
	a.settle()
	if a.heard("boris.c", "Ann (#1001) asks") != 1 || b.agents.count("boris.c", "") != 0 {
		t.Errorf("boris was offered the chat %d times by a, and b told him %d things", a.heard("boris.c", "asks"), b.agents.count("boris.c", ""))
	}
}
