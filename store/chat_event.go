package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"
)

// Kinds of author of a chat event (ChatEvent.AuthorKind).
const (
	AuthorVisitor = "visitor"
	AuthorAgent   = "agent"
	AuthorSystem  = "system"
)

// ChatEvent is one thing that happened in a chat: a message, a system
// line, an agent joining or leaving, a pushed page, the end. The events
// with Visible set are what the visitor sees, numbered by Seq; all events
// together are the chat's transcript.
type ChatEvent struct {
	Seq        int64     `json:"seq"` // 1, 2, 3, ... per chat
	At         time.Time `json:"at"`
	Type       string    `json:"type"`        // "message", "system", "agent_joined", ... (docs/VISITOR-API.md §5)
	AuthorKind string    `json:"author_kind"` // AuthorVisitor, AuthorAgent or AuthorSystem
	Author     string    `json:"author"`      // the agent's username for AuthorAgent, else ""
	AuthorName string    `json:"author_name"` // the name shown for the author
	Text       string    `json:"text"`
	Data       string    `json:"data"` // JSON with the type's other fields, or ""
	Visible    bool      `json:"visible"`
	// InboundID, for a channel customer's message, is its channel_inbound
	// row: marked delivered in the same transaction, and the append is
	// refused with ErrDelivered if it already was.
	InboundID int64 `json:"-"`
	// Outbound, for an agent's message to a channel customer, is queued
	// for sending in the same transaction (ChatID is this chat); the
	// returned event has it with its id and send key.
	Outbound *Outbound `json:"-"`
}

// AppendChatEvent adds an event to a chat and returns it with Seq (the
// chat's last seq plus one) and At (now, when zero) filled in. The first
// agent message sets the chat's first_reply_at; every message, the
// visitor's or an agent's, its last_message_from (Chat.LastMessageFrom).
func (s *Store) AppendChatEvent(ctx context.Context, chatID int64, e ChatEvent) (ChatEvent, error) {
	if err := e.check(); err != nil {
		return ChatEvent{}, err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	// The chat's row, locked by the UPDATE that numbers the event, orders
	// appends; the inbound message and the outbound one are marked and
	// queued by keyed, conditional writes.
	err := s.txRowLocked(ctx, func(tx *sql.Tx) error { return appendChatEvent(ctx, tx, chatID, &e) })
	if err != nil {
		return ChatEvent{}, wrap("append chat event", err)
	}
	return e, nil
}

// check refuses an event without a type or with an unknown author kind,
// and a bad outbound message.
func (e ChatEvent) check() error {
	if e.Type == "" {
		return invalid("chat event type is empty")
	}
	switch e.AuthorKind {
	case AuthorVisitor, AuthorAgent, AuthorSystem:
	default:
		return invalid("chat event author kind %q is not one of visitor, agent, system", e.AuthorKind)
	}
	if e.Outbound != nil {
		return checkOutbound(*e.Outbound)
	}
	return nil
}

// appendChatEvent is AppendChatEvent inside a transaction: e, checked and
// with its time set, gets its Seq (and its Outbound its id).
func appendChatEvent(ctx context.Context, tx *sql.Tx, chatID int64, e *ChatEvent) error {
	e.At = e.At.UTC().Truncate(time.Millisecond)
	at := millis(e.At)
	var reply any // NULL unless this is an agent's message
	if e.Type == "message" && e.AuthorKind == AuthorAgent {
		reply = at
	}
	var from any // NULL unless this is a message: who wrote last stays
	if (e.Type == "message" || e.Type == "visitor_message") && e.AuthorKind != AuthorSystem {
		from = e.AuthorKind
	}
	err := tx.QueryRowContext(ctx, `UPDATE chats SET last_seq = last_seq + 1, first_reply_at = coalesce(first_reply_at, ?),
		last_message_from = coalesce(?, last_message_from) WHERE id = ? RETURNING last_seq`, reply, from, chatID).Scan(&e.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return chatNotFound(chatID)
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO chat_events (chat_id, seq, at, type, author_kind, author, author_name, text, data, visible)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		chatID, e.Seq, at, e.Type, e.AuthorKind, e.Author, e.AuthorName, e.Text, e.Data, e.Visible)
	if err != nil {
		return err
	}
	if e.Type == "message" || e.Type == "visitor_message" || e.Type == "reopened" {
		// A message after the end (a blocked customer's, kept), or the
		// chat reopened: reports read the chat's events again.
		if _, err := tx.ExecContext(ctx, `DELETE FROM chat_digests WHERE chat_id = ?`, chatID); err != nil {
			return err
		}
	}
	if e.Outbound != nil {
		o := *e.Outbound
		o.ChatID = chatID
		if o, err = insertOutbound(ctx, tx, o, e.At); err != nil {
			return err
		}
		e.Outbound = &o
	}
	return markDelivered(ctx, tx, e.InboundID, chatID, e.At)
}

// ChatEvents returns a chat's events with seq > after in seq order: only
// those the visitor sees when visibleOnly is set, at most limit of them
// (limit <= 0: all). A chat that does not exist has no events.
func (s *Store) ChatEvents(ctx context.Context, chatID int64, after int64, visibleOnly bool, limit int) ([]ChatEvent, error) {
	if limit <= 0 {
		limit = math.MaxInt64 // no limit
	}
	q := `SELECT seq, at, type, author_kind, author, author_name, text, data, visible FROM chat_events WHERE chat_id = ? AND seq > ?`
	if visibleOnly {
		q += ` AND visible = 1`
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY seq LIMIT ?`, chatID, after, limit)
	if err != nil {
		return nil, wrap("list chat events", err)
	}
	defer release(rows)
	es := []ChatEvent{}
	for rows.Next() {
		var e ChatEvent
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Type, &e.AuthorKind, &e.Author, &e.AuthorName, &e.Text, &e.Data, &e.Visible); err != nil {
			return nil, wrap("list chat events", err)
		}
		e.At = fromMillis(at)
		es = append(es, e)
	}
	return es, wrap("list chat events", rows.Err())
}
