package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ChatStatus is where a visitor chat is in its lifecycle (docs/CHATS.md §1):
// waiting → (offered) → active → ended, or waiting → missed.
type ChatStatus string

// The chat statuses.
const (
	ChatWaiting ChatStatus = "waiting"
	ChatOffered ChatStatus = "offered"
	ChatActive  ChatStatus = "active"
	ChatEnded   ChatStatus = "ended"
	ChatMissed  ChatStatus = "missed"
)

// Live reports whether a chat in this status is still going on (waiting,
// offered or active).
func (s ChatStatus) Live() bool {
	return s == ChatWaiting || s == ChatOffered || s == ChatActive
}

// check says whether s is one of the statuses.
func (s ChatStatus) check() error {
	if s.Live() || s == ChatEnded || s == ChatMissed {
		return nil
	}
	return invalid("chat status %q is not one of waiting, offered, active, ended, missed", s)
}

// ParseChatStatus checks a chat status name, ignoring case.
func ParseChatStatus(s string) (ChatStatus, error) {
	st := ChatStatus(strings.ToLower(s))
	if err := st.check(); err != nil {
		return "", invalid("chat status %q is not one of waiting, offered, active, ended, missed", s)
	}
	return st, nil
}

// Why a chat ended (Chat.EndReason), as stored and as the bridge tells
// the visitor (docs/CHATS.md §7).
const (
	EndVisitor     = "visitor"      // the visitor ended it
	EndVisitorLeft = "visitor_left" // gone longer than the grace period
	EndMissed      = "missed"       // nobody accepted it in time, or nobody was online
	EndAgent       = "agent"        // an agent ended it (#e)
	EndIdle        = "idle"         // the end timer of #e 30 ran out
	// EndBlocked: an agent blocked the visitor's address or the channel
	// customer (#b), or a blocked customer wrote again (their message is
	// kept in a chat that ends at once).
	EndBlocked = "blocked"
)

// Roles of an agent in a chat (ChatAgent.Role).
const (
	ChatRoleOwner   = "owner"   // accepted the chat or had it transferred to them
	ChatRoleInvited = "invited" // joined on an invitation
	ChatRoleMonitor = "monitor" // watches without the visitor being told
)

// NewChat is what CreateChat needs. The caller makes up PublicID (random,
// unguessable) and the visitor's bearer token, of which only the SHA-256
// is given here.
type NewChat struct {
	Portal    string
	PublicID  string
	TokenHash []byte // sha256 of the bearer token

	Name       string // required, at most VisitorNameMax characters
	Email      string // optional; identifies a returning visitor
	Phone      string
	Department string // "" for none; else the name of one of the portal's departments, any case
	Question   string // required, at most QuestionMax characters

	IP, UserAgent, Browser, OS, Country, PageURL, Language string

	// A channel customer's chat: the channel, the customer (whose visitor
	// record stands for them; Name, Email and Phone are not used) and the
	// inbound message that starts it, marked delivered in the same
	// transaction (ErrDelivered if it already was).
	ChannelID, CustomerID, InboundID int64
	// Event, if set, is stored with the chat as its first event: the
	// files that came with a customer's first message. Its InboundID and
	// Outbound must be unset (the chat marks InboundID delivered).
	Event *ChatEvent
}

