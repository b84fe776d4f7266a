package store

import (
	"context"
	"database/sql"
	"errors"
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
		return tx.QueryRowContext(ctx, `INSERT INTO board_posts (portal_id, author, author_name, body, at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			pid, author, authorName, body, millis(p.At)).Scan(&p.ID)
	})
	if err != nil {
		return BoardPost{}, wrap("add board post", err)
	}
	return p, nil
}

// BoardPosts returns the newest posts of a portal, oldest first.
func (s *Store) BoardPosts(ctx context.Context, portal string, limit int) ([]BoardPost, error) {
	return s.boardPosts(ctx, portal, time.Time{}, "", limit)
}

// BoardPostsMissed returns the newest posts of a portal an agent has not
// seen (made since BoardSeen, by someone else), oldest first. An agent
// never seen gets the newest limit.
func (s *Store) BoardPostsMissed(ctx context.Context, portal, agent string, limit int) ([]BoardPost, error) {
	var seen sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT s.seen_at FROM board_seen s JOIN agents a ON a.id = s.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ?`, portal, UsernameKey(agent)).Scan(&seen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("list missed board posts", err)
	}
	since := time.Time{}
	if seen.Valid {
		since = fromMillis(seen.Int64)
	}
	return s.boardPosts(ctx, portal, since, UsernameKey(agent), limit)
}

// SetBoardSeen records that the agent saw the board as it was at at (when
// the agent's last session went offline).
func (s *Store) SetBoardSeen(ctx context.Context, portal, agent string, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO board_seen (agent_id, seen_at) VALUES (?, ?)
			ON CONFLICT (agent_id) DO UPDATE SET seen_at = excluded.seen_at`, aid, millis(at))
		return err
	})
	return wrap("set board seen", err)
}

func (s *Store) boardPosts(ctx context.Context, portal string, since time.Time, notBy string, limit int) ([]BoardPost, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT * FROM (
		SELECT b.id, p.name, b.author, b.author_name, b.body, b.at FROM board_posts b JOIN portals p ON p.id = b.portal_id
		WHERE p.name = ? AND b.at > ? AND lower(b.author) <> ? ORDER BY b.id DESC LIMIT ?) recent ORDER BY id`, portal, millis(since), notBy, limit)
	if err != nil {
		return nil, wrap("list board posts", err)
	}
	defer release(rows)
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
