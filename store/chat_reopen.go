package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Reopen is what ReopenChat needs.
type Reopen struct {
	ChatID int64
	Portal string
	Agent  string    // the username of the agent who owns the chat from now on
	At     time.Time // when; zero is now
	// Event is appended to the chat in the same transaction: the line of
	// the transcript that says who reopened it.
	Event ChatEvent
}

// ReopenChat makes a channel customer's chat that is over (ended or
// missed) active again, with the agent as its owner and the event
// appended, in one transaction. The end time and reason are cleared, so
// that the chat's next end records its own (the transcript's ended event
// keeps the earlier one). It is refused, with a UserError whose text
// agents can read, for a chat that is not over (ErrInvalid), a web
// visitor's chat (ErrInvalid), a blocked customer's (ErrInvalid), and
// while the customer has another live chat (ErrExists, naming it). An
// unknown chat or agent is ErrNotFound.
func (s *Store) ReopenChat(ctx context.Context, r Reopen) (Chat, error) {
	if err := r.Event.check(); err != nil {
		return Chat{}, err
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	r.At = r.At.UTC().Truncate(time.Millisecond)
	if r.Event.At.IsZero() {
		r.Event.At = r.At
	}
	var c Chat
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := reopenable(ctx, tx, r.ChatID, r.Portal); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'active', ended_at = NULL, end_reason = '',
			accepted_at = coalesce(accepted_at, ?) WHERE id = ?`, millis(r.At), r.ChatID); err != nil {
			return err
		}
		if err := addChatAgent(ctx, tx, r.ChatID, r.Portal, r.Agent, ChatRoleOwner, r.At); err != nil {
			return err
		}
		if err := appendChatEvent(ctx, tx, r.ChatID, &r.Event); err != nil {
			return err
		}
		var err error
		c, err = scanChat(tx.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+` WHERE c.id = ?`, r.ChatID))
		return err
	})
	if err != nil {
		return Chat{}, wrap("reopen chat", err)
	}
	return c, nil
}

// reopenable says why a chat cannot be reopened now (nil when it can).
func reopenable(ctx context.Context, tx *sql.Tx, chatID int64, portal string) error {
	var number int64
	var status ChatStatus
	var customer sql.NullInt64
	var blocked bool
	err := tx.QueryRowContext(ctx, `SELECT c.number, c.status, c.customer_id, coalesce(cu.blocked, 0)
		FROM chats c JOIN portals p ON p.id = c.portal_id LEFT JOIN channel_customers cu ON cu.id = c.customer_id
		WHERE c.id = ? AND p.name = ?`, chatID, portal).Scan(&number, &status, &customer, &blocked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound("chat %d does not exist in portal %q", chatID, portal)
	case err != nil:
		return err
	case status.Live():
		return invalid("chat #%d is not over", number)
	case !customer.Valid:
		return invalid("chat #%d is a web visitor's: only a channel customer's chat can be reopened", number)
	case blocked:
		return invalid("the customer of chat #%d is blocked", number)
	}
	var live int64
	err = tx.QueryRowContext(ctx, `SELECT number FROM chats WHERE customer_id = ? AND status IN ('waiting', 'offered', 'active')
		ORDER BY id DESC LIMIT 1`, customer.Int64).Scan(&live)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return exists("the customer of chat #%d is in live chat #%d", number, live)
}