// Chat is a visitor chat. VisitorName, VisitorEmail and VisitorPhone are
// the visitor's current details; Department is the department's name when
// the chat started ("" for none).
type Chat struct {
	ID        int64      `json:"id"`
	PublicID  string     `json:"public_id"`
	Portal    string     `json:"portal"`
	Number    int64      `json:"number"`
	VisitorID int64      `json:"visitor_id"`
	TokenHash []byte     `json:"-"` // sha256 of the visitor's bearer token
	Status    ChatStatus `json:"status"`

	VisitorName  string `json:"visitor_name"`
	VisitorEmail string `json:"visitor_email"`
	VisitorPhone string `json:"visitor_phone"`
	Department   string `json:"department"`
	Question     string `json:"question"`

	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Browser   string `json:"browser"`
	OS        string `json:"os"`
	Country   string `json:"country"`
	PageURL   string `json:"page_url"`
	Language  string `json:"language"`

	// Channel chats: the channel's name and type, and the customer (their
	// provider id names them to the provider). Empty for web visitors.
	Channel            string      `json:"channel,omitempty"`
	ChannelType        ChannelType `json:"channel_type,omitempty"`
	ChannelID          int64       `json:"-"`
	CustomerID         int64       `json:"-"`
	CustomerProviderID string      `json:"customer_id,omitempty"`

	CreatedAt     time.Time  `json:"created_at"`
	OfferedAt     *time.Time `json:"offered_at,omitempty"`
	AcceptedAt    *time.Time `json:"accepted_at,omitempty"`
	FirstReplyAt  *time.Time `json:"first_reply_at,omitempty"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	LastVisitorAt *time.Time `json:"last_visitor_at,omitempty"`
	EndReason     string     `json:"end_reason"`
	LastSeq       int64      `json:"last_seq"`
	// LastMessageFrom is who wrote the last message: AuthorVisitor (the
	// visitor or channel customer), AuthorAgent, or "" before anyone did.
	LastMessageFrom string `json:"last_message_from,omitempty"`

	// Agents are everyone who is or was in the chat, in the order they
	// joined; an agent who left and came back appears twice.
	Agents []ChatAgent `json:"agents"`
}

// ChatAgent is an agent's stay in a chat. Username and Name are as they
// were when the agent joined.
type ChatAgent struct {
	Username string     `json:"username"`
	Name     string     `json:"name"`
	Role     string     `json:"role"` // ChatRoleOwner, ChatRoleInvited or ChatRoleMonitor
	JoinedAt time.Time  `json:"joined_at"`
	LeftAt   *time.Time `json:"left_at,omitempty"` // nil while in the chat
}

// CreateChat starts a visitor chat in one transaction: it checks the
// request, finds the returning visitor by email or creates a new one,
// takes the portal's next visitor number and stores the chat as waiting.
// An unknown portal or department is ErrNotFound, a missing or too long
// name or question or a bad email ErrInvalid.
func (s *Store) CreateChat(ctx context.Context, n NewChat) (Chat, error) {
	if n.PublicID == "" {
		return Chat{}, errors.New("store: create chat: empty public id")
	}
	if len(n.TokenHash) != sha256.Size {
		return Chat{}, errors.New("store: create chat: token hash is not a SHA-256")
	}
	n.Name = strings.TrimSpace(n.Name)
	n.Question = strings.TrimSpace(n.Question)
	n.Phone = strings.TrimSpace(n.Phone)
	n.Department = strings.TrimSpace(n.Department)
	switch {
	case n.Name == "":
		return Chat{}, invalid("name is required")
	case utf8.RuneCountInString(n.Name) > VisitorNameMax:
		return Chat{}, invalid("name is too long (at most %d characters)", VisitorNameMax)
	case n.Question == "":
		return Chat{}, invalid("question is required")
	case utf8.RuneCountInString(n.Question) > QuestionMax:
		return Chat{}, invalid("question is too long (at most %d characters)", QuestionMax)
	}
	if n.Event != nil {
		if err := n.Event.check(); err != nil || n.Event.InboundID != 0 || n.Event.Outbound != nil {
			return Chat{}, errors.Join(errors.New("store: create chat: the first event must be a plain chat event"), err)
		}
	}
	if n.Email = strings.TrimSpace(n.Email); n.Email != "" {
		var err error
		if n.Email, err = ValidateEmail(n.Email); err != nil {
			return Chat{}, err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	c := Chat{
		PublicID: n.PublicID, Portal: n.Portal, TokenHash: n.TokenHash, Status: ChatWaiting,
		VisitorName: n.Name, VisitorEmail: n.Email, VisitorPhone: n.Phone, Question: n.Question,
		IP: n.IP, UserAgent: n.UserAgent, Browser: n.Browser, OS: n.OS, Country: n.Country, PageURL: n.PageURL, Language: n.Language,
		CreatedAt: now, LastVisitorAt: &now, Agents: []ChatAgent{},
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, n.Portal)
		if err != nil {
			return err
		}
		var deptID any // NULL: no department
		if n.Department != "" {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id, name FROM departments WHERE portal_id = ? AND name_key = ?`,
				pid, deptKey(n.Department)).Scan(&id, &c.Department)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("department %q does not exist in portal %q", n.Department, n.Portal)
			}
			if err != nil {
				return err
			}
			deptID = id
		}
		var channelID, customerID any // NULL: a web visitor
		if n.CustomerID != 0 {
			if err := customerVisitor(ctx, tx, n, &c); err != nil {
				return err
			}
			channelID, customerID = n.ChannelID, n.CustomerID
		} else if c.VisitorID, c.VisitorPhone, err = upsertVisitor(ctx, tx, pid, n.Name, n.Email, n.Phone, now); err != nil {
			return err
		}
		// The portal's first chat gets #1001 and leaves 1002 as the next.
		if err := tx.QueryRowContext(ctx, `INSERT INTO portal_counters (portal_id, next_visitor_number) VALUES (?, 1002)
			ON CONFLICT (portal_id) DO UPDATE SET next_visitor_number = portal_counters.next_visitor_number + 1
			RETURNING next_visitor_number - 1`, pid).Scan(&c.Number); err != nil {
			return err
		}
		ms := millis(now)
		err = tx.QueryRowContext(ctx, `INSERT INTO chats
			(public_id, portal_id, number, visitor_id, department_id, department, question, status, token_hash,
			 ip, user_agent, browser, os, country, page_url, language, created_at, last_visitor_at, channel_id, customer_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.PublicID, pid, c.Number, c.VisitorID, deptID, c.Department, c.Question, c.Status, c.TokenHash,
			c.IP, c.UserAgent, c.Browser, c.OS, c.Country, c.PageURL, c.Language, ms, ms, channelID, customerID).Scan(&c.ID)
		if isUnique(err) && strings.Contains(err.Error(), "public_id") {
			return fmt.Errorf("public id %q is already used", c.PublicID)
		}
		if err != nil {
			return err
		}
		if n.Event != nil {
			e := *n.Event
			e.At = now
			if err := appendChatEvent(ctx, tx, c.ID, &e); err != nil {
				return err
			}
			c.LastSeq = e.Seq
		}
		return markDelivered(ctx, tx, n.InboundID, c.ID, now)
	})
	if err != nil {
		return Chat{}, wrap("create chat", err)
	}
	return c, nil
}

// chatColumns are the columns scanChat reads; chatFrom is the FROM clause
// that goes with them (aliases c, p, v). The last column is the chat's
// agents as a JSON array, so that one statement reads a whole chat.
const (
	chatColumns = `c.id, c.public_id, p.name, c.number, c.visitor_id, c.token_hash, c.status,
	v.name, v.email, v.phone, c.department, c.question,
	c.ip, c.user_agent, c.browser, c.os, c.country, c.page_url, c.language,
	coalesce(ch.name, ''), coalesce(ch.type, ''), coalesce(c.channel_id, 0), coalesce(c.customer_id, 0), coalesce(cu.provider_id, ''),
	c.created_at, c.offered_at, c.accepted_at, c.first_reply_at, c.ended_at, c.last_visitor_at, c.end_reason, c.last_seq, c.last_message_from,
	(SELECT json_group_array(json_object('u', ca.agent_username, 'n', ca.agent_name, 'r', ca.role, 'j', ca.joined_at, 'l', ca.left_at)
		ORDER BY ca.joined_at, ca.agent_username) FROM chat_agents ca WHERE ca.chat_id = c.id)`
	chatFrom = ` FROM chats c JOIN portals p ON p.id = c.portal_id JOIN visitors v ON v.id = c.visitor_id
	LEFT JOIN channels ch ON ch.id = c.channel_id LEFT JOIN channel_customers cu ON cu.id = c.customer_id`
)

func scanChat(row scanner) (Chat, error) {
	var c Chat
	var created int64
	var offered, accepted, firstReply, ended, lastVisitor sql.NullInt64
	var agents []byte
	err := row.Scan(&c.ID, &c.PublicID, &c.Portal, &c.Number, &c.VisitorID, &c.TokenHash, &c.Status,
		&c.VisitorName, &c.VisitorEmail, &c.VisitorPhone, &c.Department, &c.Question,
		&c.IP, &c.UserAgent, &c.Browser, &c.OS, &c.Country, &c.PageURL, &c.Language,
		&c.Channel, &c.ChannelType, &c.ChannelID, &c.CustomerID, &c.CustomerProviderID,
		&created, &offered, &accepted, &firstReply, &ended, &lastVisitor, &c.EndReason, &c.LastSeq, &c.LastMessageFrom, &agents)
	if err != nil {
		return Chat{}, err
	}
	c.CreatedAt = fromMillis(created)
	c.OfferedAt, c.AcceptedAt, c.FirstReplyAt = optTime(offered), optTime(accepted), optTime(firstReply)
	c.EndedAt, c.LastVisitorAt = optTime(ended), optTime(lastVisitor)
	c.Agents, err = decodeChatAgents(agents)
	return c, err
}

// decodeChatAgents reads the JSON array built by chatColumns.
func decodeChatAgents(b []byte) ([]ChatAgent, error) {
	var rows []struct {
		U, N, R string // username, name, role
		J       int64  // joined_at
		L       *int64 // left_at
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("chat agents: %w", err)
	}
	out := make([]ChatAgent, len(rows))
	for i, r := range rows {
		out[i] = ChatAgent{Username: r.U, Name: r.N, Role: r.R, JoinedAt: fromMillis(r.J)}
		if r.L != nil {
			t := fromMillis(*r.L)
			out[i].LeftAt = &t
		}
	}
	return out, nil
}

// optTime converts a nullable stored time.
func optTime(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

func chatNotFound(id int64) error { return notFound("chat %d does not exist", id) }

// Chat looks a chat up by its id.
func (s *Store) Chat(ctx context.Context, id int64) (Chat, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, chatNotFound(id)
	}
	return c, wrap("get chat", err)
}

// ChatByPublicID looks a chat up by the id the visitor knows it by.
func (s *Store) ChatByPublicID(ctx context.Context, publicID string) (Chat, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+` WHERE c.public_id = ?`, publicID))
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, notFound("chat %q does not exist", publicID)
	}
	return c, wrap("get chat", err)
}

// ChatByNumber looks a chat up by its portal and visitor number.
func (s *Store) ChatByNumber(ctx context.Context, portal string, number int64) (Chat, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+` WHERE p.name = ? AND c.number = ?`, portal, number))
	if errors.Is(err, sql.ErrNoRows) {
		if _, perr := portalID(ctx, s.r, portal); perr != nil {
			return Chat{}, perr
		}
		return Chat{}, notFound("chat #%d does not exist in portal %q (see: jabberdesk chat list %s)", number, portal, portal)
	}
	return c, wrap("get chat", err)
}

// Chats lists a portal's chats, newest first: those in the given status,
// or all of them for status "". limit <= 0 means 100.
func (s *Store) Chats(ctx context.Context, portal string, status ChatStatus, limit int) ([]Chat, error) {
	if limit <= 0 {
		limit = 100
	}
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list chats", err)
	}
	if status == "" {
		// Numbers grow with creation, and (portal_id, number) is indexed.
		return s.queryChats(ctx, "list chats",
			`SELECT `+chatColumns+chatFrom+` WHERE c.portal_id = ? ORDER BY c.number DESC LIMIT ?`, pid, limit)
	}
	if err := status.check(); err != nil {
		return nil, err
	}
	// The index (portal_id, status) keeps each status's chats in id order.
	return s.queryChats(ctx, "list chats",
		`SELECT `+chatColumns+chatFrom+` WHERE c.portal_id = ? AND c.status = ? ORDER BY c.id DESC LIMIT ?`, pid, status, limit)
}

// LiveChats returns every chat of every portal that is waiting, offered or
// active, oldest first: what a restarted server picks up again.
func (s *Store) LiveChats(ctx context.Context) ([]Chat, error) {
	// The condition is the one of the partial index chats_live.
	return s.queryChats(ctx, "list live chats",
		`SELECT `+chatColumns+chatFrom+` WHERE c.status IN ('waiting', 'offered', 'active') ORDER BY c.id`)
}

// PortalLiveChats returns the live chats of one portal, by its id, oldest
// first: what a node that takes the portal over picks up.
func (s *Store) PortalLiveChats(ctx context.Context, portalID int64) ([]Chat, error) {
	// The index (portal_id, status) holds them.
	return s.queryChats(ctx, "list a portal's live chats",
		`SELECT `+chatColumns+chatFrom+` WHERE c.portal_id = ? AND c.status IN ('waiting', 'offered', 'active') ORDER BY c.id`, portalID)
}

// VisitorChats lists a visitor's chats, newest first (the current one
// included). limit <= 0 means 100.
func (s *Store) VisitorChats(ctx context.Context, visitorID int64, limit int) ([]Chat, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.queryChats(ctx, "list visitor chats",
		`SELECT `+chatColumns+chatFrom+` WHERE c.visitor_id = ? ORDER BY c.id DESC LIMIT ?`, visitorID, limit)
}

func (s *Store) queryChats(ctx context.Context, op, q string, args ...any) ([]Chat, error) {
	return queryAll(ctx, s.r, op, scanChat, q, args...)
}

// SetChatStatus moves a chat to a status and records when: the first move
// to offered sets offered_at, the first move to active accepted_at, and the
// first move to ended or missed ended_at and the end reason. Later moves
// keep the times already set. A chat that is over gets its digest for
// reports (chat_digests).
func (s *Store) SetChatStatus(ctx context.Context, id int64, st ChatStatus, at time.Time, reason string) error {
	if err := st.check(); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE chats SET status = ?1,
			offered_at = CASE WHEN ?1 = 'offered' THEN coalesce(offered_at, ?2) ELSE offered_at END,
			accepted_at = CASE WHEN ?1 = 'active' THEN coalesce(accepted_at, ?2) ELSE accepted_at END,
			end_reason = CASE WHEN ?1 IN ('ended', 'missed') AND ended_at IS NULL THEN ?3 ELSE end_reason END,
			ended_at = CASE WHEN ?1 IN ('ended', 'missed') THEN coalesce(ended_at, ?2) ELSE ended_at END
			WHERE id = ?4`, st, millis(at), reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chatNotFound(id)
		}
		if st == ChatEnded || st == ChatMissed {
			return writeDigest(ctx, tx, id)
		}
		return nil
	})
	return wrap("set chat status", err)
}

