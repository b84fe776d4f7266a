// Package store keeps jabberdesk's durable state in one database — an
// SQLite file on a single node, PostgreSQL when several nodes share it
// (docs/CLUSTER.md) — one file an aggregate:
//
//   - The directory: portals (tenants), departments, agents with their
//     roles, settings and SCRAM credentials (RFC 5802 §3, RFC 7677), the
//     addresses each agent signed in from (sign_in.go), the supervisor
//     console's sessions by the SHA-256 of their ids (console_session.go),
//     portal settings, and the audit log of every admin change and of
//     agents' desk commands.
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
//     archive of colleague messages (XEP-0313: one row per message, read
//     by both agents; paged as XEP-0059 says,
//     merged with the transcripts of the agent's chats; written in
//     batches by ArchiveWriter); the message board and who has seen it;
//     vCards (XEP-0054, photos as XEP-0153); private XML (XEP-0049), block
//     lists (XEP-0191) and personal eventing items (XEP-0163), kept
//     opaque; HTTP upload slots (XEP-0363) and per-agent quotas.
//
// Invariants:
//   - One API, two engines: the queries are one text for both, and what
//     must differ is in one file per engine (dialect_sqlite.go,
//     dialect_postgres.go). The schema is a sequence of numbered
//     migrations per engine embedded in the binary
//     (migrations/ENGINE/NNNN_name.sql), applied in order at Open; a
//     database newer than the binary is refused.
//   - On SQLite every write goes through one writer connection (WAL mode,
//     synchronous=NORMAL: a committed write survives a process crash;
//     transactions begin IMMEDIATE, so they never deadlock on upgrade),
//     reads use a separate pool of read-only connections. On PostgreSQL
//     write transactions are SERIALIZABLE and run again when a concurrent
//     one won, so that several nodes writing at once keep every invariant
//     here (counters, "check then insert"). A method returns once what it
//     wrote is committed; only ArchiveWriter batches, and it says when a
//     batch is written (AfterWritten).
//   - Passwords are never stored: only salt, iteration count, StoredKey and
//     ServerKey per SCRAM hash.
//   - Everything belongs to one portal: a method given a portal never
//     reaches another's rows, and ids (of chats, offline messages) name
//     rows of one portal. Only start-up and listings span portals
//     (Portals, LiveChats, ReleaseAllHeld, ReleaseHeldPrefix).
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
	"math/rand/v2"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Errors that callers test for with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrStorageFull: the disk (or the database's size limit) is full;
	// nothing of the write was kept.
	ErrStorageFull = errors.New("out of storage space")
	// ErrUnavailable: the database server cannot be reached or refuses
	// connections for now (PostgreSQL restarting, the network down);
	// nothing of the request was stored, and it may be tried again.
	ErrUnavailable = errors.New("the database cannot be reached")
)

// DefaultIterations is the PBKDF2 iteration count used for new credentials
// when Options.Iterations is zero (RFC 7677 §4 recommends at least 4096).
const DefaultIterations = 4096

// Options tune a Store. The zero value is usable.
type Options struct {
	// Iterations is the PBKDF2 iteration count for passwords set from now
	// on; values below DefaultIterations are raised to it.
	Iterations int
	// ReadConns is the size of the read pool (default: 2 × GOMAXPROCS);
	// on PostgreSQL, of the one pool (default: 4 × GOMAXPROCS).
	ReadConns int
}

// Store is the database. Its methods are safe for concurrent use.
type Store struct {
	path       string  // the file, or the PostgreSQL URL without its password
	d          dialect // what differs between the engines
	w          *sql.DB // SQLite: exactly one connection, all writes; PostgreSQL: the pool
	r          *sql.DB // SQLite: the read-only pool; PostgreSQL: the pool
	iterations int
	now        func() time.Time
}

// Open opens the database at addr — an SQLite file (created if needed)
// or a postgres:// URL — and applies any migrations it has not seen yet.
func Open(addr string, opts Options) (*Store, error) {
	return openAt(addr, opts, 0)
}

