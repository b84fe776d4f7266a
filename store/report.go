package store

import (
	"context"
	"database/sql"
	"time"
)

// The read behind reports (package report, docs/REPORTS.md): the chats
// of one portal that started in [since, until), each with its messages,
// agents and offers, handed to a function one at a time, so that a year
// of history is read in one pass without being held in memory twice.
// Each chat is one row: its messages, agents and offers come packed in a
// text column each (report_pack.go), because a row crossing from SQLite
// into Go costs far more than SQLite's own work, and a chat has a score
// of messages.

// ReportChat is a chat as reports see it. Times not reached are zero.
type ReportChat struct {
	ID        int64
	VisitorID int64
	Status    ChatStatus
	EndReason string
	// Department is the department's name when the chat started, ""
	// for none; Channel the channel's name, "" for a web chat.
	Department, Channel string

	CreatedAt, AcceptedAt, FirstReplyAt, EndedAt time.Time
	// Previous is whether the visitor had a chat before this one.
	Previous bool
	// Reopened is how many times the chat was reopened after it ended
	// (#reopen, docs/CHATS.md §11.2).
	Reopened int

	Ticket bool // the chat belongs to a ticket
	Stars  int  // the visitor's rating, 1 to 5; 0 for none

	Messages []ReportMessage   // the visitor's and agents' messages, in order
	Agents   []ReportChatAgent // in the order they joined
	Offers   []ReportOffer     // in the order they were made
}

// ReportMessage is a message in a chat: the visitor's, or an agent's
// (Agent set, Author their username key).
type ReportMessage struct {
	At     time.Time
	Agent  bool
	Author string
}

// ReportChatAgent is an agent's stay in a chat.
type ReportChatAgent struct {
	Username string // as it was when the agent joined
	Role     string
	JoinedAt time.Time
}

// ReportOffer is an offer of a chat to an agent and its answer ("" while
// pending).
type ReportOffer struct {
	Username   string // the agent's username key
	Kind       string // chat, transfer or invite
	Answer     string
	OfferedAt  time.Time
	AnsweredAt time.Time
}

// reportChatsQuery reads the portal's chats that started in the period
// (?1 portal, ?2 since, ?3 until, in Unix milliseconds) in the order they
// started. The last three columns are packed lists, items separated by
// ",", fields by " ", times in milliseconds after the chat's start:
// messages "AT AUTHOR" (AUTHOR empty: the visitor's; message is only
// ever an agent's, visitor_message the visitor's); agents "AT ROLE
// USERNAME"; offers "AT ANSWERED_AT|n KIND ANSWER|- USERNAME".
const reportChatsQuery = `SELECT c.id, c.visitor_id, c.status, c.end_reason, c.department, coalesce(ch.name, ''),
		c.created_at, coalesce(c.accepted_at, 0), coalesce(c.first_reply_at, 0), coalesce(c.ended_at, 0),
		EXISTS (SELECT 1 FROM chats b WHERE b.visitor_id = c.visitor_id AND b.created_at < c.created_at),
		EXISTS (SELECT 1 FROM ticket_chats t WHERE t.chat_id = c.id),
		coalesce(r.stars, 0),
		coalesce(d.messages, (` + packedMessages + `), ''),
		coalesce(d.agents, (` + packedAgents + `), ''),
		coalesce(d.offers, (` + packedOffers + `), ''),
		coalesce(d.reopened, (` + reopenedCount + `))
	FROM chats c JOIN portals p ON p.id = c.portal_id AND p.name = ?1 AND c.created_at >= ?2 AND c.created_at < ?3
	LEFT JOIN channels ch ON ch.id = c.channel_id LEFT JOIN chat_ratings r ON r.chat_id = c.id
	LEFT JOIN chat_digests d ON d.chat_id = c.id
	ORDER BY c.created_at, c.id`

