package store

import (
	"context"
	"database/sql"
	"strings"
)

// dialect is what differs between the two engines the store runs on. The
// queries themselves are one text for both: they use `?` placeholders
// (the PostgreSQL connection numbers them, see rebind) and the few
// SQLite functions that PostgreSQL lacks are defined in its schema
// (migrations/postgres). What cannot be said the same way on both is
// here, one implementation per engine (dialect_sqlite.go,
// dialect_postgres.go).
type dialect interface {
	// engine is "sqlite" or "postgres".
	engine() string
	// schemaVersion is the number of the last migration applied.
	schemaVersion(ctx context.Context, db *sql.DB) (int, error)
	// setSchemaVersion records, inside the migration's transaction,
	// that migration v is applied.
	setSchemaVersion(ctx context.Context, tx *sql.Tx, v int) error
	// txOptions are the options of every write transaction.
	txOptions() *sql.TxOptions
	// retryable reports whether a transaction failed only because a
	// concurrent one won (and may be run again from the start).
	retryable(err error) bool
	// unique reports whether err is a UNIQUE constraint violation.
	unique(err error) bool
	// full reports whether err says the disk or database is full.
	full(err error) bool
}

// IsPostgresURL reports whether a store address names a PostgreSQL
// database rather than an SQLite file.
func IsPostgresURL(addr string) bool {
	return strings.HasPrefix(addr, "postgres://") || strings.HasPrefix(addr, "postgresql://")
}

// Engine is "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.engine() }
