package bridge

import (
	"context"
	"sync"
	"time"
)

// A visitor's events reach them through a long poll (Events) or a stream
// (Subscribe). Both read what is stored, after the seq the visitor has,
// and use the chat only to learn when there is more (and for an agent's
// typing, which is not stored): the chat itself where it runs, a watch of
// it on another node (watch.go). So a stream misses nothing and repeats
// nothing, wherever it is open and whatever it was told live.

// feed returns what tells a visitor's stream of the chat's events, and
// release, to call when the stream ends: while it is held the visitor is
// there. It is nil when the chat is over.
func (v *VisitorChat) feed(ctx context.Context) (feed, func(), error) {
	if v.e.nodes != nil && v.info.Status.Live() {
		node, err := v.e.owner(ctx, v.info.Portal)
		if err != nil {
			return nil, nil, err
		}
		if node != v.e.nodes.self {
			w, err := v.e.watch(ctx, v.info.Portal, v.info.ID)
			if err != nil {
				return nil, nil, err
			}
			return w, func() { v.e.unwatch(w) }, nil
		}
	}
	c := v.chat()
	if c == nil {
		return nil, func() {}, nil
	}
	c.visitorConnected(1)
	return c, func() { c.visitorConnected(-1) }, nil
}

// Events returns the visible events after seq; when there are none and
// the chat is live it waits up to wait for one. An agent's typing, which
// is not stored, is returned when it happens during the wait (seq 0).
func (v *VisitorChat) Events(ctx context.Context, after int64, wait time.Duration) ([]Event, error) {
	f, release, err := v.feed(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var live chan Event
	if f != nil {
		live = f.subscribe()
		defer func() { f.unsubscribe(live) }()
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		evs, err := v.stored(ctx, after)
		if err != nil && ctx.Err() != nil {
			// The wait ended (the server stops, the visitor left) while
			// the store was read: nothing new, as when it ends between
			// reads.
			return []Event{}, nil
		}
		if err != nil || len(evs) > 0 || live == nil {
			return evs, err
		}
		select {
		case ev, ok := <-live:
			if ok && ev.Seq == 0 {
				return []Event{ev}, nil
			}
			if !ok {
				// The chat is over (nil: what is stored is all), or the
				// wait is to read the store again.
				live = f.subscribe()
			}
		case <-deadline.C:
			return []Event{}, nil
		case <-ctx.Done():
			return []Event{}, nil
		}
	}
}

func (v *VisitorChat) stored(ctx context.Context, after int64) ([]Event, error) {
	recs, err := v.e.store.ChatEvents(ctx, v.info.ID, after, true, storedPage)
	if err != nil {
		return nil, err
	}
	evs := make([]Event, 0, len(recs))
	for _, r := range recs {
		evs = append(evs, eventFromRecord(r))
	}
	return evs, nil
}

// storedPage is how many stored events one read returns.
const storedPage = 500

// Subscribe streams the chat's events after seq: first those stored, then
// live ones, until cancel is called or the chat ends (the channel closes
// once everything stored has been sent). A subscriber that falls behind
// the live events, or is told of one after a gap, is caught up from the
// store, so it misses nothing. While subscribed the visitor counts as
// present.
func (v *VisitorChat) Subscribe(ctx context.Context, after int64) (<-chan Event, func(), error) {
	f, release, err := v.feed(ctx)
	if err != nil {
		return nil, nil, err
	}
	s := &stream{v: v, ctx: ctx, f: f, out: make(chan Event, 64), done: make(chan struct{}), last: after}
	if f != nil {
		s.live = f.subscribe()
	}
	if s.live == nil {
		// The chat is over (or not running): what is stored is all.
		release()
		evs, err := v.stored(ctx, after)
		if err != nil {
			return nil, nil, err
		}
		go s.storedOnly(evs)
		return s.out, func() {}, nil
	}
	backlog, err := v.stored(ctx, after)
	if err != nil {
		f.unsubscribe(s.live)
		release()
		return nil, nil, err
	}
	var once sync.Once
	cancel := func() { once.Do(func() { close(s.done) }) }
	go func() {
		defer close(s.out)
		defer release()
		defer func() { f.unsubscribe(s.live) }()
		s.run(backlog)
	}()
	return s.out, cancel, nil
}

// stream is one Subscribe.
type stream struct {
	v    *VisitorChat
	ctx  context.Context
	f    feed
	live chan Event
	out  chan Event
	done chan struct{} // closed by the subscriber's cancel
	last int64         // the seq of the last event sent
}

// storedOnly sends what is stored, page by page, and closes the stream.
func (s *stream) storedOnly(evs []Event) {
	defer close(s.out)
	for len(evs) > 0 {
		for _, ev := range evs {
			s.out <- ev
			s.last = ev.Seq
		}
		if len(evs) < storedPage {
			return
		}
		if evs, _ = s.v.stored(s.ctx, s.last); evs == nil {
			return // the request is gone, or the store failed
		}
	}
}

// send hands ev to the subscriber, unless they cancelled.
func (s *stream) send(ev Event) bool {
	select {
	case s.out <- ev:
		return true
	case <-s.done:
		return false
	}
}

// catchUp sends what is stored after last, page by page, starting with
// page.
func (s *stream) catchUp(page []Event) bool {
	for {
		for _, ev := range page {
			if !s.send(ev) {
				return false
			}
			s.last = ev.Seq
		}
		if len(page) < storedPage {
			return true
		}
		var err error
		if page, err = s.v.stored(s.ctx, s.last); err != nil {
			return false
		}
	}
}

// run sends the backlog, then the live events, until the subscriber
// cancels or the chat is over.
func (s *stream) run(backlog []Event) {
	if !s.catchUp(backlog) {
		return
	}
	for {
		select {
		case ev, ok := <-s.live:
			switch {
			case !ok:
				// The chat is over, or this subscriber fell behind and was
				// dropped: subscribe again (unless over) before reading
				// the store, so nothing falls in between.
				s.live = s.f.subscribe()
				if !s.readStore() || s.live == nil {
					return
				}
			case ev.Seq != 0 && ev.Seq <= s.last:
			case ev.Seq > s.last+1:
				// Something was not told (or was not the visitor's):
				// what is stored says.
				if !s.readStore() {
					return
				}
			default:
				if !s.send(ev) {
					return
				}
				if ev.Seq != 0 {
					s.last = ev.Seq
				}
			}
		case <-s.done:
			return
		}
	}
}

// readStore sends what is stored after last.
func (s *stream) readStore() bool {
	rest, err := s.v.stored(context.WithoutCancel(s.ctx), s.last)
	return err == nil && s.catchUp(rest)
}