// AddChatAgent puts an agent of the chat's portal into the chat with a
// role (ChatRoleOwner, ChatRoleInvited or ChatRoleMonitor), keeping their
// username and display name as they are now. An agent already in the
// chat stays in it with the new role. A chat or agent of another portal is
// ErrNotFound.
func (s *Store) AddChatAgent(ctx context.Context, chatID int64, portal, username, role string, at time.Time) error {
	switch role {
	case ChatRoleOwner, ChatRoleInvited, ChatRoleMonitor:
	default:
		return invalid("chat role %q is not one of owner, invited, monitor", role)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error { return addChatAgent(ctx, tx, chatID, portal, username, role, at) })
	return wrap("add chat agent", err)
}

// addChatAgent is AddChatAgent inside a transaction, role checked.
func addChatAgent(ctx context.Context, tx *sql.Tx, chatID int64, portal, username, role string, at time.Time) error {
	// An agent already in the chat changes role; one who left joins again.
	res, err := tx.ExecContext(ctx, `UPDATE chat_agents SET role = ? WHERE chat_id = ? AND left_at IS NULL AND agent_id = (
		SELECT a.id FROM chats c JOIN portals p ON p.id = c.portal_id JOIN agents a ON a.portal_id = c.portal_id
		WHERE c.id = ? AND p.name = ? AND a.username_key = ?)`,
		role, chatID, chatID, portal, UsernameKey(username))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	res, err = tx.ExecContext(ctx, `INSERT INTO chat_agents (chat_id, agent_id, agent_username, agent_name, role, joined_at)
		SELECT c.id, a.id, a.username, a.display_name, ?, ?
		FROM chats c JOIN portals p ON p.id = c.portal_id JOIN agents a ON a.portal_id = c.portal_id
		WHERE c.id = ? AND p.name = ? AND a.username_key = ?
		ON CONFLICT (chat_id, agent_id, joined_at) DO UPDATE SET role = excluded.role, left_at = NULL`,
		role, millis(at), chatID, portal, UsernameKey(username))
	if err != nil {
		return err
	}
	// SQLite's driver always knows the count: the error is never set.
	if n, _ := res.RowsAffected(); n == 0 {
		return whyNoChatAgent(ctx, tx, chatID, portal, username)
	}
	return nil
}

