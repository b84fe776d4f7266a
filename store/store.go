// Package store keeps jabberdesk's durable state in one SQLite database,
// one file an aggregate:
//
//   - The directory: portals (tenants), departments, agents with their
//     roles, settings and SCRAM credentials (RFC 5802 §3, RFC 7677), the
//     addresses each agent signed in from (sign_in.go), portal settings,
//     and the audit log of every admin change and of agents' desk
//     commands.
//   - Visitor chats (docs/CHATS.md): visitors, chats with a per-portal
//     visitor number, the agents in each chat, offers, and the chat's
//     events — its transcript and the visitor's event stream in one
//     table, numbered by a per-chat seq; visitor notes, canned
//     responses, blocked addresses, flagged chats.
//   - The helpdesk (docs/HELPDESK.md): accounts with their SLA, contacts,
//     tickets with a per-portal number, their threads and the chats
//     linked to them, and ticket search.
//   - What the XMPP server keeps for agents: offline messages (with the
//     XEP-0203 stamp in the stanza; bounded per agent, OfflineLimit), some
//     held for a session waiting to be resumed (XEP-0198); the message
//     archive of colleague messages (XEP-0313, paged as XEP-0059 says,
//     merged with the transcripts of the agent's chats; written in
//     batches by ArchiveWriter); the message board and who has seen it;
//     vCards (XEP-0054, photos as XEP-0153); private XML (XEP-0049), block
//     lists (XEP-0191) and personal eventing items (XEP-0163), kept
//     opaque; HTTP upload slots (XEP-0363) and per-agent quotas.
//
// Invariants:
//   - The schema is a sequence of numbered migrations embedded in the
//     binary (migrations/NNNN_name.sql) and applied in order at Open; the
//     database's PRAGMA user_version is the number of the last one applied.
//     A database newer than the binary is refused.
//   - Every write goes through one writer connection (WAL mode,
//     synchronous=NORMAL: a committed write survives a process crash;
//     transactions begin IMMEDIATE, so they never deadlock on upgrade),
//     reads use a separate pool of read-only connections. A method returns
//     once what it wrote is committed; only ArchiveWriter batches, and it
//     says when a batch is written (AfterWritten).
//   - Passwords are never stored: only salt, iteration count, StoredKey and
//     ServerKey per SCRAM hash.
//   - Everything belongs to one portal: a method given a portal never
//     reaches another's rows, and ids (of chats, offline messages) name
//     rows of one portal. Only start-up and listings span portals
//     (Portals, LiveChats, ReleaseAllHeld).
//   - Every admin change writes its audit_log row in the same transaction.
//   - Offline storage never drops an undelivered message: past
//     OfflineLimit a new one is refused (ErrOfflineFull). A full disk is
//     ErrStorageFull, with nothing of the write kept.
//   - The store knows nothing of XMPP or HTTP beyond storing stanzas and
//     keys as given, and imports nothing of jabberdesk's. Errors are
//     wrapped with the operation ("store: add agent: ..."); those meant
//     for people are *UserError, shown as they are; errors.Is matches
//     ErrNotFound, ErrExists, ErrInvalid where that applies.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // SQLite driver (cgo)
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Errors that callers test for with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrStorageFull: the disk (or the database's size limit) is full;
	// nothing of the write was kept.
	ErrStorageFull = errors.New("out of storage space")
)

// DefaultIterations is the PBKDF2 iteration count used for new credentials
// when Options.Iterations is zero (RFC 7677 §4 recommends at least 4096).
const DefaultIterations = 4096

// Options tune a Store. The zero value is usable.
type Options struct {
	// Iterations is the PBKDF2 iteration count for passwords set from now
	// on; values below DefaultIterations are raised to it.
	Iterations int
	// ReadConns is the size of the read pool (default: 2 × GOMAXPROCS).
	ReadConns int
}

// Store is the database. Its methods are safe for concurrent use.
type Store struct {
	path       string
	w          *sql.DB // exactly one connection: all writes
	r          *sql.DB // read-only pool
	iterations int
	now        func() time.Time
}

// Open opens (creating if needed) the database file at path and applies
// any migrations it has not seen yet.
func Open(path string, opts Options) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: open: %w", err)
		}
	}
	s := &Store{path: path, iterations: opts.Iterations, now: time.Now}
	if s.iterations < DefaultIterations {
		s.iterations = DefaultIterations
	}
	var err error
	s.w, err = sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	if err := s.migrate(context.Background()); err != nil {
		_ = s.w.Close() // the migration's error is the one to report
		return nil, err
	}
	s.r, err = sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		_ = s.w.Close() // the open's error is the one to report
		return nil, fmt.Errorf("store: open: %w", err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_stmt_cache_size", "64") // prepared statements reused per connection
	if readOnly {
		q.Set("_query_only", "true")
	} else {
		q.Set("_txlock", "immediate")
		// 32 MiB of page cache for the one writer (SQLite's default is
		// 2 MiB): the archive's indexes take inserts for every agent,
		// and re-reading their pages was a good part of a write.
		q.Set("_cache_size", "-32768")
	}
	return "file:" + path + "?" + q.Encode()
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Iterations is the PBKDF2 iteration count used for new passwords.
func (s *Store) Iterations() int { return s.iterations }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad migration file name %q", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %d is missing", i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the number of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the number of the newest migration in this binary.
func LatestSchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if have > len(ms) {
		return fmt.Errorf("store: migrate: database %s is at schema version %d, newer than this binary knows (%d); use a newer jabberdesk", s.path, have, len(ms))
	}
	for _, m := range ms[have:] {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate to %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// tx runs f in a write transaction on the writer connection.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storageFull(err)
	}
	if err := f(tx); err != nil {
		// The write failed; rolling back what it did cannot fail in a way
		// that matters (the transaction is dropped either way).
		_ = tx.Rollback()
		return storageFull(err)
	}
	return storageFull(tx.Commit())
}

// storageFull marks SQLite's "database or disk is full" with
// ErrStorageFull, so that callers can tell it from their own mistakes.
func storageFull(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	return err
}

// millis converts a time to the stored form.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis converts the stored form back to a UTC time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// audit records one admin action inside tx.
func audit(ctx context.Context, tx *sql.Tx, at time.Time, portal, actor, action, target, detail string) error {
	if actor == "" {
		actor = "cli"
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO audit_log (at, portal, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		millis(at), portal, actor, action, target, detail)
	return err
}
