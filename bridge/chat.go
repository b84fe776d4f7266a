package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"jabberdesk/address"
	"jabberdesk/store"
)

// Chat is one live visitor chat. Its state belongs to its goroutine (run);
// other goroutines reach it by posting functions (post, call).
type Chat struct {
	e        *Engine
	id       int64
	publicID string
	portal   string
	number   int64
	local    string // "v-1042"

	ops      chan func()
	quit     chan struct{} // closed to stop run
	exited   chan struct{} // closed when run has returned
	stopOnce sync.Once

	// Owned by run.
	info        store.Chat
	members     []member
	offers      map[string]*offer // by agent key
	tried       map[string]bool   // round robin: agents offered in this round
	declined    map[string]bool   // broadcast: agents who answered n, not offered again
	lastOffered string            // round robin: the agent offered last
	queueTimer  timer
	graceTimer  timer
	endTimer    timer     // #e 30: ends the chat unless the visitor speaks
	lastMessage time.Time // the visitor's or an agent's newest message (zero: none yet)
	over        bool
	replied     bool // an agent has written to the visitor
	askedRating bool // the end asked the visitor to rate the chat

	// Shared with visitor connections, guarded by vmu.
	vmu     sync.Mutex
	changed chan struct{} // closed and replaced when an event is published
	subs    map[chan Event]struct{}
	conns   int                  // open visitor connections and polls, those of other nodes included
	remote  map[string]*presence // other nodes with visitor streams of the chat (watch.go)
	vclosed bool                 // the chat is over, or runs elsewhere now: no more subscriptions

	card   atomic.Pointer[Contact]          // the roster contact, for other goroutines
	status atomic.Pointer[store.ChatStatus] // info.Status, for other goroutines
	seq    atomic.Int64                     // the last stored event's seq, for other nodes' streams
}

// member is an agent in the chat.
type member struct {
	key, name string
	role      memberRole
}

// memberRole is what an agent is in a chat, as the store keeps it.
type memberRole string

// Roles of an agent in a chat.
const (
	roleOwner   memberRole = store.ChatRoleOwner   // accepted the chat, or took it over
	roleInvited memberRole = store.ChatRoleInvited // joined on an invitation
	roleMonitor memberRole = store.ChatRoleMonitor // a supervisor's silent copy
)

// address names the chat across portals; it never changes.
func (c *Chat) address() address.Chat { return address.Chat{Portal: c.portal, Number: c.number} }

// staffed reports whether an agent other than a silent monitor is in the
// chat: a chat watched only by a supervisor is still waiting for one.

func (c *Chat) staffed() bool {
	for _, m := range c.members {
		if m.role != roleMonitor {
			return true
		}
	}
	return false
}

// staff is the first agent in the chat who is not a monitor.
func (c *Chat) staff() (member, bool) {
	for _, m := range c.members {
		if m.role != roleMonitor {
			return m, true
		}
	}
	return member{}, false
}

// countLoad adds d to the chats m is counted in for max_chats; watching a
// chat as a monitor does not count.
func (c *Chat) countLoad(m member, d int) {
	if m.role != roleMonitor {
		c.e.addLoad(c.portal, m.key, d)
	}
}

// offer is a pending offer of the chat to one agent: the chat itself
// (kindChat), or a transfer or an invitation from an agent in the chat.
type offer struct {
	id       int64
	kind     offerKind
	from     string // transfers and invitations: the agent who made it
	fromName string
	note     string
	dept     string // a transfer to a department: offered to each of its agents
	timer    timer  // round robin, transfers and invitations: the offer timeout
}

// offerKind is what an offer is for, as the store keeps it.
type offerKind string

// Offer kinds.
const (
	kindChat     offerKind = store.OfferChat     // a waiting chat, offered by routing
	kindTransfer offerKind = store.OfferTransfer // #t: take the chat over from an agent
	kindInvite   offerKind = store.OfferInvite   // #i: join an agent in the chat
)

// offerAnswer is how an offer ended, as the store keeps it.
type offerAnswer string

// Offer answers.
const (
	answerAccepted  offerAnswer = store.OfferAccepted
	answerDeclined  offerAnswer = store.OfferDeclined
	answerTimeout   offerAnswer = store.OfferTimeout
	answerWithdrawn offerAnswer = store.OfferWithdrawn // someone else took it, or the chat ended
)

