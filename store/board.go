package store

import (
	"context"
	"database/sql"
	"time"
)

// BoardPost is a message an agent posted to the portal's message board.
type BoardPost struct {
	ID         int64     `json:"id"`
	Portal     string    `json:"portal"`
	Author     string    `json:"author"`
	AuthorName string    `json:"author_name"`
	Body       string    `json:"body"`
	At         time.Time `json:"at"`
}

// AddBoardPost stores a board post.
func (s *Store) AddBoardPost(ctx context.Context, portal, author, authorName, body string) (BoardPost, error) {
	p := BoardPost{Portal: portal, Author: author, AuthorName: authorName, Body: body, At: s.now().UTC().Truncate(time.Millisecond)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO board_posts (portal_id, author, author_name, body, at) VALUES (?, ?, ?, ?, ?)`,
			pid, author, authorName, body, millis(p.At))
		if err != nil {
			return err
		}
		p.ID, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return BoardPost{}, wrap("add board post", err)
	}
	return p, nil
}

// BoardPosts returns the newest posts of a portal, oldest first.
func (s *Store) BoardPosts(ctx context.Context, portal string, limit int) ([]BoardPost, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT * FROM (
		SELECT b.id, p.name, b.author, b.author_name, b.body, b.at FROM board_posts b JOIN portals p ON p.id = b.portal_id
		WHERE p.name = ? ORDER BY b.id DESC LIMIT ?) ORDER BY id`, portal, limit)
	if err != nil {
		return nil, wrap("list board posts", err)
	}
	defer rows.Close()
	var ps []BoardPost
	for rows.Next() {
		var p BoardPost
		var at int64
		if err := rows.Scan(&p.ID, &p.Portal, &p.Author, &p.AuthorName, &p.Body, &at); err != nil {
			return nil, wrap("list board posts", err)
		}
		p.At = fromMillis(at)
		ps = append(ps, p)
	}
	return ps, wrap("list board posts", rows.Err())
}
