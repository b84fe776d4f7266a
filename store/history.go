package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// HistoricChat is a whole chat that is over, with its agents, offers,
// events and rating, as ImportChats takes it: chats kept elsewhere before
// jabberdesk, and the synthetic histories of load tests and benchmarks.
// Times not reached are zero.
type HistoricChat struct {
	Visitor, Email string // the visitor; a known email is the same visitor
	Department     string // a department of the portal, any case; "" for none
	// Channel is one of the portal's channels by name and Customer the
	// customer's provider id on it; "" for a web chat.
	Channel, Customer string
	Question          string
	Status            ChatStatus // ChatEnded or ChatMissed
	EndReason         string

	CreatedAt, OfferedAt, AcceptedAt, EndedAt time.Time

	Agents []HistoricAgent
	Offers []HistoricOffer
	Events []HistoricEvent // in order; the first agent message sets first_reply_at

	Stars   int // the visitor's rating, 1 to 5; 0 for none
	Comment string
}

// HistoricAgent is an agent's stay in a historic chat.
type HistoricAgent struct {
	Username         string
	Role             string // ChatRoleOwner, ChatRoleInvited or ChatRoleMonitor
	JoinedAt, LeftAt time.Time
}

// HistoricOffer is an offer of a historic chat and its answer.
type HistoricOffer struct {
	Username              string
	Kind, Answer          string // as in chat_offers
	OfferedAt, AnsweredAt time.Time
}

// HistoricEvent is an event of a historic chat. Author is the agent's
// username for AuthorAgent.
type HistoricEvent struct {
	At                                   time.Time
	Type, AuthorKind, Author, AuthorName string
	Text                                 string
}

// ImportChats stores chats that are over in one transaction, each with a
// new visitor number; it returns their ids. The portal, departments,
// channels and agents named must exist.
func (s *Store) ImportChats(ctx context.Context, portal string, chats []HistoricChat) ([]int64, error) {
	ids := make([]int64, 0, len(chats))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		for _, h := range chats {
			id, err := importChat(ctx, tx, pid, portal, h)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("import chats", err)
	}
	return ids, nil
}

// importChat stores one historic chat.
func importChat(ctx context.Context, tx *sql.Tx, pid int64, portal string, h HistoricChat) (int64, error) {
	if h.Status != ChatEnded && h.Status != ChatMissed {
		return 0, invalid("an imported chat is ended or missed, not %q", h.Status)
	}
	visitorID, channelID, customerID, err := historicVisitor(ctx, tx, pid, portal, h)
	if err != nil {
		return 0, err
	}
	var deptID any
	dept := ""
	if h.Department != "" {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM departments WHERE portal_id = ? AND name_key = ?`, pid, deptKey(h.Department)).Scan(&id, &dept)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, notFound("department %q does not exist in portal %q", h.Department, portal)
		}
		if err != nil {
			return 0, err
		}
		deptID = id
	}
	var number int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO portal_counters (portal_id, next_visitor_number) VALUES (?, 1002)
		ON CONFLICT (portal_id) DO UPDATE SET next_visitor_number = portal_counters.next_visitor_number + 1
		RETURNING next_visitor_number - 1`, pid).Scan(&number); err != nil {
		return 0, err
	}
	var firstReply any
	for _, e := range h.Events {
		if e.Type == "message" && e.AuthorKind == AuthorAgent {
			firstReply = millis(e.At)
			break
		}
	}
	token := make([]byte, 16)
	_, _ = rand.Read(token) // crypto/rand never fails (Go 1.24)
	hash := sha256.Sum256(token)
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO chats (public_id, portal_id, number, visitor_id, department_id, department, question,
			status, token_hash, created_at, offered_at, accepted_at, first_reply_at, ended_at, end_reason, last_visitor_at,
			last_seq, channel_id, customer_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		hex.EncodeToString(token), pid, number, visitorID, deptID, dept, h.Question, h.Status, hash[:],
		millis(h.CreatedAt), optStored(h.OfferedAt), optStored(h.AcceptedAt), firstReply, optStored(h.EndedAt), h.EndReason,
		millis(h.CreatedAt), len(h.Events), channelID, customerID).Scan(&id)
	if err != nil {
		return 0, err
	}
	return id, importChatParts(ctx, tx, id, portal, h)
}

