package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5"
)

// Ping checks that the database answers a read of the schema's first
// table, within ctx's deadline (for health checks). On SQLite it reads
// with the read pool: a long write under way does not make it wait.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM portals LIMIT 1) AS p`).Scan(&n)
	if err != nil {
		return fmt.Errorf("store: ping %s: %w", s.path, err)
	}
	return nil
}

// Exists reports whether addr holds a jabberdesk database: the SQLite
// file exists, or the PostgreSQL database has the store's schema. Unlike
// Open it creates nothing.
func Exists(ctx context.Context, addr string) (bool, error) {
	if !IsPostgresURL(addr) {
		_, err := os.Stat(addr)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	conn, err := pgx.Connect(ctx, addr)
	if err != nil {
		return false, fmt.Errorf("store: connect to %s: %w", redactURL(addr), err)
	}
	defer func() { _ = conn.Close(ctx) }() // a read-only look: nothing to lose
	// Two queries: a statement naming a missing table does not parse.
	var has bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&has); err != nil || !has {
		return false, wrapLook(addr, err)
	}
	var v int64
	if err := conn.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return false, wrapLook(addr, err)
	}
	return v > 0, nil
}

func wrapLook(addr string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: look at %s: %w", redactURL(addr), err)
}
