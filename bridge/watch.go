package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
)

// A visitor's stream (Events, Subscribe) may be open on a node that does
// not run the chat. The events are in the store either way: the stream
// needs only to know when to read it, and the agents' typing, which is
// not stored. So the owner publishes each event of a chat on the chat's
// topic once it is stored, and that the chat is over when it ends; a node
// where streams of the chat are open follows the topic with one watch,
// which its streams subscribe to as they would to the chat. The watch
// also tells the owner that the visitor is there (visitorHere), at once
// and every VisitorGrace/hereEvery, so that the grace period does not run
// out while the visitor is connected elsewhere: the owner counts another
// node's streams for VisitorGrace after it last heard of them. Each
// answer carries the owner's last seq: a watch that did not get an event
// on the topic (a message lost) makes its streams read the store again.

// hereEvery is how many times per VisitorGrace a watch tells the owner
// that the visitor is still there.
const hereEvery = 4

// feed is where a visitor's stream learns of the chat's events: the chat
// itself on the node that runs it, a watch of it on another.
type feed interface {
	// subscribe returns a channel of the chat's events, or nil when the
	// chat is over. The channel is closed when the chat ends, or to make
	// the subscriber catch up from the store: it subscribes again, then
	// reads what is stored.
	subscribe() chan Event
	unsubscribe(ch chan Event)
}

// wireEvent is what a chat's topic carries.
type wireEvent struct {
	Event *Event `json:"event,omitempty"`
	Over  bool   `json:"over,omitempty"`
}

// hereReply answers visitorHere.
type hereReply struct {
	Seq  int64 `json:"seq"`            // the chat's last stored event
	Over bool  `json:"over,omitempty"` // the chat is over
}

// chatTopic is the topic of a chat's events.
func chatTopic(id int64) string { return chatTopicPrefix + strconv.FormatInt(id, 10) }

// publishRemote tells the nodes that follow the chat of an event it
// published, or that it is over (ev nil). A message that is lost costs a
// stream a read of the store at the next refresh, nothing more.
func (c *Chat) publishRemote(ev *Event, over bool) {
	n := c.e.nodes
	if n == nil {
		return
	}
	b, err := json.Marshal(wireEvent{Event: ev, Over: over})
	if err == nil {
		err = n.Publish(chatTopic(c.id), b)
	}
	if err != nil {
		c.e.log.Debug("publish a chat event to the other nodes", "portal", c.portal, "chat", c.number, "err", err)
	}
}

// visitorHere is a node with visitor streams of the chat open saying so
// (r.Gone: the last one closed). The owner counts that node's streams as
// a connection of the visitor's for VisitorGrace, unless it hears again.
func (e *Engine) visitorHere(ctx context.Context, r visitorCall) (hereReply, error) {
	if rep, done, err := forward[visitorCall, hereReply](ctx, e, r.Portal, kindHere, r); done {
		return rep, err
	}
	c := e.visitorChat(r).chat()
	if c == nil {
		return hereReply{Over: true}, nil
	}
	from, ok := peerOf(ctx)
	if !ok {
		from = e.nodes.self
	}
	if r.Gone {
		c.remoteGone(from, nil)
	} else {
		c.remoteHere(from)
	}
	return hereReply{Seq: c.seq.Load()}, nil
}

// presence is another node's visitor streams of a chat, as its owner
// counts them: until the timer runs out, unless heard of again.
type presence struct{ t timer }

// remoteHere counts the streams of node from as one connection of the
// visitor's for VisitorGrace from now.
func (c *Chat) remoteHere(from string) {
	p := &presence{}
	c.vmu.Lock()
	if c.vclosed {
		c.vmu.Unlock()
		return
	}
	old, had := c.remote[from]
	c.remote[from] = p
	p.t = c.e.clock.AfterFunc(c.e.cfg.VisitorGrace, func() { c.remoteGone(from, p) })
	c.vmu.Unlock()
	if had {
		stopTimer(old.t)
		return
	}
	c.visitorConnected(1)
}

// remoteGone stops counting the streams of node from: all of them closed
// (p nil), or p, their count, ran out.
func (c *Chat) remoteGone(from string, p *presence) {
	c.vmu.Lock()
	cur, ok := c.remote[from]
	if !ok || p != nil && cur != p {
		c.vmu.Unlock()
		return
	}
	delete(c.remote, from)
	c.vmu.Unlock()
	stopTimer(cur.t)
	c.visitorConnected(-1)
}

// watch is a chat that runs on another node, followed on this one for
// the visitor streams open here.
type watch struct {
	e      *Engine
	portal string
	chat   int64
	refs   int           // streams that hold it; guarded by nodes.mu
	ready  chan struct{} // closed once started
	err    error         // why it could not start; set before ready closes

	mu      sync.Mutex
	subs    map[chan Event]struct{}
	unsub   func()
	seen    int64 // the chat's highest seq this node heard of
	timer   timer // the next refresh
	over    bool
	stopped bool
}

