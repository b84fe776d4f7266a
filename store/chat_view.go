package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// ChatView is one of the listings of a portal's chats that agents ask
// the Desk contact for (#chats) and administrators the CLI (chat list
// --view): docs/CHATS.md §11.
type ChatView string

// The chat views.
const (
	ViewMine       ChatView = "mine"       // the chats the agent is in now
	ViewUnassigned ChatView = "unassigned" // live chats no agent has taken: waiting or offered
	ViewActive     ChatView = "active"     // chats an agent has taken that go on
	ViewLive       ChatView = "live"       // every chat that goes on: waiting, offered or active
	ViewEnded      ChatView = "ended"      // chats that are over: ended or missed
	ViewBlocked    ChatView = "blocked"    // chats of blocked customers, and chats that ended with a block
	ViewAll        ChatView = "all"        // every chat
)

var chatViews = []ChatView{ViewMine, ViewUnassigned, ViewActive, ViewLive, ViewEnded, ViewBlocked, ViewAll}

// ChatViews are the views' names, in the order help lists them.
func ChatViews() []string {
	names := make([]string, len(chatViews))
	for i, v := range chatViews {
		names[i] = string(v)
	}
	return names
}

// ParseChatView accepts a view's name in any case.
func ParseChatView(s string) (ChatView, error) {
	for _, v := range chatViews {
		if strings.EqualFold(s, string(v)) {
			return v, nil
		}
	}
	return "", invalid("chat view %q is not one of %s", s, strings.Join(ChatViews(), ", "))
}

// ReplyState says whether an agent answered the last message of the
// visitor or customer: Replied when an agent wrote last, Unreplied when
// the visitor did (Chat.LastMessageFrom). A chat in which nobody wrote
// yet is neither.
type ReplyState string

// The reply states; ReplyAny does not filter.
const (
	ReplyAny  ReplyState = ""
	Replied   ReplyState = "replied"
	Unreplied ReplyState = "unreplied"
)

// ParseReplyState accepts replied or unreplied in any case ("" is
// ReplyAny).
func ParseReplyState(s string) (ReplyState, error) {
	switch st := ReplyState(strings.ToLower(s)); st {
	case ReplyAny, Replied, Unreplied:
		return st, nil
	}
	return "", invalid("reply state %q is not replied or unreplied", s)
}

// WebChannel is the channel filter that keeps the chats of web visitors
// (the widget and the visitor API).
const WebChannel = "web"

// ChatViewMax is the most chats one listing returns.
const ChatViewMax = 1000

// ChatQuery asks for a view of a portal's chats.
type ChatQuery struct {
	Portal string
	View   ChatView // "" is ViewAll
	Agent  string   // ViewMine: the agent's username
	Reply  ReplyState
	// Channel keeps the chats of one channel (its name, any case), of the
	// channels of one type (whatsapp, telegram, …), or of web visitors
	// (WebChannel); a channel's name comes first. "" keeps every chat.
	Channel string
	Status  ChatStatus // "" for any
	Limit   int        // the newest this many; <= 0 is 20, at most ChatViewMax
}

// ChatList is a view's newest chats (newest first) and how many chats
// the view has in all.
type ChatList struct {
	Chats []Chat
	Total int
}

// More is how many chats of the view the list leaves out.
func (l ChatList) More() int { return max(l.Total-len(l.Chats), 0) }

// ChatsInView lists the chats of a view, newest first. An unknown portal,
// agent (ViewMine) or channel is ErrNotFound; a bad view, reply state,
// status or limit ErrInvalid.
func (s *Store) ChatsInView(ctx context.Context, q ChatQuery) (ChatList, error) {
	l, err := s.chatsInView(ctx, q)
	return l, wrap("list chats", err)
}

