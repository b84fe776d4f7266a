package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Portal is one customer organisation (tenant). Everything else belongs to
// exactly one portal.
type Portal struct {
	ID        int64     `json:"-"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// AddPortal creates a portal.
func (s *Store) AddPortal(ctx context.Context, name, actor string) (Portal, error) {
	if err := ValidatePortalName(name); err != nil {
		return Portal{}, err
	}
	p := Portal{Name: name, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO portals (name, created_at) VALUES (?, ?) RETURNING id`, name, millis(p.CreatedAt)).Scan(&p.ID)
		if isUnique(err) {
			return exists("portal %q already exists", name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, p.CreatedAt, name, actor, "portal.add", name, "")
	})
	if err != nil {
		return Portal{}, wrap("add portal", err)
	}
	return p, nil
}

// Portal looks a portal up by name.
func (s *Store) Portal(ctx context.Context, name string) (Portal, error) {
	p, err := scanPortal(s.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM portals WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Portal{}, notFound("portal %q does not exist (see: jabberdesk portal list)", name)
	}
	return p, wrap("get portal", err)
}

// Portals lists all portals by name.
func (s *Store) Portals(ctx context.Context) ([]Portal, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, created_at FROM portals ORDER BY name`)
	if err != nil {
		return nil, wrap("list portals", err)
	}
	defer release(rows)
	var ps []Portal
	for rows.Next() {
		p, err := scanPortal(rows)
		if err != nil {
			return nil, wrap("list portals", err)
		}
		ps = append(ps, p)
	}
	return ps, wrap("list portals", rows.Err())
}

// RemovePortal deletes a portal and everything in it.
func (s *Store) RemovePortal(ctx context.Context, name, actor string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM portals WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("portal %q does not exist (see: jabberdesk portal list)", name)
		}
		return audit(ctx, tx, s.now(), name, actor, "portal.remove", name, "")
	})
	return wrap("remove portal", err)
}

// portalID resolves a portal name inside a transaction.
func portalID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM portals WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("portal %q does not exist (see: jabberdesk portal list)", name)
	}
	return id, err
}

type scanner interface{ Scan(...any) error }

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func scanPortal(row scanner) (Portal, error) {
	var p Portal
	var created int64
	err := row.Scan(&p.ID, &p.Name, &created)
	p.CreatedAt = fromMillis(created)
	return p, err
}

// wrap names the operation on internal errors; errors written for the
// user (UserError) pass through unchanged so that their text stays clean.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ue *UserError
	if errors.As(err, &ue) {
		return err
	}
	if (postgresDialect{}).unavailable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
