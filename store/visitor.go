package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Visitor is a website visitor who started one or more chats. A visitor
// who gives an email is one record per portal and email (ignoring case),
// so a returning visitor is recognised; one without email is new each time.
type Visitor struct {
	ID         int64     `json:"id"`
	Portal     string    `json:"portal"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Phone      string    `json:"phone"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// Limits on what a visitor types when starting a chat, in characters.
const (
	VisitorNameMax = 200
	QuestionMax    = 2000
)

// Visitor looks a visitor up by id.
func (s *Store) Visitor(ctx context.Context, id int64) (Visitor, error) {
	var v Visitor
	var created, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT v.id, p.name, v.name, v.email, v.phone, v.created_at, v.last_seen_at
		FROM visitors v JOIN portals p ON p.id = v.portal_id WHERE v.id = ?`, id).
		Scan(&v.ID, &v.Portal, &v.Name, &v.Email, &v.Phone, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Visitor{}, notFound("visitor %d does not exist", id)
	}
	if err != nil {
		return Visitor{}, wrap("get visitor", err)
	}
	v.CreatedAt, v.LastSeenAt = fromMillis(created), fromMillis(seen)
	return v, nil
}

// upsertVisitor finds the portal's visitor with this email (ignoring case)
// and brings their name, email spelling and, when given, phone up to date,
// or creates a new visitor; a visitor without email is always new. It
// returns the visitor's id and phone.
func upsertVisitor(ctx context.Context, tx *sql.Tx, portalID int64, name, email, phone string, at time.Time) (id int64, storedPhone string, err error) {
	var key any // NULL: no email, never matches another visitor
	if email != "" {
		key = strings.ToLower(email)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO visitors (portal_id, name, email, email_key, phone, created_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (portal_id, email_key) DO UPDATE SET
			name = excluded.name,
			email = excluded.email,
			phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE visitors.phone END,
			last_seen_at = max(visitors.last_seen_at, excluded.last_seen_at)
		RETURNING id, phone`,
		portalID, name, email, key, phone, millis(at), millis(at)).Scan(&id, &storedPhone)
	return id, storedPhone, err
}

// TouchVisitor records that the chat's visitor was there at the given
// time: it sets the chat's last_visitor_at and the visitor's last_seen_at
// (neither ever goes back in time).
func (s *Store) TouchVisitor(ctx context.Context, chatID int64, at time.Time) error {
	ms := millis(at)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var visitorID int64
		err := tx.QueryRowContext(ctx, `UPDATE chats SET last_visitor_at = max(coalesce(last_visitor_at, 0), ?)
			WHERE id = ? RETURNING visitor_id`, ms, chatID).Scan(&visitorID)
		if errors.Is(err, sql.ErrNoRows) {
			return chatNotFound(chatID)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE visitors SET last_seen_at = max(last_seen_at, ?) WHERE id = ?`, ms, visitorID)
		return err
	})
	return wrap("touch visitor", err)
}