// openAt is Open migrating up to schema version upTo (0: the latest).
func openAt(addr string, opts Options, upTo int) (*Store, error) {
	s := &Store{path: addr, iterations: opts.Iterations, now: time.Now}
	if s.iterations < DefaultIterations {
		s.iterations = DefaultIterations
	}
	var err error
	if IsPostgresURL(addr) {
		s.d = postgresDialect{}
		s.path = redactURL(addr)
		s.w, err = openPostgres(addr, opts)
		s.r = s.w
	} else {
		s.d = sqliteDialect{}
		s.w, s.r, err = openSQLite(addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if err := s.migrate(context.Background(), upTo); err != nil {
		_ = s.Close() // the migration's error is the one to report
		return nil, err
	}
	return s, nil
}

// redactURL is a PostgreSQL URL fit for logs: without its password.
func redactURL(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// Path is the database file, or the PostgreSQL URL without its password.
func (s *Store) Path() string { return s.path }

// Close closes the connection pools.
func (s *Store) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Iterations is the PBKDF2 iteration count used for new passwords.
func (s *Store) Iterations() int { return s.iterations }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations(engine string) ([]migration, error) {
	dir := "migrations/" + engine
	entries, err := fs.ReadDir(migrationFiles, dir)
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
		b, err := migrationFiles.ReadFile(dir + "/" + e.Name())
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
	v, err := s.d.schemaVersion(ctx, s.w)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the number of the newest migration in this binary
// for the store's engine.
func (s *Store) LatestSchemaVersion() int {
	ms, err := migrations(s.d.engine())
	if err != nil {
		return 0
	}
	return len(ms)
}

func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := migrations(s.d.engine())
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if upTo > 0 {
		ms = ms[:min(upTo, len(ms))]
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
			return s.d.setSchemaVersion(ctx, tx, m.version)
		})
		if err != nil {
			return fmt.Errorf("store: migrate to %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// txAttempts bounds how often a transaction that lost to a concurrent
// one is run again (PostgreSQL only); between attempts it waits a random
// time below a bound that doubles from 1 ms up to 100 ms.
const txAttempts = 40

// tx runs f in a write transaction. On PostgreSQL a transaction that
// lost to a concurrent one is run again from the start, so f must do
// nothing but its statements (and set what it returns).
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	return s.txAt(ctx, s.d.txOptions(), f)
}

// txRowLocked is tx for a transaction whose every invariant rests on the
// row locks its statements take (a counter bumped by UPDATE ... RETURNING,
// rows keyed by it): on PostgreSQL it runs READ COMMITTED, so that readers
// and writers of other rows never make it fail, as SERIALIZABLE's
// dependency tracking does under load.
func (s *Store) txRowLocked(ctx context.Context, f func(*sql.Tx) error) error {
	if s.d.engine() != "postgres" {
		return s.tx(ctx, f)
	}
	return s.txAt(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, f)
}

func (s *Store) txAt(ctx context.Context, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, opts, f)
		if err == nil || attempt == txAttempts || !s.d.retryable(err) {
			return err
		}
		// Back off, at random, so that the winners finish.
		bound := min(time.Millisecond<<min(attempt, 10), 100*time.Millisecond)
		t := time.NewTimer(time.Duration(rand.Int64N(int64(bound))))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) tx1(ctx context.Context, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, opts)
	if err != nil {
		return s.storageFull(err)
	}
	if err := f(tx); err != nil {
		// The write failed; rolling back what it did cannot fail in a way
		// that matters (the transaction is dropped either way).
		_ = tx.Rollback()
		return s.storageFull(err)
	}
	return s.storageFull(tx.Commit())
}

// storageFull marks the engine's "disk is full" with ErrStorageFull, so
// that callers can tell it from their own mistakes.
func (s *Store) storageFull(err error) error {
	if err != nil && s.d.full(err) {
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	return err
}

// millis converts a time to the stored form.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis converts the stored form back to a UTC time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// isUnique reports whether err is a UNIQUE constraint violation, on
// either engine.
func isUnique(err error) bool {
	return err != nil && (sqliteDialect{}.unique(err) || postgresDialect{}.unique(err))
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
