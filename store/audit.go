package store

import (
	"context"
	"strings"
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

// AuditFilter says which audit log entries AuditQuery lists.
type AuditFilter struct {
	Portal string // "" for every portal's
	Actor  string // exactly ("fiona.b", "cli", "cli:root"); "" for anyone's
	Action string // exactly ("agent.add", "command", "console"); "" for any
	// From and To bound when: From ≤ at < To; a zero time leaves that
	// side open.
	From, To time.Time
	// Before pages back: only entries with a smaller id (0: the newest).
	Before int64
	Limit  int // <= 0: 100
}

// Audit lists the newest entries of a portal ("" for all), newest first.
func (s *Store) Audit(ctx context.Context, portal string, limit int) ([]AuditEntry, error) {
	return s.AuditQuery(ctx, AuditFilter{Portal: portal, Limit: limit})
}

// AuditQuery lists the entries that pass the filter, newest first. With a
// portal, the indexes (portal, id), (portal, actor, id) and (portal,
// action, id) read them newest first and stop at the limit.
func (s *Store) AuditQuery(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.Portal != "" {
		add(`portal = ?`, f.Portal)
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		add(`actor = ?`, a)
	}
	if a := strings.TrimSpace(f.Action); a != "" {
		add(`action = ?`, a)
	}
	if !f.From.IsZero() {
		add(`at >= ?`, millis(f.From))
	}
	if !f.To.IsZero() {
		add(`at < ?`, millis(f.To))
	}
	if f.Before > 0 {
		add(`id < ?`, f.Before)
	}
	q := `SELECT id, at, portal, actor, action, target, detail FROM audit_log`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	return queryAll(ctx, s.r, "list audit log", scanAudit, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
}

func scanAudit(row scanner) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	err := row.Scan(&e.ID, &at, &e.Portal, &e.Actor, &e.Action, &e.Target, &e.Detail)
	e.At = fromMillis(at)
	return e, err
}

// AuditActions lists the actions the portal's audit log holds, in
// order (read from the index (portal, action, id)).
func (s *Store) AuditActions(ctx context.Context, portal string) ([]string, error) {
	return queryAll(ctx, s.r, "list audit actions", func(row scanner) (string, error) {
		var a string
		err := row.Scan(&a)
		return a, err
	}, `SELECT DISTINCT action FROM audit_log WHERE portal = ? ORDER BY action`, portal)
}
