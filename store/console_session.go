package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The supervisor console's sessions (docs/CONSOLE.md §2.3), kept in the
// database so that every node sharing it knows them: a browser signed in
// through one node goes on through any other, and signing out ends the
// session on all of them. What a session may do is the console's to
// decide; per session the store keeps
//
//   - the SHA-256 of its id, never the id (that is in the browser's
//     cookie only);
//   - its agent (the session goes when the agent is removed) and a digest
//     of the agent's credentials at sign-in, which the console compares
//     on each request so that a new password ends the session;
//   - its CSRF token, and the outcome of its last change, shown once;
//   - when it began and when it was last used, as the console records it
//     (not on every request).
//
// Creating a session deletes every expired one and, in the same
// transaction, keeps the bounds on how many an agent and everyone may
// have, the oldest going first.

// Audit log actions of the console's sessions.
const (
	// AuditConsoleSignIn: a supervisor or admin signed in to the console.
	AuditConsoleSignIn = "console.signin"
	// AuditConsoleSignOut: they signed out.
	AuditConsoleSignOut = "console.signout"
)

// consoleKeySize is the size of a session's key and of a credential
// digest: a SHA-256.
const consoleKeySize = 32

// consoleFlashMax is how many characters of a change's outcome a session
// keeps to show; the rest is cut off and marked with "…".
const consoleFlashMax = 1000

// ConsoleSession is one signed-in browser of the supervisor console.
type ConsoleSession struct {
	Key    []byte // the SHA-256 of the session's id
	Portal string // the agent's portal
	Agent  string // the agent's username key
	Cred   []byte // the digest of the agent's credentials at sign-in (32 bytes)
	CSRF   string // the token every form of the session carries
	Flash  string // the outcome of the last change, to show once
	Born   time.Time
	Seen   time.Time // the last use recorded
}

// ConsoleSessionLimits are how long console sessions last and how many
// there may be.
type ConsoleSessionLimits struct {
	Idle     time.Duration // a session unused this long is over
	MaxAge   time.Duration // any session is over this long after it began
	PerAgent int           // an agent's oldest sessions go past this many
	Max      int           // everyone's oldest sessions go past this many
}

// Expired reports whether cs is over at now.
func (l ConsoleSessionLimits) Expired(cs ConsoleSession, now time.Time) bool {
	return now.Sub(cs.Seen) > l.Idle || now.Sub(cs.Born) > l.MaxAge
}

func (l ConsoleSessionLimits) check() error {
	if l.Idle <= 0 || l.MaxAge <= 0 || l.PerAgent <= 0 || l.Max <= 0 {
		return invalid("console session limits must all be positive: %+v", l)
	}
	return nil
}

// CreateConsoleSession stores a new session of cs.Agent in cs.Portal that
// began at cs.Born (Seen is set to it), signed in from the address from,
// which the audit log's console.signin entry names. First the sessions
// expired by then are deleted, then, to make room within the limits, the
// agent's oldest and everyone's oldest. An unknown portal or agent is
// ErrNotFound.
func (s *Store) CreateConsoleSession(ctx context.Context, cs ConsoleSession, l ConsoleSessionLimits, from string) error {
	switch {
	case len(cs.Key) != consoleKeySize || len(cs.Cred) != consoleKeySize:
		return invalid("a console session's key and credential digest are %d bytes", consoleKeySize)
	case cs.CSRF == "" || len(cs.CSRF) > 64:
		return invalid("a console session's CSRF token has 1 to 64 characters")
	}
	if err := l.check(); err != nil {
		return err
	}
	at := millis(cs.Born)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, cs.Portal, cs.Agent)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE seen_at < ? OR born_at < ?`,
			millis(cs.Born.Add(-l.Idle)), millis(cs.Born.Add(-l.MaxAge))); err != nil {
			return err
		}
		if err := makeConsoleRoom(ctx, tx, `agent_id = ?`, []any{aid}, l.PerAgent); err != nil {
			return err
		}
		if err := makeConsoleRoom(ctx, tx, `1 = 1`, nil, l.Max); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO console_sessions (key_hash, agent_id, cred, csrf, flash, born_at, seen_at)
			VALUES (?, ?, ?, ?, '', ?, ?)`, cs.Key, aid, cs.Cred, cs.CSRF, at, at); err != nil {
			return err
		}
		return audit(ctx, tx, cs.Born, cs.Portal, UsernameKey(cs.Agent), AuditConsoleSignIn, "", fmt.Sprintf("from=%q", from))
	})
	return wrap("create console session", err)
}

