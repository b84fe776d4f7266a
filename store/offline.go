package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// OfflineLimit is the most messages kept for one agent who has no
// session. The policy when it is reached: nothing already stored is
// dropped, the new message is refused with ErrOfflineFull so that the
// sender can be told it was not delivered.
const OfflineLimit = 1000

// StoredStanzaMax is the largest stanza kept, offline or in the archive,
// in bytes: the stanza size limit after authentication (docs/OPERATING.md §9).
const StoredStanzaMax = 256 << 10

// ErrOfflineFull is the Kind of the UserError StoreOffline returns when
// the agent already has OfflineLimit messages waiting.
var ErrOfflineFull = errors.New("offline storage full")

// OfflineMessage is a message kept for an agent who had no session when
// it arrived.
type OfflineMessage struct {
	ID        int64     `json:"id"`
	From      string    `json:"from"`   // the sender's JID, as stamped on the stanza
	Stanza    []byte    `json:"stanza"` // the serialized <message/>
	CreatedAt time.Time `json:"created_at"`
}

// agentRef resolves an agent of a portal to the ids of both. An unknown
// portal or agent is ErrNotFound, with the same messages as Agent.
func agentRef(ctx context.Context, q querier, portal, username string) (pid, aid int64, err error) {
	err = q.QueryRowContext(ctx, `SELECT p.id, a.id FROM agents a JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ?`, portal, UsernameKey(username)).Scan(&pid, &aid)
	if errors.Is(err, sql.ErrNoRows) {
		if _, perr := portalID(ctx, q, portal); perr != nil {
			return 0, 0, perr
		}
		return 0, 0, notFound("agent %q does not exist in portal %q (see: jabberdesk agent list %s)", username, portal, portal)
	}
	return pid, aid, err
}

// StoreOffline keeps a message for an agent (a username) who has no
// session. from is the sender's JID and stanza the serialized message, at
// most StoredStanzaMax bytes. When the agent already has OfflineLimit
// messages waiting the message is refused with a UserError of Kind
// ErrOfflineFull and the stored ones are kept; an unknown portal or agent
// is ErrNotFound.
func (s *Store) StoreOffline(ctx context.Context, portal, agent, from string, stanza []byte) error {
	_, err := s.storeOffline(ctx, portal, agent, from, stanza, "")
	return wrap("store offline message", err)
}

// HoldOffline keeps a message for one session of an agent that waits to
// be resumed (holder is its stream management id), with the limits of
// StoreOffline, and returns its id. TakeOffline does not return it until
// it is released (ReleaseOffline, ReleaseAllHeld, ReleaseHeldPrefix); the
// session deletes it once its client has acknowledged it.
func (s *Store) HoldOffline(ctx context.Context, portal, agent, from string, stanza []byte, holder string) (int64, error) {
	if holder == "" {
		return 0, invalid("a held offline message needs its holder")
	}
	id, err := s.storeOffline(ctx, portal, agent, from, stanza, holder)
	return id, wrap("hold offline message", err)
}

func (s *Store) storeOffline(ctx context.Context, portal, agent, from string, stanza []byte, holder string) (int64, error) {
	switch {
	case len(stanza) == 0:
		return 0, invalid("the offline message is empty")
	case len(stanza) > StoredStanzaMax:
		return 0, invalid("the message is too large to keep offline (%d bytes, at most %d)", len(stanza), StoredStanzaMax)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		// The index (agent_id, id) makes this count cheap.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM offline_messages WHERE agent_id = ?`, aid).Scan(&n); err != nil {
			return err
		}
		if n >= OfflineLimit {
			return &UserError{
				Msg:  fmt.Sprintf("agent %q has %d offline messages waiting, the most that are kept; this message was not stored, try again once they have signed in", agent, n),
				Kind: ErrOfflineFull,
			}
		}
		return tx.QueryRowContext(ctx, `INSERT INTO offline_messages (portal_id, agent_id, from_jid, stanza, created_at, held_for) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, aid, from, stanza, millis(now), holder).Scan(&id)
	})
	return id, err
}

// ReleaseOffline makes held messages ordinary offline messages, for the
// agent's next sign-in. Ids that are gone are ignored.
func (s *Store) ReleaseOffline(ctx context.Context, ids []int64) error {
	return wrap("release held offline messages", s.execIDs(ctx, `UPDATE offline_messages SET held_for = '' WHERE id IN `, ids))
}

// ReleaseAllHeld releases every held message: at start, when no session
// can be waiting to be resumed. It returns how many there were.
func (s *Store) ReleaseAllHeld(ctx context.Context) (int64, error) {
	return s.releaseHeld(ctx, `held_for <> ''`)
}

// ReleaseHeldPrefix releases the held messages whose holder starts with
// prefix. When several nodes share the store a holder is "NODE:ID", so
// that a node releases only its own at start, and the others release a
// node's once it is declared dead. It returns how many there were.
func (s *Store) ReleaseHeldPrefix(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" {
		return 0, invalid("releasing held messages by holder needs a prefix")
	}
	return s.releaseHeld(ctx, `held_for <> '' AND substr(held_for, 1, ?) = ?`, utf8.RuneCountInString(prefix), prefix)
}

func (s *Store) releaseHeld(ctx context.Context, where string, args ...any) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE offline_messages SET held_for = '' WHERE `+where, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, wrap("release held offline messages", err)
}

// TakeOffline returns up to limit of the messages kept for an agent
// (held ones excepted), oldest first, without deleting them: call DeleteOffline once their
// delivery has been acknowledged. limit <= 0 means OfflineLimit. An
// unknown portal or agent has no messages.
func (s *Store) TakeOffline(ctx context.Context, portal, agent string, limit int) ([]OfflineMessage, error) {
	if limit <= 0 {
		limit = OfflineLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, o.from_jid, o.stanza, o.created_at
		FROM offline_messages o JOIN agents a ON a.id = o.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ? AND o.held_for = '' ORDER BY o.id LIMIT ?`, portal, UsernameKey(agent), limit)
	if err != nil {
		return nil, wrap("take offline messages", err)
	}
	defer release(rows)
	ms := []OfflineMessage{}
	for rows.Next() {
		var m OfflineMessage
		var created int64
		if err := rows.Scan(&m.ID, &m.From, &m.Stanza, &created); err != nil {
			return nil, wrap("take offline messages", err)
		}
		m.CreatedAt = fromMillis(created)
		ms = append(ms, m)
	}
	return ms, wrap("take offline messages", rows.Err())
}

// DeleteOffline deletes offline messages by id, in one transaction, once
// their delivery has been acknowledged. Ids that are already gone are
// ignored, so that deleting twice is harmless.
func (s *Store) DeleteOffline(ctx context.Context, ids []int64) error {
	return wrap("delete offline messages", s.execIDs(ctx, `DELETE FROM offline_messages WHERE id IN `, ids))
}

// execIDs runs query, which ends in "IN " and is completed with a list
// of ids, in a transaction; nothing happens for no ids.
func (s *Store) execIDs(ctx context.Context, query string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	query += "(?" + strings.Repeat(", ?", len(ids)-1) + ")"
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// OfflineCount is the number of messages kept for an agent, held ones
// included. An unknown
// portal or agent has none.
func (s *Store) OfflineCount(ctx context.Context, portal, agent string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*)
		FROM offline_messages o JOIN agents a ON a.id = o.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ?`, portal, UsernameKey(agent)).Scan(&n)
	return n, wrap("count offline messages", err)
}