// watch returns the watch of a chat of another node, started for its
// first stream; unwatch gives it back.
func (e *Engine) watch(ctx context.Context, portal string, chatID int64) (*watch, error) {
	n := e.nodes
	n.mu.Lock()
	w := n.watches[chatID]
	if w != nil {
		w.refs++
		n.mu.Unlock()
		select {
		case <-w.ready:
		case <-ctx.Done():
			e.unwatch(w)
			return nil, ctx.Err()
		}
		if w.err != nil {
			e.unwatch(w)
			return nil, w.err
		}
		return w, nil
	}
	w = &watch{e: e, portal: portal, chat: chatID, refs: 1, ready: make(chan struct{}), subs: map[chan Event]struct{}{}}
	n.watches[chatID] = w
	n.mu.Unlock()
	w.err = w.start(ctx)
	close(w.ready)
	if w.err != nil {
		e.unwatch(w)
		return nil, w.err
	}
	return w, nil
}

// unwatch gives a watch back. The last stream's leaves it to its next
// refresh (tick) to stop, so that a stream that comes back at once (the
// next long poll) finds it.
func (e *Engine) unwatch(w *watch) {
	n := e.nodes
	failed := false
	select {
	case <-w.ready:
		failed = w.err != nil
	default: // starting: its first stream holds it still
	}
	n.mu.Lock()
	w.refs--
	w.mu.Lock()
	done := failed || w.over || w.stopped
	w.mu.Unlock()
	drop := w.refs == 0 && done
	if drop && n.watches[w.chat] == w {
		delete(n.watches, w.chat)
	}
	n.mu.Unlock()
	if drop {
		w.stop()
	}
}

// start follows the chat's topic, then tells the owner that the visitor
// is here. The owner not answering does not stop the stream: the next
// refresh tries again.
func (w *watch) start(ctx context.Context) error {
	unsub, err := w.e.nodes.Subscribe(chatTopic(w.chat), w.receive)
	if err != nil {
		return errors.Join(errors.New("bridge: follow a chat of another node"), err)
	}
	w.mu.Lock()
	w.unsub = unsub
	w.mu.Unlock()
	w.refresh(ctx)
	return nil
}

// receive takes what the chat's topic brings.
func (w *watch) receive(_ string, data []byte) {
	var m wireEvent
	if json.Unmarshal(data, &m) != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.over {
		return
	}
	if ev := m.Event; ev != nil {
		w.seen = max(w.seen, ev.Seq)
		for ch := range w.subs {
			select {
			case ch <- *ev:
			default:
				// A stuck stream: it catches up from the store.
				delete(w.subs, ch)
				close(ch)
			}
		}
	}
	if m.Over {
		w.over = true
		w.closeSubs()
	}
}

// refresh tells the owner that the visitor is here, makes the streams
// catch up when the owner stored more than this node heard of, and arms
// the next refresh.
func (w *watch) refresh(ctx context.Context) {
	rep, err := w.e.visitorHere(ctx, visitorCall{Portal: w.portal, Chat: w.chat})
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.over {
		return
	}
	switch {
	case err == nil && rep.Over:
		w.over = true
		w.closeSubs()
		return
	case err != nil:
		w.e.log.Warn("tell the node of a chat that its visitor is here", "portal", w.portal, "chat", w.chat, "err", err)
	case rep.Seq > w.seen:
		w.seen = rep.Seq
		w.closeSubs() // they subscribe again and read the store
	}
	w.timer = w.e.clock.AfterFunc(w.e.cfg.VisitorGrace/hereEvery, w.tick)
}

// tick is a watch's refresh, or its end when no stream has held it since
// the last one: the owner is told that the visitor left this node.
func (w *watch) tick() {
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	if !w.e.dropIdle(w) {
		w.refresh(ctx)
		w.mu.Lock()
		over := w.over
		w.mu.Unlock()
		if over && w.e.dropIdle(w) {
			w.stop()
		}
		return
	}
	w.stop()
	if _, err := w.e.visitorHere(ctx, visitorCall{Portal: w.portal, Chat: w.chat, Gone: true}); err != nil {
		w.e.log.Debug("tell the node of a chat that its visitor left", "portal", w.portal, "chat", w.chat, "err", err)
	}
}

// dropIdle forgets a watch that no stream holds, and reports whether it
// did.
func (e *Engine) dropIdle(w *watch) bool {
	n := e.nodes
	n.mu.Lock()
	defer n.mu.Unlock()
	idle := w.refs == 0
	if idle && n.watches[w.chat] == w {
		delete(n.watches, w.chat)
	}
	return idle
}

// stop ends the watch: no more refreshes, the topic is left, the streams
// still subscribed are closed.
func (w *watch) stop() {
	w.mu.Lock()
	w.stopped = true
	stopTimer(w.timer)
	unsub := w.unsub
	w.unsub = nil
	w.closeSubs()
	w.mu.Unlock()
	if unsub != nil {
		unsub()
	}
}

// closeSubs closes the streams' channels; w.mu is held.
func (w *watch) closeSubs() {
	for ch := range w.subs {
		delete(w.subs, ch)
		close(ch)
	}
}

func (w *watch) subscribe() chan Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over || w.stopped {
		return nil
	}
	ch := make(chan Event, 64)
	w.subs[ch] = struct{}{}
	return ch
}

func (w *watch) unsubscribe(ch chan Event) {
	if ch == nil {
		return
	}
	w.mu.Lock()
	delete(w.subs, ch)
	w.mu.Unlock()
}
