package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// NoteMax is the longest visitor note, in characters.
const NoteMax = 2000

// Note is something an agent wrote down about a visitor (#an, docs/COMMANDS.md).
// It belongs to the visitor, so a returning visitor's notes show in each
// of their chats.
type Note struct {
	ID         int64     `json:"id"`
	Portal     string    `json:"portal"`
	VisitorID  int64     `json:"visitor_id"`
	ChatNumber int64     `json:"chat_number"` // the chat it was written in; 0 if that chat is gone
	Author     string    `json:"author"`      // the agent's username
	AuthorName string    `json:"author_name"` // the agent's display name when writing it
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
}

// AddVisitorNote adds a note to the visitor of a chat. The text is
// required and at most NoteMax characters; an unknown chat is ErrNotFound.
func (s *Store) AddVisitorNote(ctx context.Context, chatID int64, author, authorName, text string) (Note, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return Note{}, invalid("the note text is required")
	case utf8.RuneCountInString(text) > NoteMax:
		return Note{}, invalid("the note is too long (at most %d characters)", NoteMax)
	}
	n := Note{Author: author, AuthorName: authorName, Text: text, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var pid int64
		err := tx.QueryRowContext(ctx, `SELECT c.portal_id, p.name, c.visitor_id, c.number
			FROM chats c JOIN portals p ON p.id = c.portal_id WHERE c.id = ?`, chatID).
			Scan(&pid, &n.Portal, &n.VisitorID, &n.ChatNumber)
		if errors.Is(err, sql.ErrNoRows) {
			return chatNotFound(chatID)
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO visitor_notes (portal_id, visitor_id, chat_id, author, author_name, text, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, n.VisitorID, chatID, author, authorName, text, millis(n.CreatedAt)).Scan(&n.ID)
	})
	if err != nil {
		return Note{}, wrap("add visitor note", err)
	}
	return n, nil
}

// visitorNotesQuery is VisitorNotes' query; it reads the visitor's notes
// in the index (visitor_id, id).
const visitorNotesQuery = `SELECT n.id, p.name, n.visitor_id, COALESCE(c.number, 0), n.author, n.author_name, n.text, n.created_at
	FROM visitor_notes n JOIN portals p ON p.id = n.portal_id LEFT JOIN chats c ON c.id = n.chat_id
	WHERE n.visitor_id = ? ORDER BY n.id`

// VisitorNotes lists a visitor's notes from all their chats, oldest
// first. A visitor who does not exist has no notes.
func (s *Store) VisitorNotes(ctx context.Context, visitorID int64) ([]Note, error) {
	rows, err := s.r.QueryContext(ctx, visitorNotesQuery, visitorID)
	if err != nil {
		return nil, wrap("list visitor notes", err)
	}
	defer release(rows)
	ns := []Note{}
	for rows.Next() {
		var n Note
		var created int64
		if err := rows.Scan(&n.ID, &n.Portal, &n.VisitorID, &n.ChatNumber, &n.Author, &n.AuthorName, &n.Text, &created); err != nil {
			return nil, wrap("list visitor notes", err)
		}
		n.CreatedAt = fromMillis(created)
		ns = append(ns, n)
	}
	return ns, wrap("list visitor notes", rows.Err())
}
