package bridge

import (
	"context"
	"sort"
	"sync"
	"time"

	"jabberdesk/store"
)

// The live view is what a supervisor watches (the console's Live page):
// a portal's live chats with who is in them and who has them on offer,
// and how many chats each agent is in. It is read-only: nothing here
// changes a chat.

// LiveView is a snapshot of a portal's live chats.
type LiveView struct {
	At    time.Time
	Chats []LiveChat // without an agent first, longest waiting first; then the others by number
	// Loads are the chats each agent is in (monitoring does not count),
	// by username key; agents in none are absent.
	Loads map[string]int
}

// LiveChat is one live chat in a LiveView.
type LiveChat struct {
	Number     int64
	Visitor    string
	Department string
	Question   string
	Channel    string // the channel's name for an IM customer; "" for a web visitor
	Status     store.ChatStatus
	CreatedAt  time.Time
	// LastMessageAt is when the visitor or an agent last wrote; zero
	// while nobody has.
	LastMessageAt time.Time
	Agents        []LiveMember // in the order they joined
	OfferedTo     []string     // username keys of the agents with an offer, sorted
}

// Waiting reports whether the chat is without an agent (waiting or
// offered, possibly watched by a monitor).
func (c LiveChat) Waiting() bool { return c.Status != store.ChatActive }

// LiveMember is an agent in a live chat.
type LiveMember struct {
	Key, Name string
	Role      string // store.ChatRoleOwner, ChatRoleInvited or ChatRoleMonitor
}

// Live is a snapshot of the portal's live chats. A chat that ends while
// the snapshot is taken is left out.
func (e *Engine) Live(ctx context.Context, portal string) LiveView {
	v, err := e.liveView(ctx, portal)
	if err != nil {
		e.logForward(kindLive, portal, err)
		return LiveView{At: e.now(), Loads: map[string]int{}}
	}
	return v
}

func (e *Engine) liveView(ctx context.Context, portal string) (LiveView, error) {
	if v, done, err := forward[portalCall, LiveView](ctx, e, portal, kindLive, portalCall{Portal: portal}); done {
		return v, err
	}
	v := LiveView{At: e.now(), Loads: map[string]int{}}
	for _, c := range e.portalChats(portal) {
		var lc LiveChat
		err := c.call(ctx, func() error {
			if c.over {
				return errChatOver
			}
			lc = c.live()
			return nil
		})
		if err == nil {
			v.Chats = append(v.Chats, lc)
		}
	}
	sort.Slice(v.Chats, func(i, j int) bool {
		a, b := v.Chats[i], v.Chats[j]
		if a.Waiting() != b.Waiting() {
			return a.Waiting()
		}
		if a.Waiting() && !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.Number < b.Number
	})
	e.mu.Lock()
	for ref, n := range e.load {
		if ref.Portal == portal {
			v.Loads[ref.Key] = n
		}
	}
	e.mu.Unlock()
	return v, nil
}

// live is the chat in a LiveView; it runs on the chat's goroutine.
func (c *Chat) live() LiveChat {
	lc := LiveChat{Number: c.number, Visitor: c.info.VisitorName, Department: c.info.Department, Question: c.info.Question,
		Channel: c.info.Channel, Status: c.info.Status, CreatedAt: c.info.CreatedAt, LastMessageAt: c.lastMessage}
	for _, m := range c.members {
		lc.Agents = append(lc.Agents, LiveMember{Key: m.key, Name: m.name, Role: string(m.role)})
	}
	for key := range c.offers {
		lc.OfferedTo = append(lc.OfferedTo, key)
	}
	sort.Strings(lc.OfferedTo)
	return lc
}

// LiveChanged returns a channel that is closed at the next change of
// what Live shows of any portal or of an agent's availability: a chat
// started, offered, taken, joined, left or ended, a message written. A
// watcher takes a new channel after each change, so that changes made
// while it was looking are not lost. With several nodes, the changes of
// the chats other nodes run close it too (changed, publishLive).
func (e *Engine) LiveChanged() <-chan struct{} { return e.changes.wait() }

// signal wakes whoever waits for the next change: wait returns the
// channel, fire closes it. The channel is made only when someone waits.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
