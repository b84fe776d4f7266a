package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// RatingSource says where a rating came from.
type RatingSource string

// The sources of ratings.
const (
	RatingWidget  RatingSource = "widget"  // a web visitor, through the visitor API
	RatingChannel RatingSource = "channel" // a channel customer's answer to the question
)

// RatingCommentMax bounds a rating's comment, in characters.
const RatingCommentMax = 500

// Rating is a visitor's rating of a chat that ended: 1 to 5 stars and an
// optional comment.
type Rating struct {
	ChatID  int64        `json:"chat_id"`
	Stars   int          `json:"stars"`
	Comment string       `json:"comment"`
	At      time.Time    `json:"at"`
	Source  RatingSource `json:"source"`
}

// check says what is wrong with a rating to store.
func (r Rating) check() error {
	switch {
	case r.Stars < 1 || r.Stars > 5:
		return invalid("stars must be a whole number from 1 to 5")
	case utf8.RuneCountInString(r.Comment) > RatingCommentMax:
		return invalid("the comment is too long (at most %d characters)", RatingCommentMax)
	case r.Source != RatingWidget && r.Source != RatingChannel:
		return invalid("rating source %q is not one of widget, channel", r.Source)
	}
	return nil
}

// RateChat stores the rating of a chat that ended, together with e, the
// chat event that records it in the transcript (appended as
// AppendChatEvent does, in the same transaction: its outbound message is
// queued and its inbound message marked delivered with it). A chat that
// has not ended (or was missed) is ErrInvalid, one rated already
// ErrExists; nothing is stored then. At is e's time.
func (s *Store) RateChat(ctx context.Context, r Rating, e ChatEvent) (Rating, ChatEvent, error) {
	r.Comment = strings.TrimSpace(r.Comment)
	if err := r.check(); err != nil {
		return Rating{}, ChatEvent{}, err
	}
	if err := e.check(); err != nil {
		return Rating{}, ChatEvent{}, err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	r.At = e.At
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var st ChatStatus
		err := tx.QueryRowContext(ctx, `SELECT status FROM chats WHERE id = ?`, r.ChatID).Scan(&st)
		if errors.Is(err, sql.ErrNoRows) {
			return chatNotFound(r.ChatID)
		}
		if err != nil {
			return err
		}
		if st != ChatEnded {
			return invalid("chat %d is %s: only a chat that ended can be rated", r.ChatID, st)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO chat_ratings (chat_id, stars, comment, at, source) VALUES (?, ?, ?, ?, ?)`,
			r.ChatID, r.Stars, r.Comment, millis(r.At), r.Source)
		if isUnique(err) {
			return exists("chat %d was rated already", r.ChatID)
		}
		if err != nil {
			return err
		}
		return appendChatEvent(ctx, tx, r.ChatID, &e)
	})
	if err != nil {
		return Rating{}, ChatEvent{}, wrap("rate chat", err)
	}
	return r, e, nil
}

// ChatRating returns a chat's rating; ok is false when it has none.
func (s *Store) ChatRating(ctx context.Context, chatID int64) (r Rating, ok bool, err error) {
	var at int64
	err = s.r.QueryRowContext(ctx, `SELECT chat_id, stars, comment, at, source FROM chat_ratings WHERE chat_id = ?`, chatID).
		Scan(&r.ChatID, &r.Stars, &r.Comment, &at, &r.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return Rating{}, false, nil
	}
	if err != nil {
		return Rating{}, false, wrap("read chat rating", err)
	}
	r.At = fromMillis(at)
	return r, true, nil
}
