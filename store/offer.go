package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Kinds of offer (Offer.Kind).
const (
	OfferChat     = "chat"     // a new chat routed to the agent
	OfferTransfer = "transfer" // another agent hands the chat over
	OfferInvite   = "invite"   // another agent asks the agent to join
)

// Answers to an offer (Offer.Answer); "" while unanswered.
const (
	OfferAccepted  = "accepted"
	OfferDeclined  = "declined"
	OfferTimeout   = "timeout"   // the agent did not answer in time
	OfferWithdrawn = "withdrawn" // taken back: someone else accepted, or the chat ended
)

// Offer is a chat offered to one agent and what came of it.
type Offer struct {
	ID         int64      `json:"id"`
	Username   string     `json:"username"`
	Kind       string     `json:"kind"`   // OfferChat, OfferTransfer or OfferInvite
	Answer     string     `json:"answer"` // "" while unanswered
	OfferedAt  time.Time  `json:"offered_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// AddOffer records that a chat was offered to an agent of the chat's
// portal and returns the offer's id. A chat or agent of another portal is
// ErrNotFound.
func (s *Store) AddOffer(ctx context.Context, chatID int64, portal, username, kind string, at time.Time) (int64, error) {
	switch kind {
	case OfferChat, OfferTransfer, OfferInvite:
	default:
		return 0, invalid("offer kind %q is not one of chat, transfer, invite", kind)
	}
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO chat_offers (chat_id, agent_id, agent_username, kind, offered_at)
			SELECT c.id, a.id, a.username, ?, ?
			FROM chats c JOIN portals p ON p.id = c.portal_id JOIN agents a ON a.portal_id = c.portal_id
			WHERE c.id = ? AND p.name = ? AND a.username_key = ?
			RETURNING id`,
			kind, millis(at), chatID, portal, UsernameKey(username)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return whyNoChatAgent(ctx, tx, chatID, portal, username)
		}
		return err
	})
	if err != nil {
		return 0, wrap("add offer", err)
	}
	return id, nil
}

// AnswerOffer records the answer to an offer that is still unanswered; an
// offer answered before keeps its first answer and AnswerOffer returns
// nil, so that racing answers (a "y" and a timeout, say) are harmless.
func (s *Store) AnswerOffer(ctx context.Context, offerID int64, answer string, at time.Time) error {
	switch answer {
	case OfferAccepted, OfferDeclined, OfferTimeout, OfferWithdrawn:
	default:
		return invalid("offer answer %q is not one of accepted, declined, timeout, withdrawn", answer)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE chat_offers SET answer = ?, answered_at = ? WHERE id = ? AND answer = ''`,
			answer, millis(at), offerID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM chat_offers WHERE id = ?`, offerID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("offer %d does not exist", offerID)
		}
		return err
	})
	return wrap("answer offer", err)
}

// Offers lists a chat's offers in the order they were made.
func (s *Store) Offers(ctx context.Context, chatID int64) ([]Offer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, agent_username, kind, answer, offered_at, answered_at
		FROM chat_offers WHERE chat_id = ? ORDER BY id`, chatID)
	if err != nil {
		return nil, wrap("list offers", err)
	}
	defer release(rows)
	offers := []Offer{}
	for rows.Next() {
		var o Offer
		var offered int64
		var answered sql.NullInt64
		if err := rows.Scan(&o.ID, &o.Username, &o.Kind, &o.Answer, &offered, &answered); err != nil {
			return nil, wrap("list offers", err)
		}
		o.OfferedAt, o.AnsweredAt = fromMillis(offered), optTime(answered)
		offers = append(offers, o)
	}
	return offers, wrap("list offers", rows.Err())
}