func newChat(e *Engine, sc store.Chat) *Chat {
	c := &Chat{
		e: e, id: sc.ID, publicID: sc.PublicID, portal: sc.Portal, number: sc.Number, local: address.VisitorName(sc.Number),
		ops: make(chan func(), 64), quit: make(chan struct{}), exited: make(chan struct{}),
		info: sc, offers: make(map[string]*offer), tried: make(map[string]bool), declined: make(map[string]bool),
		changed: make(chan struct{}), subs: make(map[chan Event]struct{}), remote: make(map[string]*presence),
		replied: sc.FirstReplyAt != nil,
	}
	c.seq.Store(sc.LastSeq)
	for _, a := range sc.Agents {
		if a.LeftAt == nil {
			c.members = append(c.members, member{key: store.UsernameKey(a.Username), name: a.Name, role: memberRole(a.Role)})
		}
	}
	c.updateCard()
	return c
}

// run executes posted functions until the chat is over or stopped.
func (c *Chat) run() {
	defer close(c.exited)
	for {
		select {
		case f := <-c.ops:
			f()
		case <-c.quit:
			return
		}
	}
}

// post queues f to run on the chat's goroutine; it is dropped if the chat
// is over.
func (c *Chat) post(f func()) {
	select {
	case c.ops <- f:
	case <-c.exited:
	}
}

// errChatOver is returned by call when the chat ended meanwhile.
var errChatOver = errors.New("bridge: chat is over")

