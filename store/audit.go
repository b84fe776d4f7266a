package store

import (
	"context"
	"time"
)

// AuditEntry is one recorded admin or agent action.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Portal string    `json:"portal"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail"`
}

// Audit lists the newest entries of a portal ("" for all), newest first.
func (s *Store) Audit(ctx context.Context, portal string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, at, portal, actor, action, target, detail FROM audit_log`
	args := []any{}
	if portal != "" {
		q += ` WHERE portal = ?`
		args = append(args, portal)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("list audit log", err)
	}
	defer release(rows)
	var es []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Portal, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, wrap("list audit log", err)
		}
		e.At = fromMillis(at)
		es = append(es, e)
	}
	return es, wrap("list audit log", rows.Err())
}
