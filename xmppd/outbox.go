package xmppd

import (
	"io"
	"sync"
	"time"
)

// outbox is a session's bounded queue of serialized stanzas. Anyone may
// push; a writer goroutine, started only while there is something to write,
// drains it in batches to the connection. At most max stanzas are held,
// counting the batch being written. A push never blocks: when the
// outbox is full the reader is too slow, the outbox closes itself and
// onOverflow is called (the session is then disconnected).
type outbox struct {
	w            io.Writer
	max          int
	writeTimeout time.Duration
	setDeadline  func(time.Time) error
	onOverflow   func()
	onError      func(error)
	onDrained    func()     // called once after the final write when closing
	pool         *sync.Pool // of *[]byte write buffers, shared by sessions

	mu      sync.Mutex
	q       [][]byte
	spare   [][]byte
	writes  int // stanzas in the batch being written
	writing bool
	closed  bool // no more pushes
	final   bool // onDrained is due once the queue is empty
	done    bool
}

// push queues b. It reports false if the outbox is closed or overflowed.
func (o *outbox) push(b []byte) bool {
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
	o.startLocked()
	o.mu.Unlock()
	return true
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

func (o *outbox) startLocked() {
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
			o.setDeadline(time.Now().Add(o.writeTimeout))
		}
		_, err := o.w.Write(buf)
		if cap(buf) <= 64<<10 {
			*bp = buf[:0]
			o.pool.Put(bp)
		}
		o.mu.Lock()
		o.spare = batch[:0]
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
