package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mattn/go-sqlite3" // SQLite driver (cgo)
)

// sqliteDialect: one file, one writer connection (WAL, transactions
// begin IMMEDIATE so that they never deadlock on upgrade) and a pool of
// read-only connections. The schema version is PRAGMA user_version.
type sqliteDialect struct{}

func (sqliteDialect) engine() string { return "sqlite" }

func (sqliteDialect) schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

func (sqliteDialect) setSchemaVersion(ctx context.Context, tx *sql.Tx, v int) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
	return err
}

func (sqliteDialect) txOptions() *sql.TxOptions { return nil }

// retryable: the one writer connection serialises every transaction.
func (sqliteDialect) retryable(error) bool { return false }

func (sqliteDialect) unique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique ||
		errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
}

func (sqliteDialect) full(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrFull
}

// openSQLite opens (creating if needed) the database file at path: the
// writer connection and the read pool.
func openSQLite(path string, opts Options) (w, r *sql.DB, err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, nil, err
		}
	}
	w, err = sql.Open("sqlite3", sqliteDSN(path, false))
	if err != nil {
		return nil, nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err = sql.Open("sqlite3", sqliteDSN(path, true))
	if err != nil {
		_ = w.Close() // the open's error is the one to report
		return nil, nil, err
	}
	n := opts.ReadConns
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return w, r, nil
}

func sqliteDSN(path string, readOnly bool) string {
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
