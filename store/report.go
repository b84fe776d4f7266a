package store

import (
	"context"
	"database/sql"
	"time"
)

// The reads behind reports (package report, docs/REPORTS.md). Each takes
// the chats of one portal that started in [since, until) and hands its
// rows to a function one at a time, so that a year of history is read in
// one pass without being held in memory twice. They only read.

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
	// VisitorFirstAt is when the visitor's first chat ever started;
	// PreviousEndedAt when their chat before this one ended (zero: none,
	// or it never ended).
	VisitorFirstAt, PreviousEndedAt time.Time

	Ticket bool // the chat belongs to a ticket
	Stars  int  // the visitor's rating, 1 to 5; 0 for none
}

// ReportMessage is a message in a chat: the visitor's or an agent's
// (Agent set, Author their username key).
type ReportMessage struct {
	ChatID int64
	At     time.Time
	Agent  bool
	Author string
}

// ReportChatAgent is an agent's stay in a chat.
type ReportChatAgent struct {
	ChatID   int64
	Username string // as it was when the agent joined
	Name     string
	Role     string
	JoinedAt time.Time
}

// ReportOffer is an offer of a chat to an agent and its answer ("" while
// pending).
type ReportOffer struct {
	ChatID     int64
	Username   string // the agent's username key
	Kind       string // chat, transfer or invite
	Answer     string
	OfferedAt  time.Time
	AnsweredAt time.Time
}

// periodChats joins the portal's chats that started in the period (c)
// to what follows it: ?1 portal, ?2 since, ?3 until (Unix milliseconds).
// Ordered by c.created_at and c.id first, rows come in the index's order
// and nothing is sorted.
const periodChats = `FROM chats c JOIN portals p ON p.id = c.portal_id AND p.name = ?1 AND c.created_at >= ?2 AND c.created_at < ?3`

// The report queries: ?1 portal, ?2 since, ?3 until.
const (
	reportChatsQuery = `SELECT c.id, c.visitor_id, c.status, c.end_reason, c.department, coalesce(ch.name, ''),
			c.created_at, coalesce(c.accepted_at, 0), coalesce(c.first_reply_at, 0), coalesce(c.ended_at, 0),
			(SELECT min(f.created_at) FROM chats f WHERE f.visitor_id = c.visitor_id),
			coalesce((SELECT b.ended_at FROM chats b WHERE b.visitor_id = c.visitor_id AND b.created_at < c.created_at
				ORDER BY b.created_at DESC LIMIT 1), 0),
			EXISTS (SELECT 1 FROM ticket_chats t WHERE t.chat_id = c.id),
			coalesce(r.stars, 0)
		` + periodChats + `
		LEFT JOIN channels ch ON ch.id = c.channel_id LEFT JOIN chat_ratings r ON r.chat_id = c.id ORDER BY c.created_at, c.id`
	reportMessagesQuery = `SELECT e.chat_id, e.at, e.author_kind = 'agent', e.author
		` + periodChats + ` JOIN chat_events e ON e.chat_id = c.id
		WHERE (e.type = 'visitor_message' AND e.author_kind = 'visitor') OR (e.type = 'message' AND e.author_kind = 'agent')
		ORDER BY c.created_at, c.id, e.seq`
	reportChatAgentsQuery = `SELECT a.chat_id, a.agent_username, a.agent_name, a.role, a.joined_at
		` + periodChats + ` JOIN chat_agents a ON a.chat_id = c.id ORDER BY c.created_at, c.id`
	reportOffersQuery = `SELECT o.chat_id, o.agent_username, o.kind, o.answer, o.offered_at, coalesce(o.answered_at, 0)
		` + periodChats + ` JOIN chat_offers o ON o.chat_id = c.id ORDER BY c.created_at, c.id, o.id`
)

