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
	ids  map[string][2]int64 // "portal|username" → portal id, agent id; run's own

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
	// archiveBatchMax is large because a commit's cost is mostly the
	// index pages it dirties, one per agent whose archive it touches,
	// whatever the number of rows: under load, bigger batches dirty the
	// same pages once for more messages.
	archiveBatchMax = 8192
	// archiveFlushDelay bounds how long an archived message may wait for
	// company when the writer is idle.
	archiveFlushDelay = 20 * time.Millisecond
)

// NewArchiveWriter starts a writer whose queue holds up to queue messages.
func (s *Store) NewArchiveWriter(queue int) *ArchiveWriter {
	w := &ArchiveWriter{s: s, in: make(chan archivePair, queue), done: make(chan struct{}), ids: make(map[string][2]int64)}
	go w.run()
	return w
}

// Add queues a message for both agents' archives, like ArchivePair. It
// waits only when the queue is full: a flood slows its senders down
// rather than dropping anything. After Close it writes directly.
func (w *ArchiveWriter) Add(portal, from, to, fromJID, toJID, stanzaID, body string, stanza []byte, at time.Time) error {
	if err := checkArchived(toJID, stanzaID, body, stanza); err != nil {
		return err
	}
	p := archivePair{portal, from, to, fromJID, toJID, stanzaID, body, stanza, w.s.archiveTime(at), nil}
	w.mu.RLock()
	if !w.closed {
		w.in <- p
		w.mu.RUnlock()
		return nil
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
		ins, err := tx.PrepareContext(ctx, archiveInsertSQL)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, p := range batch {
			if err := w.insert(ctx, tx, ins, p.portal, p.from, p.toJID, true, p); err != nil {
				return err
			}
			if UsernameKey(p.from) != UsernameKey(p.to) {
				if err := w.insert(ctx, tx, ins, p.portal, p.to, p.fromJID, false, p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	clear(w.ids) // an agent may have gone: look everyone up again
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

const archiveInsertSQL = `INSERT INTO archive (portal_id, owner_id, with_jid, outgoing, stanza_id, body, stanza, at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// insert writes one side of a message with the batch's prepared
// statement, looking the owner up once per writer.
func (w *ArchiveWriter) insert(ctx context.Context, tx *sql.Tx, ins *sql.Stmt, portal, owner, with string, outgoing bool, p archivePair) error {
	key := portal + "|" + UsernameKey(owner)
	ids, ok := w.ids[key]
	if !ok {
		pid, aid, err := agentRef(ctx, tx, portal, owner)
		if err != nil {
			return err
		}
		ids = [2]int64{pid, aid}
		w.ids[key] = ids
	}
	var blob any
	if len(p.stanza) > 0 {
		blob = p.stanza
	}
	_, err := ins.ExecContext(ctx, ids[0], ids[1], with, outgoing, p.stanzaID, p.body, blob, millis(p.at))
	return err
}