// historicVisitor finds or creates the visitor of a historic chat: a
// channel's customer, or a web visitor.
func historicVisitor(ctx context.Context, tx *sql.Tx, pid int64, portal string, h HistoricChat) (visitorID int64, channelID, customerID any, err error) {
	if h.Channel == "" {
		visitorID, _, err = upsertVisitor(ctx, tx, pid, h.Visitor, h.Email, "", h.CreatedAt)
		return visitorID, nil, nil, err
	}
	var chID int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM channels WHERE portal_id = ? AND name_key = ?`, pid, strings.ToLower(h.Channel)).Scan(&chID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil, notFound("channel %q does not exist in portal %q", h.Channel, portal)
	}
	if err != nil {
		return 0, nil, nil, err
	}
	cu, err := upsertCustomer(ctx, tx, chID, InboundMessage{CustomerID: h.Customer, Name: h.Visitor, At: h.CreatedAt}, h.CreatedAt)
	if err != nil {
		return 0, nil, nil, err
	}
	return cu.VisitorID, chID, cu.ID, nil
}

// importChatParts stores a historic chat's agents, offers, events and
// rating.
func importChatParts(ctx context.Context, tx *sql.Tx, id int64, portal string, h HistoricChat) error {
	for _, a := range h.Agents {
		res, err := tx.ExecContext(ctx, `INSERT INTO chat_agents (chat_id, agent_id, agent_username, agent_name, role, joined_at, left_at)
			SELECT ?, a.id, a.username, a.display_name, ?, ?, ? FROM agents a JOIN portals p ON p.id = a.portal_id
			WHERE p.name = ? AND a.username_key = ?`, id, a.Role, millis(a.JoinedAt), optStored(a.LeftAt), portal, UsernameKey(a.Username))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("agent %q does not exist in portal %q", a.Username, portal)
		}
	}
	for _, o := range h.Offers {
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_offers (chat_id, agent_id, agent_username, kind, offered_at, answered_at, answer)
			SELECT ?, a.id, a.username_key, ?, ?, ?, ? FROM agents a JOIN portals p ON p.id = a.portal_id
			WHERE p.name = ? AND a.username_key = ?`, id, o.Kind, millis(o.OfferedAt), optStored(o.AnsweredAt), o.Answer, portal, UsernameKey(o.Username))
		if err != nil {
			return err
		}
	}
	for i, e := range h.Events {
		if e.AuthorKind == AuthorAgent {
			if err := ValidateUsername(e.Author); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_events (chat_id, seq, at, type, author_kind, author, author_name, text)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, i+1, millis(e.At), e.Type, e.AuthorKind, e.Author, e.AuthorName, e.Text)
		if err != nil {
			return err
		}
	}
	if h.Stars != 0 {
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_ratings (chat_id, stars, comment, at, source) VALUES (?, ?, ?, ?, 'widget')`,
			id, h.Stars, h.Comment, millis(h.EndedAt))
		if err != nil {
			return err
		}
	}
	return writeDigest(ctx, tx, id)
}

// optStored is a stored nullable time: NULL for the zero time.
func optStored(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}

// ImportRating records a rating of an imported chat (1 to 5 stars, and a
// comment) as the widget's, replacing an earlier one; a rating given in a
// chat goes through RateChat.
func (s *Store) ImportRating(ctx context.Context, chatID int64, stars int, comment string, at time.Time) error {
	if stars < 1 || stars > 5 {
		return invalid("a rating is 1 to 5 stars, not %d", stars)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO chat_ratings (chat_id, stars, comment, at, source) SELECT id, ?, ?, ?, 'widget' FROM chats WHERE id = ?
			ON CONFLICT (chat_id) DO UPDATE SET stars = excluded.stars, comment = excluded.comment, at = excluded.at`,
			stars, comment, millis(at), chatID)
		return oneRow(res, err, chatNotFound(chatID))
	})
	return wrap("import rating", err)
}
