package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChatSearchMax is the most chats one search returns.
const ChatSearchMax = 200

// ChatSearch is what SearchChats looks for in one portal's chats.
type ChatSearch struct {
	Portal string
	// Term is a chat number ("1042" or "#1042"), a visitor's email
	// (exactly, ignoring case), or words that must each appear, ignoring
	// the case of ASCII letters, in the visitor's name or email, the
	// question or a message of the transcript. "" finds every chat.
	Term string
	// From and To bound when the chats started: From ≤ created < To;
	// a zero time leaves that side open.
	From, To time.Time
	// Limit is the most chats returned (<= 0: 50; at most ChatSearchMax).
	Limit int
}

// wordMatch is the condition one search word (?N) puts on a chat: in the
// visitor's name or email, the question, or one of the chat's messages
// (read through the events' primary key, chat by chat).
const wordMatch = ` AND (instr(lower(v.name), ?N) > 0 OR instr(lower(v.email), ?N) > 0 OR instr(lower(c.question), ?N) > 0
	OR EXISTS (SELECT 1 FROM chat_events e WHERE e.chat_id = c.id AND e.type IN ('message', 'visitor_message')
		AND instr(lower(e.text), ?N) > 0))`

// SearchChats finds a portal's chats, newest first: by number, by the
// visitor's email, or by words of the transcript (ChatSearch.Term).
// Results are bounded by Limit, and the chats read by the dates: the
// index (portal_id, created_at) walks the range newest first and stops
// once Limit chats matched.
func (s *Store) SearchChats(ctx context.Context, q ChatSearch) ([]Chat, error) {
	const op = "search chats"
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, ChatSearchMax)
	pid, err := portalID(ctx, s.r, q.Portal)
	if err != nil {
		return nil, wrap(op, err)
	}
	term := strings.TrimSpace(q.Term)
	if digits := strings.TrimPrefix(term, "#"); digits != "" && strings.Trim(digits, "0123456789") == "" {
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil { // too many digits to be a chat number
			return []Chat{}, nil
		}
		return s.queryChats(ctx, op, `SELECT `+chatColumns+chatFrom+` WHERE c.portal_id = ? AND c.number = ?`, pid, n)
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = millis(q.From)
	}
	if !q.To.IsZero() {
		to = millis(q.To)
	}
	where := ` WHERE c.portal_id = ?1 AND c.created_at >= ?2 AND c.created_at < ?3`
	args := []any{pid, from, to}
	if strings.Contains(term, "@") && !strings.ContainsAny(term, " \t") {
		where += ` AND v.email_key = ?4`
		args = append(args, strings.ToLower(term))
	} else {
		words, err := searchWords(term)
		if err != nil {
			return nil, err
		}
		for _, w := range words {
			args = append(args, w)
			where += strings.ReplaceAll(wordMatch, "?N", "?"+strconv.Itoa(len(args)))
		}
	}
	args = append(args, q.Limit)
	return s.queryChats(ctx, op, `SELECT `+chatColumns+chatFrom+where+
		` ORDER BY c.created_at DESC, c.id DESC LIMIT ?`+strconv.Itoa(len(args)), args...)
}

// searchWords splits a search into its distinct lowercase words, at most
// SearchWordsMax of them.
func searchWords(term string) ([]string, error) {
	var words []string
	for _, w := range strings.Fields(strings.ToLower(term)) {
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) > SearchWordsMax {
		return nil, invalid("the search has %d words; use at most %d", len(words), SearchWordsMax)
	}
	return words, nil
}

// LastMessageAt is when the newest message of a chat (the visitor's or
// an agent's) was written; ok is false while it has none.
func (s *Store) LastMessageAt(ctx context.Context, chatID int64) (at time.Time, ok bool, err error) {
	var ms int64
	err = s.r.QueryRowContext(ctx, `SELECT at FROM chat_events WHERE chat_id = ? AND type IN ('message', 'visitor_message')
		ORDER BY seq DESC LIMIT 1`, chatID).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap("last message time", err)
	}
	return fromMillis(ms), true, nil
}
