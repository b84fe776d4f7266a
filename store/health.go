package store

import (
	"context"
	"fmt"
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
