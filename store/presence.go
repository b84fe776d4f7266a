package store

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Presence states of an agent for routing, as agent_presence keeps them.
const (
	PresenceOnline  = "online"  // available or free for chat
	PresenceAway    = "away"    // away or extended away
	PresenceBusy    = "busy"    // do not disturb
	PresenceOffline = "offline" // no available resource
)

// checkPresence says whether state is one of the presence states.
func checkPresence(state string) error {
	switch state {
	case PresenceOnline, PresenceAway, PresenceBusy, PresenceOffline:
		return nil
	}
	return invalid("presence state %q is not one of online, away, busy, offline", state)
}

// PresenceChange is an agent's availability from At on, until their next
// change. Username is the agent's username as it is now.
type PresenceChange struct {
	Username string
	State    string
	At       time.Time
}

// PresenceLog records agents' presence changes in batches: Record hands a
// change over without waiting for the disk, and one goroutine writes what
// has accumulated at most presenceFlushDelay later, in one transaction.
// A change that repeats an agent's last recorded state is dropped. When
// the queue is full a change is dropped and logged rather than making the
// caller wait; a crash loses what was not written yet (at most about a
// second). Close writes what is queued.
type PresenceLog struct {
	s      *Store
	log    *slog.Logger
	in     chan presenceRow
	done   chan struct{}
	last   map[[2]string]string // portal, username key → last state written; run's own
	shared bool                 // one of several servers: an agent's first change is written too

	mu      sync.RWMutex // held for reading while sending to in
	closed  bool
	dropped atomic.Int64 // changes dropped on a full queue since the last log line
}

type presenceRow struct {
	portal, agent, state string
	at                   time.Time
}

const (
	presenceBatchMax   = 512
	presenceFlushDelay = time.Second
)

// NewPresenceLog starts a presence log whose queue holds up to queue
// changes. It first records every agent whose last state is not offline
// as offline from now: nobody is signed in to a server that is starting,
// so a crash does not leave anyone online for the time the server was
// down after the restart.
func (s *Store) NewPresenceLog(ctx context.Context, queue int, log *slog.Logger) (*PresenceLog, error) {
	if err := s.endPresence(ctx, s.now()); err != nil {
		return nil, err
	}
	return s.startPresenceLog(queue, log, false), nil
}

// SharedPresenceLog starts the presence log of one of several servers
// that share the store: it records every agent offline first only when
// reset (no other server runs), and records every change it is given,
// an agent's first one included, as another server may have recorded
// the agent's last state.
func (s *Store) SharedPresenceLog(ctx context.Context, queue int, log *slog.Logger, reset bool) (*PresenceLog, error) {
	if reset {
		if err := s.endPresence(ctx, s.now()); err != nil {
			return nil, err
		}
	}
	return s.startPresenceLog(queue, log, true), nil
}

func (s *Store) startPresenceLog(queue int, log *slog.Logger, shared bool) *PresenceLog {
	if log == nil {
		log = slog.Default()
	}
	p := &PresenceLog{s: s, log: log, in: make(chan presenceRow, queue), done: make(chan struct{}), last: map[[2]string]string{}, shared: shared}
	go p.run()
	return p
}

// endPresence records every agent not offline as offline at at.
func (s *Store) endPresence(ctx context.Context, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_presence (portal_id, agent_id, state, at)
			SELECT a.portal_id, a.id, 'offline', ? FROM agents a
			WHERE (SELECT state FROM agent_presence p WHERE p.agent_id = a.id ORDER BY at DESC, id DESC LIMIT 1) <> 'offline'`,
			millis(at))
		return err
	})
	return wrap("end presence", err)
}

// Record queues a change of the agent's (by username key) presence to
// state at at. It never blocks; an unknown state is ignored and logged.
func (p *PresenceLog) Record(portal, agent, state string, at time.Time) {
	if err := checkPresence(state); err != nil {
		p.log.Error("record presence", "agent", agent, "err", err)
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return
	}
	select {
	case p.in <- presenceRow{portal, agent, state, at.UTC().Truncate(time.Millisecond)}:
	default:
		p.dropped.Add(1)
	}
}

// Close writes what is queued and stops the log. Changes recorded after
// it are ignored.
func (p *PresenceLog) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.in)
	}
	p.mu.Unlock()
	<-p.done
}

func (p *PresenceLog) run() {
	defer close(p.done)
	batch := make([]presenceRow, 0, presenceBatchMax)
	for {
		r, ok := <-p.in
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		timer := time.NewTimer(presenceFlushDelay)
	fill:
		for len(batch) < presenceBatchMax {
			select {
			case r, ok := <-p.in:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		p.write(batch)
	}
}

// write stores a batch, without the changes that repeat an agent's last
// state, in one transaction.
func (p *PresenceLog) write(batch []presenceRow) {
	if dropped := p.dropped.Swap(0); dropped > 0 {
		p.log.Error("presence changes dropped: the queue was full", "count", dropped)
	}
	rows := batch[:0:0]
	for _, r := range batch {
		k := [2]string{r.portal, r.agent}
		last, seen := p.last[k]
		if r.state == last || !seen && !p.shared && r.state == PresenceOffline {
			continue // after endPresence an agent not seen yet is offline
		}
		p.last[k] = r.state
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return
	}
	ctx := context.Background()
	err := p.s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO agent_presence (portal_id, agent_id, state, at)
			SELECT a.portal_id, a.id, ?, ? FROM agents a JOIN portals p ON p.id = a.portal_id
			WHERE p.name = ? AND a.username_key = ?`)
		if err != nil {
			return err
		}
		defer release(st)
		for _, r := range rows {
			// An agent removed meanwhile matches no row: nothing to keep.
			if _, err := st.ExecContext(ctx, r.state, millis(r.at), r.portal, UsernameKey(r.agent)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		p.log.Error("record presence", "changes", len(rows), "err", wrap("record presence", err))
	}
}

// PresenceChanges returns a portal's presence changes that matter to
// [since, until): each agent's last change before since (the state they
// were in when the period began) and every change in it, by agent and
// time.
func (s *Store) PresenceChanges(ctx context.Context, portal string, since, until time.Time) ([]PresenceChange, error) {
	if _, err := portalID(ctx, s.r, portal); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `WITH pid AS (SELECT id FROM portals WHERE name = ?1)
		SELECT a.username, x.state, x.at FROM (
			SELECT p.agent_id, p.state, p.at, p.id FROM agents a JOIN agent_presence p ON p.id = (
				SELECT q.id FROM agent_presence q WHERE q.agent_id = a.id AND q.at < ?2 ORDER BY q.at DESC, q.id DESC LIMIT 1)
				WHERE a.portal_id = (SELECT id FROM pid)
			UNION ALL
			SELECT agent_id, state, at, id FROM agent_presence
				WHERE portal_id = (SELECT id FROM pid) AND at >= ?2 AND at < ?3
		) x JOIN agents a ON a.id = x.agent_id ORDER BY a.username_key, x.at, x.id`,
		portal, millis(since), millis(until))
	if err != nil {
		return nil, wrap("list presence changes", err)
	}
	defer release(rows)
	out := []PresenceChange{}
	for rows.Next() {
		var c PresenceChange
		var at int64
		if err := rows.Scan(&c.Username, &c.State, &at); err != nil {
			return nil, wrap("list presence changes", err)
		}
		c.At = fromMillis(at)
		out = append(out, c)
	}
	return out, wrap("list presence changes", rows.Err())
}
