package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// ArchiveWriter archives messages between agents in batches (group
// commit): the router hands each message over without waiting for the
// disk, and one goroutine writes what has accumulated in a single
// transaction. A batch is written at most archiveFlushDelay after its
// first message, or when it is full, or at once when someone waits for
// it (AfterWritten, Flush): then it takes what is queued at that moment
// and no more. Messages still queued when the process dies are lost to
// the archive, so whoever confirms a message to its sender first waits
// for it with AfterWritten; Close writes everything queued.
type ArchiveWriter struct {
	s    *Store
	log  *slog.Logger
	in   chan archivePair
	done chan struct{}
	ids  map[agentName][2]int64 // portal id, agent id; run's own

	mu     sync.RWMutex // held for reading while sending to in
	closed bool
}

// archivePair is one message between two agents (see ArchivePair).
type archivePair struct {
	portal  string
	row     archivedRow
	written func(error) // a marker, not a message: called once what came before is written
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
// Each message that cannot be archived is logged to log (slog.Default()
// if nil), whether or not someone waits for it.
func (s *Store) NewArchiveWriter(queue int, log *slog.Logger) *ArchiveWriter {
	if log == nil {
		log = slog.Default()
	}
	w := &ArchiveWriter{s: s, log: log, in: make(chan archivePair, queue), done: make(chan struct{}), ids: make(map[agentName][2]int64)}
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
	p := archivePair{portal: portal, row: pairRow(from, to, fromJID, toJID, stanzaID, body, stanza, w.s.archiveTime(at))}
	return w.enqueue(p)
}

// AfterWritten calls f once every message added before the call is
// written, at once if there is nothing to wait for. f gets nil, or the
// error that kept a message of the batch it waited for off the disk (a
// message whose agent was removed meanwhile is not an error). f runs on
// the writer's goroutine and must not block.
func (w *ArchiveWriter) AfterWritten(f func(error)) {
	if w.enqueue(archivePair{written: f}) != nil {
		f(nil) // closed: Add writes directly, nothing is queued
	}
}

// errWriterClosed: the writer no longer queues.
var errWriterClosed = errors.New("store: archive writer closed")

// enqueue queues p, or says the writer is closed (markers) or writes p
// directly (messages).
func (w *ArchiveWriter) enqueue(p archivePair) error {
	w.mu.RLock()
	if !w.closed {
		w.in <- p
		w.mu.RUnlock()
		return nil
	}
	w.mu.RUnlock()
	if p.written != nil {
		return errWriterClosed
	}
	return w.s.insertArchived(context.Background(), p.portal, p.row)
}

// Flush returns once everything added before it is written, so that a
// query sees the messages already routed.
func (w *ArchiveWriter) Flush() error {
	done := make(chan error, 1)
	w.AfterWritten(func(err error) { done <- err })
	return <-done
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
		if p.written != nil {
			// Everything before it is written already.
			p.written(nil)
			continue
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
				if p.written != nil {
					// Someone waits: write what is queued now, no more.
					batch = w.takeQueued(batch)
					break fill
				}
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		w.write(batch)
	}
}

// takeQueued appends what is in the queue, without waiting, up to a full
// batch.
func (w *ArchiveWriter) takeQueued(batch []archivePair) []archivePair {
	for len(batch) < archiveBatchMax {
		select {
		case p, ok := <-w.in:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// splitMarkers separates the markers from a batch; the caller calls them
// once the batch is written.
func splitMarkers(batch []archivePair) (msgs []archivePair, markers []func(error)) {
	msgs = batch[:0:0]
	for _, p := range batch {
		if p.written != nil {
			markers = append(markers, p.written)
		} else {
			msgs = append(msgs, p)
		}
	}
	return msgs, markers
}

// write stores a batch in one transaction; if that fails (a bad row), it
// falls back to one transaction per message so that one bad message does
// not cost the others. The batch's markers are told whether every
// message is on disk.
func (w *ArchiveWriter) write(batch []archivePair) {
	batch, markers := splitMarkers(batch)
	err := w.writeMessages(batch)
	for _, f := range markers {
		f(err)
	}
}

func (w *ArchiveWriter) writeMessages(batch []archivePair) error {
	if len(batch) == 0 {
		return nil
	}
	ctx := context.Background()
	// Only inserts, whose rows nothing else reads in the transaction: on
	// PostgreSQL READ COMMITTED, so that readers never make a batch fail.
	err := w.s.txRowLocked(ctx, func(tx *sql.Tx) error { return w.insertBatch(ctx, tx, batch) })
	if err == nil {
		return nil
	}
	clear(w.ids) // an agent may have gone: look everyone up again
	var lost error
	for _, p := range batch {
		err := w.s.tx(ctx, func(tx *sql.Tx) error { return archiveInsert(ctx, tx, p.portal, p.row) })
		if err == nil || errors.Is(err, ErrNotFound) {
			continue
		}
		w.log.Error("store: archive a message failed", "portal", p.portal, "from", p.row.from, "to", p.row.toJID, "stanza_id", p.row.stanzaID, "err", err)
		if lost == nil {
			lost = fmt.Errorf("store: archive a message: %w", err)
		}
	}
	return lost
}

// agentName is an agent of a portal by username key.
type agentName struct{ portal, key string }

// archiveInsertSQL and archiveValues insert one archive row;
// archiveRowsMax rows go in one statement, so that a batch takes few
// round trips to a database server.
const (
	archiveInsertSQL = `INSERT INTO archive (portal_id, from_id, to_id, from_jid, to_jid, stanza_id, body, stanza, at) VALUES `
	archiveValues    = `(?, ?, ?, ?, ?, ?, ?, ?, ?)`
	archiveRowsMax   = 256
)

// insertBatch writes a batch's messages, one row each, archiveRowsMax
// rows per statement.
func (w *ArchiveWriter) insertBatch(ctx context.Context, tx *sql.Tx, batch []archivePair) error {
	args := make([]any, 0, 9*min(len(batch), archiveRowsMax))
	for len(batch) > 0 {
		n := min(len(batch), archiveRowsMax)
		args = args[:0]
		for _, p := range batch[:n] {
			m := p.row
			from, err := w.agentID(ctx, tx, p.portal, m.from)
			if err != nil {
				return err
			}
			var to any // NULL: a message to oneself (pairRow)
			if m.to != "" {
				ids, err := w.agentID(ctx, tx, p.portal, m.to)
				if err != nil {
					return err
				}
				to = ids[1]
			}
			args = append(args, from[0], from[1], to, m.fromJID, m.toJID, m.stanzaID, m.body, stanzaBlob(m.stanza), millis(m.at))
		}
		query := archiveInsertSQL + strings.Repeat(archiveValues+", ", n-1) + archiveValues
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
		batch = batch[n:]
	}
	return nil
}

// agentID is an agent's portal id and agent id, looked up once per
// writer.
func (w *ArchiveWriter) agentID(ctx context.Context, tx *sql.Tx, portal, username string) ([2]int64, error) {
	key := agentName{portal, UsernameKey(username)}
	if ids, ok := w.ids[key]; ok {
		return ids, nil
	}
	pid, aid, err := agentRef(ctx, tx, portal, username)
	if err != nil {
		return [2]int64{}, err
	}
	w.ids[key] = [2]int64{pid, aid}
	return w.ids[key], nil
}