func (s *Store) chatsInView(ctx context.Context, q ChatQuery) (ChatList, error) {
	if err := q.check(); err != nil {
		return ChatList{}, err
	}
	// One snapshot: the count and the list agree.
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return ChatList{}, err
	}
	defer func() { _ = tx.Rollback() }() // a read: there is nothing to undo
	where, args, err := chatViewFilter(ctx, tx, q)
	if err != nil {
		return ChatList{}, err
	}
	var l ChatList
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM chats c WHERE `+where, args...).Scan(&l.Total); err != nil {
		return ChatList{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	l.Chats, err = queryAll(ctx, tx, "list chats", scanChat,
		`SELECT `+chatColumns+chatFrom+` WHERE `+where+` ORDER BY c.number DESC LIMIT ?`, append(args, limit)...)
	return l, err
}

// check refuses a query that names no portal or has a bad field.
func (q ChatQuery) check() error {
	if q.Portal == "" {
		return invalid("a chat listing needs a portal")
	}
	if q.View != "" {
		if _, err := ParseChatView(string(q.View)); err != nil {
			return err
		}
	}
	if q.View == ViewMine && q.Agent == "" {
		return invalid("the view mine needs an agent")
	}
	if _, err := ParseReplyState(string(q.Reply)); err != nil {
		return err
	}
	if q.Status != "" {
		if err := q.Status.check(); err != nil {
			return err
		}
	}
	if q.Limit > ChatViewMax {
		return invalid("at most %d chats are listed at a time, not %d", ChatViewMax, q.Limit)
	}
	return nil
}

// viewConditions are the views' conditions on chats c (ViewMine's is
// chatViewFilter's, as it needs the agent).
var viewConditions = map[ChatView]string{
	ViewUnassigned: `c.status IN ('waiting', 'offered')`,
	ViewActive:     `c.status = 'active'`,
	ViewLive:       `c.status IN ('waiting', 'offered', 'active')`,
	ViewEnded:      `c.status IN ('ended', 'missed')`,
	ViewBlocked:    `(c.end_reason = '` + EndBlocked + `' OR c.customer_id IN (SELECT id FROM channel_customers WHERE blocked = 1))`,
}

// chatViewFilter is the WHERE clause of a view on chats c, and its
// arguments: conditions on the chat's own columns only, so that counting
// needs no join.
func chatViewFilter(ctx context.Context, q querier, cq ChatQuery) (string, []any, error) {
	pid, err := portalID(ctx, q, cq.Portal)
	if err != nil {
		return "", nil, err
	}
	conds, args := []string{"c.portal_id = ?"}, []any{pid}
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if cq.View == ViewMine {
		_, aid, err := agentRef(ctx, q, cq.Portal, cq.Agent)
		if err != nil {
			return "", nil, err
		}
		add(`c.id IN (SELECT chat_id FROM chat_agents WHERE agent_id = ? AND left_at IS NULL)`, aid)
	} else if cond := viewConditions[cq.View]; cond != "" {
		add(cond)
	}
	switch cq.Reply {
	case Replied:
		add(`c.last_message_from = ?`, AuthorAgent)
	case Unreplied:
		add(`c.last_message_from = ?`, AuthorVisitor)
	}
	if cq.Status != "" {
		add(`c.status = ?`, cq.Status)
	}
	if cq.Channel != "" {
		cond, a, err := channelCondition(ctx, q, pid, cq.Portal, cq.Channel)
		if err != nil {
			return "", nil, err
		}
		add(cond, a...)
	}
	return strings.Join(conds, " AND "), args, nil
}

// channelCondition is the condition of a channel filter: a channel of the
// portal by name, else the channels of a type, else the web visitors.
func channelCondition(ctx context.Context, q querier, pid int64, portal, channel string) (string, []any, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM channels WHERE portal_id = ? AND name_key = ?`, pid, strings.ToLower(channel)).Scan(&id)
	switch {
	case err == nil:
		return `c.channel_id = ?`, []any{id}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", nil, err
	}
	if t, err := ParseChannelType(channel); err == nil {
		return `c.channel_id IN (SELECT id FROM channels WHERE portal_id = ? AND type = ?)`, []any{pid, t}, nil
	}
	if strings.EqualFold(channel, WebChannel) {
		return `c.channel_id IS NULL AND c.customer_id IS NULL`, nil, nil
	}
	names, err := channelNames(ctx, q, pid)
	if err != nil {
		return "", nil, err
	}
	types := make([]string, len(channelTypes))
	for i, t := range channelTypes {
		types[i] = string(t)
	}
	return "", nil, notFound("%q is no channel of portal %q: name one of its channels (%s), a channel type (%s) or %s",
		channel, portal, names, strings.Join(types, ", "), WebChannel)
}

// channelNames lists a portal's channels' names for a message ("none"
// when it has none).
func channelNames(ctx context.Context, q querier, pid int64) (string, error) {
	names, err := queryAll(ctx, q, "list channel names", func(row scanner) (string, error) {
		var n string
		return n, row.Scan(&n)
	}, `SELECT name FROM channels WHERE portal_id = ? ORDER BY name_key`, pid)
	if err != nil || len(names) == 0 {
		return "none", err
	}
	return strings.Join(names, ", "), nil
}
