package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// ArchiveWriter archives messages between agents in batches (group
// commit): the router hands each message over without waiting for the
// disk, and one goroutine writes what has accumulated in a single
// transaction. A batch is written at most archiveFlushDelay after its
// first message, or when it is full. Messages still queued when the
// process dies are lost to the archive (never to their recipients: the
// archive is a history, delivery does not depend on it); Close writes
// everything queued.
type ArchiveWriter struct {
	s    *Store
	in   chan archivePair
	done chan struct{}

	mu     sync.RWMutex // held for reading while sending to in
	closed bool
}

// archivePair is one message between two agents (see ArchivePair).
type archivePair struct {
	portal, from, to, fromJID, toJID, stanzaID, body string
	stanza                                           []byte
	at                                               time.Time
	flushed                                          chan struct{} // a Flush marker, not a message
}

const (
	archiveBatchMax   = 256
	archiveFlushDelay = 2 * time.Millisecond
)

// NewArchiveWriter starts a writer whose queue holds up to queue messages.
func (s *Store) NewArchiveWriter(queue int) *ArchiveWriter {
	w := &ArchiveWriter{s: s, in: make(chan archivePair, queue), done: make(chan struct{})}
	go w.run()
	return w
}

// Add queues a message for both agents' archives, like ArchivePair. It
// does not wait; when the queue is full it writes the message itself, so
// nothing is dropped and a flood slows its senders down.
func (w *ArchiveWriter) Add(portal, from, to, fromJID, toJID, stanzaID, body string, stanza []byte, at time.Time) error {
	if err := checkArchived(toJID, stanzaID, body, stanza); err != nil {
		return err
	}
	p := archivePair{portal, from, to, fromJID, toJID, stanzaID, body, stanza, w.s.archiveTime(at), nil}
	w.mu.RLock()
	if !w.closed {
		select {
		case w.in <- p:
			w.mu.RUnlock()
			return nil
		default:
		}
	}
	w.mu.RUnlock()
	return w.s.ArchivePair(context.Background(), portal, from, to, fromJID, toJID, stanzaID, body, stanza, p.at)
}

// Flush returns once everything queued before it is written, so that a
// query sees the messages already routed.
func (w *ArchiveWriter) Flush() {
	done := make(chan struct{})
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return
	}
	w.in <- archivePair{flushed: done}
	w.mu.RUnlock()
	<-done
}

// Close writes what is queued and stops the writer.
func (w *ArchiveWriter) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.in)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *ArchiveWriter) run() {
	defer close(w.done)
	batch := make([]archivePair, 0, archiveBatchMax)
	for {
		p, ok := <-w.in
		if !ok {
			return
		}
		batch = append(batch[:0], p)
		timer := time.NewTimer(archiveFlushDelay)
	fill:
		for len(batch) < archiveBatchMax {
			select {
			case p, ok := <-w.in:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		w.write(batch)
	}
}

// splitFlushes separates the flush markers from a batch, releasing their waiters
// once the batch is written (deferred by the caller).
func splitFlushes(batch []archivePair) (msgs []archivePair, flushes []chan struct{}) {
	msgs = batch[:0:0]
	for _, p := range batch {
		if p.flushed != nil {
			flushes = append(flushes, p.flushed)
		} else {
			msgs = append(msgs, p)
		}
	}
	return msgs, flushes
}

// write stores a batch in one transaction; if that fails (a bad row), it
// falls back to one transaction per message so that one bad message does
// not cost the others.
func (w *ArchiveWriter) write(batch []archivePair) {
	batch, flushes := splitFlushes(batch)
	defer func() {
		for _, f := range flushes {
			close(f)
		}
	}()
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	err := w.s.tx(ctx, func(tx *sql.Tx) error {
		for _, p := range batch {
			if err := archivePairTx(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	for _, p := range batch {
		w.s.tx(ctx, func(tx *sql.Tx) error { return archivePairTx(ctx, tx, p) })
	}
}

func archivePairTx(ctx context.Context, tx *sql.Tx, p archivePair) error {
	if err := archiveInsert(ctx, tx, p.portal, p.from, p.toJID, true, p.stanzaID, p.body, p.stanza, p.at); err != nil {
		return err
	}
	if UsernameKey(p.from) == UsernameKey(p.to) {
		return nil
	}
	return archiveInsert(ctx, tx, p.portal, p.to, p.fromJID, false, p.stanzaID, p.body, p.stanza, p.at)
}