// call runs f on the chat's goroutine and waits for its result.
func (c *Chat) call(ctx context.Context, f func() error) error {
	res := make(chan error, 1)
	select {
	case c.ops <- func() { res <- f() }:
	case <-c.exited:
		return errChatOver
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-res:
		return err
	case <-c.exited:
		// run has returned: f ran before (its result is there) or never.
		select {
		case err := <-res:
			return err
		default:
			return errChatOver
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the goroutine without ending the chat (server shutdown).
func (c *Chat) stop() {
	c.stopOnce.Do(func() { close(c.quit) })
}

// ctx is the context for the chat's own database work.
func (c *Chat) ctx() context.Context { return context.Background() }

// title is how agents see the visitor: "Ann (#1042)".
func (c *Chat) title() string {
	return c.info.VisitorName + " (#" + strconv.FormatInt(c.number, 10) + ")"
}

// updateCard refreshes the contact other goroutines read.
func (c *Chat) updateCard() {
	st := c.info.Status
	c.status.Store(&st)
	status := truncate(c.info.Question, 120)
	switch {
	case c.info.Channel != "":
		status += " — " + c.info.Channel
	case c.info.Department != "":
		status += " — " + c.info.Department
	}
	c.card.Store(&Contact{Local: c.local, Name: c.title(), Status: status, Available: c.info.Status.Live()})
	c.e.changed()
}

func (c *Chat) contact() Contact { return *c.card.Load() }

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// member returns the agent's membership, or nil.
func (c *Chat) member(key string) *member {
	for i := range c.members {
		if c.members[i].key == key {
			return &c.members[i]
		}
	}
	return nil
}

// publish stores a visible event (unless it is a typing event) and hands
// it to the visitor's connections, those on other nodes too (watch.go).
// An event that cannot be stored is not handed out: the error says so.
func (c *Chat) publish(ev Event, kind, author string) error {
	if ev.At.IsZero() {
		ev.At = c.e.now().UTC()
	}
	if ev.Type != EventTyping {
		rec, err := c.e.store.AppendChatEvent(c.ctx(), c.id, ev.record(kind, author))
		if err != nil {
			return fmt.Errorf("bridge: store chat event %s: %w", ev.Type, err)
		}
		ev.Seq, ev.At = rec.Seq, rec.At
		c.seq.Store(ev.Seq)
	}
	if ev.Type == EventMessage || ev.Type == EventVisitorMessage {
		c.lastMessage = ev.At
		c.e.changed()
	}
	c.vmu.Lock()
	for ch := range c.subs {
		select {
		case ch <- ev:
		default:
			// A stuck connection: drop it; the widget reconnects with after=SEQ.
			delete(c.subs, ch)
			close(ch)
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.vmu.Unlock()
	c.publishRemote(&ev, false)
	return nil
}

// announce publishes an event that the chat goes on without when it
// cannot be stored (a notice, a join, the end): the failure is logged.
func (c *Chat) announce(ev Event, kind, author string) {
	c.logStoreError("publish "+ev.Type, c.publish(ev, kind, author))
}

// logStoreError logs a failed store operation op (nothing when err is
// nil) whose failure the chat goes on without, with the chat it was for.
func (c *Chat) logStoreError(op string, err error) {
	if err != nil {
		c.e.log.Error("chat: "+op+" failed", "portal", c.portal, "chat", c.number, "err", err)
	}
}

// subscribe registers a channel for the chat's visitor events, or returns
// nil if the chat is over or not running (c is nil). publish closes a
// channel that is full, dropping its subscriber, and the end closes all.
func (c *Chat) subscribe() chan Event {
	if c == nil {
		return nil
	}
	ch := make(chan Event, 64)
	c.vmu.Lock()
	defer c.vmu.Unlock()
	if c.vclosed {
		return nil
	}
	c.subs[ch] = struct{}{}
	return ch
}

// unsubscribe forgets a channel from subscribe (nil or already dropped:
// nothing to do).
func (c *Chat) unsubscribe(ch chan Event) {
	if ch == nil {
		return
	}
	c.vmu.Lock()
	delete(c.subs, ch)
	c.vmu.Unlock()
}

// tell sends agent a system line from the visitor contact.
func (c *Chat) tell(agent, text string) bool {
	return c.e.agentsSide().Message(c.portal, agent, Message{From: c.local, Body: SystemPrefix + text, System: true})
}

// show puts the chat in an agent's roster (or updates it there).
func (c *Chat) show(agent string) {
	c.e.setContact(c, agent, true)
	c.e.agentsSide().Contact(c.portal, agent, c.contact())
}

// hide takes the chat out of an agent's roster.
func (c *Chat) hide(agent string) {
	c.e.setContact(c, agent, false)
	card := c.contact()
	card.Available, card.Remove = false, true
	c.e.agentsSide().Contact(c.portal, agent, card)
}

// visitorConnected counts a visitor connection (WebSocket or poll) in or
// out; the grace timer runs while there is none.
func (c *Chat) visitorConnected(delta int) {
	c.vmu.Lock()
	c.conns += delta
	n := c.conns
	c.vmu.Unlock()
	switch {
	case delta > 0 && n == 1:
		c.post(c.visitorBack)
	case delta < 0 && n == 0:
		c.post(c.visitorGone)
	}
}

func (c *Chat) visitorBack() {
	stopTimer(c.graceTimer)
	c.graceTimer = nil
	c.logStoreError("touch visitor", c.e.store.TouchVisitor(c.ctx(), c.id, c.e.now()))
}

func (c *Chat) visitorGone() {
	c.vmu.Lock()
	n := c.conns
	c.vmu.Unlock()
	if n > 0 || c.over {
		return
	}
	c.startGrace()
}

// startGrace ends the chat unless the visitor comes back in time.
func (c *Chat) startGrace() {
	stopTimer(c.graceTimer)
	c.graceTimer = c.e.clock.AfterFunc(c.e.cfg.VisitorGrace, func() {
		c.post(func() {
			c.vmu.Lock()
			n := c.conns
			c.vmu.Unlock()
			if n == 0 && !c.over {
				c.end(reasonVisitorLeft)
			}
		})
	})
}

// finish releases what a chat holds once it is over.
func (c *Chat) finish() {
	c.over = true
	for _, t := range []timer{c.queueTimer, c.graceTimer, c.endTimer} {
		stopTimer(t)
	}
	for _, o := range c.offers {
		stopTimer(o.timer)
	}
	c.e.forget(c)
	c.closeStreams()
	c.publishRemote(nil, true)
	c.stop()
}

// closeStreams closes the visitor streams of a chat that stops running
// here: it is over, or another node runs it now (the visitor comes back
// through that one). Other nodes' streams are no longer counted.
func (c *Chat) closeStreams() {
	c.vmu.Lock()
	defer c.vmu.Unlock()
	c.vclosed = true
	for ch := range c.subs {
		delete(c.subs, ch)
		close(ch)
	}
	close(c.changed)
	c.changed = make(chan struct{})
	for from, p := range c.remote {
		stopTimer(p.t)
		delete(c.remote, from)
	}
}
