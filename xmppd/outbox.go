package xmppd

import (
	"io"
	"sync"
	"time"
)

// outbox is a session's bounded queue of serialized stanzas. Anyone may
// push; a writer goroutine, started only while there is something to write,
// drains it in batches to the connection. What is pushed lazily (presence)
// may wait up to lazyDelay for company, so that a burst of sign-ins costs
// each colleague a few writes rather than one per presence; anything else
// starts the writer at once and takes the waiting entries along. At most
// max entries are held, counting the batch being written; an entry is
// usually one stanza, or one burst (see session.deliverAll). A push never
// blocks: when the outbox is full the reader is too slow, the outbox
// closes itself and onOverflow is called (the session is then
// disconnected).
type outbox struct {
	w            io.Writer
	max          int
	writeTimeout time.Duration
	setDeadline  func(time.Time) error
	onOverflow   func()
	onError      func(error)
	onDrained    func()     // called once after the final write when closing
	pool         *sync.Pool // of *[]byte write buffers, shared by sessions
	lazyDelay    time.Duration

	mu      sync.Mutex
	q       [][]byte
	spare   [][]byte
	writes  int // stanzas in the batch being written
	writing bool
	timer   *time.Timer // starts the writer for lazy entries
	waiting bool        // timer is set
	// deadline is the write deadline last set: it is only moved forward
	// when less than half of writeTimeout is left.
	deadline time.Time
	closed   bool // no more pushes
	final    bool // onDrained is due once the queue is empty
	done     bool
}

// push queues b. It reports false if the outbox is closed or overflowed.
func (o *outbox) push(b []byte) bool { return o.pushAs(b, false) }

// pushAs queues b; lazy entries may wait up to lazyDelay to be written.
func (o *outbox) pushAs(b []byte, lazy bool) bool {
	lazy = lazy && o.lazyDelay > 0
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	if len(o.q)+o.writes >= o.max {
		o.closed = true
		o.mu.Unlock()
		if o.onOverflow != nil {
			o.onOverflow()
		}
		return false
	}
	o.q = append(o.q, b)
	switch {
	case !lazy:
		o.startLocked()
	case !o.writing && !o.waiting:
		o.waiting = true
		if o.timer == nil {
			o.timer = time.AfterFunc(o.lazyDelay, o.lazyStart)
		} else {
			o.timer.Reset(o.lazyDelay)
		}
	}
	o.mu.Unlock()
	return true
}

// backlog is the number of entries queued, the batch being written
// included.
func (o *outbox) backlog() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q) + o.writes
}

// lazyStart starts the writer for entries pushed lazily, unless something
// else already has.
func (o *outbox) lazyStart() {
	o.mu.Lock()
	if !o.waiting || o.writing {
		o.mu.Unlock()
		return
	}
	o.waiting, o.writing = false, true
	o.mu.Unlock()
	o.drain() // the timer's goroutine is the writer
}

// close queues last (may be nil), refuses further pushes and calls
// onDrained once everything queued has been written (or writing failed).
func (o *outbox) close(last []byte) {
	o.mu.Lock()
	if o.final {
		o.mu.Unlock()
		return
	}
	o.closed, o.final = true, true
	if last != nil {
		o.q = append(o.q, last)
	}
	o.startLocked()
	o.mu.Unlock()
}

// maxSpare bounds the queue slice an idle outbox keeps for reuse: a
// burst of sign-ins can grow one to thousands of entries.
const maxSpare = 32

func (o *outbox) startLocked() {
	if o.waiting {
		o.waiting = false
		o.timer.Stop()
	}
	if !o.writing {
		o.writing = true
		go o.drain()
	}
}

func (o *outbox) drain() {
	for {
		o.mu.Lock()
		batch := o.q
		o.q = o.spare[:0]
		o.spare = nil
		o.writes = len(batch)
		if len(batch) == 0 {
			o.writing = false
			finish := o.final && !o.done
			if finish {
				o.done = true
			}
			o.mu.Unlock()
			if finish && o.onDrained != nil {
				o.onDrained()
			}
			return
		}
		o.mu.Unlock()

		bp := o.pool.Get().(*[]byte)
		buf := (*bp)[:0]
		for i, b := range batch {
			buf = append(buf, b...)
			batch[i] = nil
		}
		if o.setDeadline != nil {
			// A write deadline only matters while writing: moving it
			// for every write would cost a timer update each time.
			if now := time.Now(); o.deadline.Sub(now) < o.writeTimeout/2 {
				o.deadline = now.Add(o.writeTimeout)
				_ = o.setDeadline(o.deadline) // fails only on a closed connection, which the write reports
			}
		}
		_, err := o.w.Write(buf)
		if cap(buf) <= 64<<10 {
			*bp = buf[:0]
			o.pool.Put(bp)
		}
		o.mu.Lock()
		if cap(batch) <= maxSpare {
			o.spare = batch[:0]
		}
		o.writes = 0
		if err != nil {
			o.closed, o.final = true, true
			o.q = nil
		}
		o.mu.Unlock()
		if err != nil && o.onError != nil {
			o.onError(err)
		}
	}
}