// The packed lists of chat c's messages, agents and offers, and how
// often it was reopened: what chat_digests keeps of a chat that is over,
// so that reports need not read them again (migration 0015 fills it with
// the same expressions).
const (
	packedMessages = `SELECT group_concat((e.at - c.created_at) || ' ' || e.author, ',' ORDER BY e.seq)
		FROM chat_events e WHERE e.chat_id = c.id AND e.type IN ('visitor_message', 'message')`
	packedAgents = `SELECT group_concat((a.joined_at - c.created_at) || ' ' || a.role || ' ' || a.agent_username, ',' ORDER BY a.joined_at)
		FROM chat_agents a WHERE a.chat_id = c.id`
	packedOffers = `SELECT group_concat((o.offered_at - c.created_at) || ' ' || coalesce(CAST(o.answered_at - c.created_at AS TEXT), 'n') || ' ' ||
			o.kind || ' ' || coalesce(nullif(o.answer, ''), '-') || ' ' || o.agent_username, ',' ORDER BY o.id)
		FROM chat_offers o WHERE o.chat_id = c.id`
	reopenedCount = `SELECT count(*) FROM chat_events e WHERE e.chat_id = c.id AND e.type = 'reopened'`
)

// writeDigest keeps the packed lists of a chat that is over. Offers
// withdrawn as it ends are answered after: they stay pending in it, which
// reports do not count either way.
func writeDigest(ctx context.Context, tx *sql.Tx, chatID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO chat_digests (chat_id, messages, agents, offers, reopened)
		SELECT c.id, coalesce((`+packedMessages+`), ''), coalesce((`+packedAgents+`), ''), coalesce((`+packedOffers+`), ''),
			(`+reopenedCount+`)
		FROM chats c WHERE c.id = ?
		ON CONFLICT (chat_id) DO UPDATE SET messages = excluded.messages, agents = excluded.agents,
			offers = excluded.offers, reopened = excluded.reopened`, chatID)
	return err
}

// ReportChats calls f for each chat of the period, in the order they
// started. An error from f stops the read and is returned. An unknown
// portal is ErrNotFound.
func (s *Store) ReportChats(ctx context.Context, portal string, since, until time.Time, f func(ReportChat) error) error {
	if _, err := portalID(ctx, s.r, portal); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, reportChatsQuery, portal, millis(since), millis(until))
	if err != nil {
		return wrap("report chats", err)
	}
	defer release(rows)
	for rows.Next() {
		c, err := scanReportChat(rows)
		if err != nil {
			return wrap("report chats", err)
		}
		if err := f(c); err != nil {
			return err
		}
	}
	return wrap("report chats", rows.Err())
}

// scanReportChat reads a row of reportChatsQuery.
func scanReportChat(rows *sql.Rows) (ReportChat, error) {
	var c ReportChat
	var created, accepted, replied, ended int64
	var msgs, agents, offers []byte
	err := rows.Scan(&c.ID, &c.VisitorID, &c.Status, &c.EndReason, &c.Department, &c.Channel,
		&created, &accepted, &replied, &ended, &c.Previous, &c.Ticket, &c.Stars, &msgs, &agents, &offers, &c.Reopened)
	if err != nil {
		return c, err
	}
	c.CreatedAt, c.AcceptedAt, c.FirstReplyAt = fromMillis(created), optMillis(accepted), optMillis(replied)
	c.EndedAt = optMillis(ended)
	if c.Messages, err = unpackMessages(string(msgs), created); err != nil {
		return c, err
	}
	if c.Agents, err = unpackAgents(string(agents), created); err != nil {
		return c, err
	}
	c.Offers, err = unpackOffers(string(offers), created)
	return c, err
}

// WaitingNow counts the portal's chats waiting for an agent (waiting or
// offered) and the visitors they are from.
func (s *Store) WaitingNow(ctx context.Context, portal string) (chats, visitors int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT c.visitor_id) FROM chats c JOIN portals p ON p.id = c.portal_id
		WHERE p.name = ? AND c.status IN ('waiting', 'offered')`, portal).Scan(&chats, &visitors)
	return chats, visitors, wrap("count waiting chats", err)
}

// optMillis converts a stored time where 0 stands for none.
func optMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}
