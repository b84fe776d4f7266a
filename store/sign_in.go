package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// signInAddressTTL is how long an address an agent signed in from is
// remembered without being used again.
const signInAddressTTL = 90 * 24 * time.Hour

// KnownSignInAddress reports whether the agent signed in from addr (an
// address key) within the last 90 days. An unknown portal or agent has no
// known addresses.
func (s *Store) KnownSignInAddress(ctx context.Context, portal, username, addr string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sign_in_addresses x
		JOIN agents a ON a.id = x.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ? AND x.addr = ? AND x.last_at >= ?`,
		portal, UsernameKey(username), addr, millis(s.now().Add(-signInAddressTTL))).Scan(&n)
	return n > 0, wrap("look up a sign-in address", err)
}

// RememberSignInAddress records that the agent signed in from addr at at,
// and forgets the agent's addresses unused for 90 days. An unknown portal
// or agent is ErrNotFound.
func (s *Store) RememberSignInAddress(ctx context.Context, portal, username, addr string, at time.Time) error {
	if addr == "" || len(addr) > 64 {
		return invalid("a sign-in address has 1 to 64 characters")
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, username)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_addresses (agent_id, addr, last_at) VALUES (?, ?, ?)
			ON CONFLICT (agent_id, addr) DO UPDATE SET last_at = excluded.last_at`, aid, addr, millis(at)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sign_in_addresses WHERE agent_id = ? AND last_at < ?`, aid, millis(at.Add(-signInAddressTTL)))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	return wrap("remember a sign-in address", err)
}