// ReportChats calls f for each chat of the period, in the order they
// started. An error from f stops the read and is returned.
func (s *Store) ReportChats(ctx context.Context, portal string, since, until time.Time, f func(ReportChat) error) error {
	return s.reportRows(ctx, "report chats", reportChatsQuery,
		portal, since, until, func(rows *sql.Rows) error {
			var c ReportChat
			var created, accepted, replied, ended, first, prev int64
			err := rows.Scan(&c.ID, &c.VisitorID, &c.Status, &c.EndReason, &c.Department, &c.Channel,
				&created, &accepted, &replied, &ended, &first, &prev, &c.Ticket, &c.Stars)
			if err != nil {
				return err
			}
			c.CreatedAt, c.AcceptedAt, c.FirstReplyAt = fromMillis(created), optMillis(accepted), optMillis(replied)
			c.EndedAt, c.VisitorFirstAt, c.PreviousEndedAt = optMillis(ended), fromMillis(first), optMillis(prev)
			return f(c)
		})
}

// ReportMessages calls f for each visitor and agent message of the
// period's chats, a chat's messages together and in order.
func (s *Store) ReportMessages(ctx context.Context, portal string, since, until time.Time, f func(ReportMessage) error) error {
	return s.reportRows(ctx, "report messages", reportMessagesQuery,
		portal, since, until, func(rows *sql.Rows) error {
			var m ReportMessage
			var at int64
			if err := rows.Scan(&m.ChatID, &at, &m.Agent, &m.Author); err != nil {
				return err
			}
			m.At = fromMillis(at)
			return f(m)
		})
}

// ReportChatAgents calls f for each stay of an agent in the period's
// chats, a chat's stays together (in no particular order).
func (s *Store) ReportChatAgents(ctx context.Context, portal string, since, until time.Time, f func(ReportChatAgent) error) error {
	return s.reportRows(ctx, "report chat agents", reportChatAgentsQuery,
		portal, since, until, func(rows *sql.Rows) error {
			var a ReportChatAgent
			var at int64
			if err := rows.Scan(&a.ChatID, &a.Username, &a.Name, &a.Role, &at); err != nil {
				return err
			}
			a.JoinedAt = fromMillis(at)
			return f(a)
		})
}

// ReportOffers calls f for each offer of the period's chats, a chat's
// offers in the order they were made.
func (s *Store) ReportOffers(ctx context.Context, portal string, since, until time.Time, f func(ReportOffer) error) error {
	return s.reportRows(ctx, "report offers", reportOffersQuery,
		portal, since, until, func(rows *sql.Rows) error {
			var o ReportOffer
			var offered, answered int64
			if err := rows.Scan(&o.ChatID, &o.Username, &o.Kind, &o.Answer, &offered, &answered); err != nil {
				return err
			}
			o.Username = UsernameKey(o.Username)
			o.OfferedAt, o.AnsweredAt = fromMillis(offered), optMillis(answered)
			return f(o)
		})
}

// WaitingNow counts the portal's chats waiting for an agent (waiting or
// offered) and the visitors they are from.
func (s *Store) WaitingNow(ctx context.Context, portal string) (chats, visitors int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT c.visitor_id) FROM chats c JOIN portals p ON p.id = c.portal_id
		WHERE p.name = ? AND c.status IN ('waiting', 'offered')`, portal).Scan(&chats, &visitors)
	return chats, visitors, wrap("count waiting chats", err)
}

// reportRows runs a report query on the read pool with the portal and
// the period as ?1, ?2, ?3, and hands each row to scan.
func (s *Store) reportRows(ctx context.Context, op, q, portal string, since, until time.Time, scan func(*sql.Rows) error) error {
	if _, err := portalID(ctx, s.r, portal); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, q, portal, millis(since), millis(until))
	if err != nil {
		return wrap(op, err)
	}
	defer release(rows)
	for rows.Next() {
		if err := scan(rows); err != nil {
			return wrap(op, err)
		}
	}
	return wrap(op, rows.Err())
}

// optMillis converts a stored time where 0 stands for none.
func optMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}