// whyNoChatAgent explains why an agent could not be found for a chat: the
// chat does not exist in the portal, or the agent does not.
func whyNoChatAgent(ctx context.Context, q querier, chatID int64, portal, username string) error {
	var inPortal bool
	err := q.QueryRowContext(ctx, `SELECT p.name = ? FROM chats c JOIN portals p ON p.id = c.portal_id WHERE c.id = ?`,
		portal, chatID).Scan(&inPortal)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && !inPortal:
		return notFound("chat %d does not exist in portal %q", chatID, portal)
	case err != nil:
		return err
	}
	return notFound("agent %q does not exist in portal %q (see: jabberdesk agent list %s)", username, portal, portal)
}

// RemoveChatAgent records that the agent left the chat. It is ErrNotFound
// if the agent is not in the chat.
func (s *Store) RemoveChatAgent(ctx context.Context, chatID int64, username string, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE chat_agents SET left_at = ?
			WHERE chat_id = ? AND left_at IS NULL AND agent_id IN
				(SELECT a.id FROM agents a JOIN chats c ON c.portal_id = a.portal_id WHERE c.id = ? AND a.username_key = ?)`,
			millis(at), chatID, chatID, UsernameKey(username))
		return oneRow(res, err, notFound("agent %q is not in chat %d", username, chatID))
	})
	return wrap("remove chat agent", err)
}