// makeConsoleRoom deletes the oldest of the sessions where cond holds
// (a condition with args, a constant of this file), so that one more
// makes at most most.
func makeConsoleRoom(ctx context.Context, tx *sql.Tx, cond string, args []any, most int) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM console_sessions WHERE `+cond, args...).Scan(&n); err != nil {
		return err
	}
	if n < most {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE key_hash IN
		(SELECT key_hash FROM console_sessions WHERE `+cond+` ORDER BY born_at, key_hash LIMIT ?)`, append(args, n-most+1)...)
	return err
}

// ConsoleSession finds a session by its key (the SHA-256 of its id):
// ErrNotFound when there is none — it never was, was signed out or ended,
// was deleted as expired, or its agent was removed. Whether it has
// expired since is for the caller to check (ConsoleSessionLimits.Expired).
func (s *Store) ConsoleSession(ctx context.Context, key []byte) (ConsoleSession, error) {
	cs := ConsoleSession{Key: key}
	var born, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT p.name, a.username_key, c.cred, c.csrf, c.flash, c.born_at, c.seen_at
		FROM console_sessions c JOIN agents a ON a.id = c.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE c.key_hash = ?`, key).Scan(&cs.Portal, &cs.Agent, &cs.Cred, &cs.CSRF, &cs.Flash, &born, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return ConsoleSession{}, wrap("look up a console session", err)
	}
	cs.Born, cs.Seen = fromMillis(born), fromMillis(seen)
	return cs, nil
}

// TouchConsoleSession records that the session was used at at; the last
// use recorded never goes back. A session that is gone is left so.
func (s *Store) TouchConsoleSession(ctx context.Context, key []byte, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE console_sessions SET seen_at = ? WHERE key_hash = ? AND seen_at < ?`,
			millis(at), key, millis(at))
		return err
	})
	return wrap("record the use of a console session", err)
}

// SetConsoleFlash keeps the outcome of a change for the session's next
// page (up to 1000 characters), replacing one not shown yet. A session
// that is gone is left so.
func (s *Store) SetConsoleFlash(ctx context.Context, key []byte, text string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE console_sessions SET flash = ? WHERE key_hash = ?`,
			clipAudit(text, consoleFlashMax), key)
		return err
	})
	return wrap("keep a console session's outcome", err)
}

// TakeConsoleFlash hands out the outcome the session keeps, once: ""
// when there is none or the session is gone.
func (s *Store) TakeConsoleFlash(ctx context.Context, key []byte) (string, error) {
	var flash string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		flash = ""
		err := tx.QueryRowContext(ctx, `SELECT flash FROM console_sessions WHERE key_hash = ?`, key).Scan(&flash)
		if errors.Is(err, sql.ErrNoRows) || err == nil && flash == "" {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE console_sessions SET flash = '' WHERE key_hash = ?`, key)
		return err
	})
	if err != nil {
		return "", wrap("take a console session's outcome", err)
	}
	return flash, nil
}

// EndConsoleSession deletes a session that is over (expired, or its
// agent changed). One that is gone already is no error.
func (s *Store) EndConsoleSession(ctx context.Context, key []byte) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE key_hash = ?`, key)
		return err
	})
	return wrap("end a console session", err)
}

// SignOutConsole deletes a session its agent signed out of at at, from
// the address from, and writes the audit log's console.signout entry.
// One that is gone already is no error, and not audited.
func (s *Store) SignOutConsole(ctx context.Context, key []byte, at time.Time, from string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var portal, agent string
		err := tx.QueryRowContext(ctx, `SELECT p.name, a.username_key
			FROM console_sessions c JOIN agents a ON a.id = c.agent_id JOIN portals p ON p.id = a.portal_id
			WHERE c.key_hash = ?`, key).Scan(&portal, &agent)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE key_hash = ?`, key); err != nil {
			return err
		}
		return audit(ctx, tx, at, portal, agent, AuditConsoleSignOut, "", fmt.Sprintf("from=%q", from))
	})
	return wrap("sign out of the console", err)
}
