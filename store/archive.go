package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Page sizes of an archive query (XEP-0059 <max/>).
const (
	ArchivePageDefault = 50
	ArchivePageMax     = 250
)

// ArchivedMessage is one message of an agent's archive (XEP-0313): a
// message exchanged with a colleague (a row of the archive table) or a
// message of a visitor chat the agent was in (read from the chat's
// transcript).
//
// ID is the message's archive id, which is also its RSM cursor:
//
//   - a colleague message: "a" and the archive row id, zero-padded to at
//     least 12 digits ("a000000000042");
//   - a visitor-chat message: "c", the chat id zero-padded to at least 10
//     digits, "-" and the event's seq zero-padded to at least 6 digits
//     ("c0000000007-000013").
//
// An id is unique within an owner's archive and never changes; only this
// exact form is accepted back. Messages are ordered by time, and those
// with the same time (to the millisecond) by kind, colleague messages
// first, then by row id or by chat and seq; the zero padding makes the ids
// of one kind sort as text in that order.
type ArchivedMessage struct {
	ID       string    `json:"id"`
	StanzaID string    `json:"stanza_id,omitempty"` // the id the server gave a colleague message; "" for chat messages
	With     string    `json:"with,omitempty"`      // a colleague message's other party, as archived; "" for chat messages
	Chat     int64     `json:"chat,omitempty"`      // a chat message's chat number; 0 for colleague messages
	Outgoing bool      `json:"outgoing"`            // sent by the archive's owner
	Body     string    `json:"body"`
	Stanza   []byte    `json:"stanza,omitempty"` // the message as routed, for colleague messages; nil for chat messages
	At       time.Time `json:"at"`
	// Of a visitor chat's messages: FromVisitor for the visitor's,
	// Colleague is the name of the other agent whose words Body quotes as
	// "[Name] text", and Text is the words alone.
	FromVisitor bool   `json:"from_visitor,omitempty"`
	Colleague   string `json:"colleague,omitempty"`
	Text        string `json:"text,omitempty"`
}

// ArchiveQuery asks for a page of an agent's archive. Owner is the
// agent's username.
type ArchiveQuery struct {
	Portal, Owner string

	// Filters (XEP-0313 §4.1.1). With and WithChat narrow the archive to
	// one party: a colleague, compared as archived (pass the canonical
	// form it was archived in), or the chat of that number. Give at most
	// one of them.
	With       string
	WithChat   int64
	Start, End *time.Time // inclusive bounds; nil for none

	// Paging (XEP-0059). After: the page just after that id, oldest
	// first. Before (or BeforeSet with Before == ""): the page just before
	// that id (or the last page), still oldest first. Neither: the first
	// page. Both: the last page of what lies between.
	After, Before string
	BeforeSet     bool
	Max           int // page size; <= 0 means ArchivePageDefault, at most ArchivePageMax
}

// ArchivePage is one page of an archive query, oldest first. First and
// Last are the ids of its first and last message ("" for an empty page),
// Count the number of messages matching the filters regardless of paging,
// and Complete reports whether the page reaches the end of the results in
// the paging direction (the newest for forward paging, the oldest for
// backward paging).
type ArchivePage struct {
	Messages []ArchivedMessage `json:"messages"`
	First    string            `json:"first"`
	Last     string            `json:"last"`
	Count    int               `json:"count"`
	Complete bool              `json:"complete"`
}

// The two sources of an archive query, in the order they take among
// messages with the same time.
const (
	kindArchive = 0 // a row of the archive table
	kindChat    = 1 // a message event of a visitor chat
)

// archivePos is a message's place in the archive's order: (at, kind, k1,
// k2), where k1, k2 are the row id and 0 for kindArchive, the chat id and
// seq for kindChat.
type archivePos struct {
	at     int64
	kind   int
	k1, k2 int64
}

// archiveID formats a message's archive id (see ArchivedMessage).
func archiveID(kind int, k1, k2 int64) string {
	if kind == kindArchive {
		return fmt.Sprintf("a%012d", k1)
	}
	return fmt.Sprintf("c%010d-%06d", k1, k2)
}

// parseArchiveID reads an id made by archiveID; only the exact form it
// makes is accepted, so that a message has one id.
func parseArchiveID(id string) (kind int, k1, k2 int64, ok bool) {
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n > 0
	}
	switch {
	case strings.HasPrefix(id, "a"):
		k1, ok = num(id[1:])
		kind = kindArchive
	case strings.HasPrefix(id, "c"):
		chat, seq, found := strings.Cut(id[1:], "-")
		var ok1, ok2 bool
		k1, ok1 = num(chat)
		k2, ok2 = num(seq)
		kind, ok = kindChat, found && ok1 && ok2
	}
	if !ok || archiveID(kind, k1, k2) != id {
		return 0, 0, 0, false
	}
	return kind, k1, k2, true
}

// chatMessageCond picks, among the events of a chat (alias e), the
// messages that belong in the agents' archives: the visitor's words and
// the agents'.
const chatMessageCond = `e.text <> '' AND (e.type = 'visitor_message' OR e.type = 'message' AND e.author_kind = 'agent')`

// ArchiveMessage adds a message to one agent's archive: owner is the
// agent's username, with the other party's bare JID, outgoing whether the
// owner sent it, stanzaID the unique id the server gave the message, body
// its text and stanza the message as routed (may be nil, at most
// StoredStanzaMax bytes). A zero at means now. A stanza id already in the
// owner's archive is ErrExists; an unknown portal or agent ErrNotFound.
func (s *Store) ArchiveMessage(ctx context.Context, portal, owner, with string, outgoing bool, stanzaID, body string, stanza []byte, at time.Time) error {
	if err := checkArchived(with, stanzaID, body, stanza); err != nil {
		return err
	}
	at = s.archiveTime(at)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return archiveInsert(ctx, tx, portal, owner, with, outgoing, stanzaID, body, stanza, at)
	})
	return wrap("archive message", err)
}

// ArchivePair archives a message between two agents of a portal in both
// archives, in one transaction: as outgoing in the sender's (from, a
// username; with toJID) and as incoming in the recipient's (to; with
// fromJID). fromJID and toJID are the two agents' bare JIDs. A message an
// agent sends to themself is archived once, as outgoing. The other
// arguments are as for ArchiveMessage.
func (s *Store) ArchivePair(ctx context.Context, portal, from, to, fromJID, toJID, stanzaID, body string, stanza []byte, at time.Time) error {
	if err := checkArchived(toJID, stanzaID, body, stanza); err != nil {
		return err
	}
	if fromJID == "" {
		return invalid("the archived message has no sender JID")
	}
	at = s.archiveTime(at)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := archiveInsert(ctx, tx, portal, from, toJID, true, stanzaID, body, stanza, at); err != nil {
			return err
		}
		if UsernameKey(from) == UsernameKey(to) {
			return nil
		}
		return archiveInsert(ctx, tx, portal, to, fromJID, false, stanzaID, body, stanza, at)
	})
	return wrap("archive message", err)
}

// checkArchived checks what ArchiveMessage and ArchivePair are given.
func checkArchived(with, stanzaID, body string, stanza []byte) error {
	switch {
	case with == "":
		return invalid("the archived message has no other party (with)")
	case stanzaID == "":
		return invalid("the archived message has no stanza id")
	case body == "":
		return invalid("the archived message has no body; only messages with a body are archived")
	case len(stanza) > StoredStanzaMax:
		return invalid("the message is too large to archive (%d bytes, at most %d)", len(stanza), StoredStanzaMax)
	}
	return nil
}

// archiveTime is the stored time of an archived message: at, or now when
// at is zero, to the millisecond.
func (s *Store) archiveTime(at time.Time) time.Time {
	if at.IsZero() {
		at = s.now()
	}
	return at.UTC().Truncate(time.Millisecond)
}

// archiveInsert adds one row to an owner's archive inside tx.
func archiveInsert(ctx context.Context, tx *sql.Tx, portal, owner, with string, outgoing bool, stanzaID, body string, stanza []byte, at time.Time) error {
	pid, aid, err := agentRef(ctx, tx, portal, owner)
	if err != nil {
		return err
	}
	var blob any // NULL: no stanza
	if len(stanza) > 0 {
		blob = stanza
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO archive (portal_id, owner_id, with_jid, outgoing, stanza_id, body, stanza, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, pid, aid, with, outgoing, stanzaID, body, blob, millis(at))
	if isUnique(err) {
		return fmt.Errorf("stanza id %q is already in the archive of %s: %w", stanzaID, owner, ErrExists)
	}
	return err
}

// archiveArm is the part of the archive query that reads one source:
// conditions (joined with AND) and their arguments.
type archiveArm struct {
	conds []string
	args  []any
}

func (a *archiveArm) where(cond string, args ...any) {
	a.conds = append(a.conds, cond)
	a.args = append(a.args, args...)
}

func (a *archiveArm) sql() string { return strings.Join(a.conds, " AND ") }

// cursor adds the condition that the arm's rows (of kind kind, time column
// at, key columns keys) come after p in the archive's order, or before it.
// Rows of the cursor's own kind compare as (at, keys...); rows of the
// other kind only by time, where at the same time kindArchive comes first.
func (a *archiveArm) cursor(kind int, at string, keys []string, p archivePos, after bool) {
	op := "<"
	if after {
		op = ">"
	}
	switch {
	case kind == p.kind:
		vals := []any{p.at, p.k1, p.k2}[:len(keys)+1]
		a.where("("+at+", "+strings.Join(keys, ", ")+") "+op+" ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")", vals...)
	case (kind < p.kind) == after: // same time: this kind lies on the other side of p
		a.where(at+" "+op+" ?", p.at)
	default: // same time: this kind lies on this side of p
		a.where(at+" "+op+"= ?", p.at)
	}
}

// QueryArchive returns a page of an agent's archive: their messages with
// colleagues (ArchiveMessage, ArchivePair) and the messages of every
// visitor chat they were in (from the chats' transcripts: the visitor's,
// incoming; their own, outgoing; other agents', incoming from the visitor
// contact as "[Name] text", as they were relayed). Messages are in time
// order, ties broken as described at ArchivedMessage, one SQL query
// reading both sources, so that paging runs across both. After and Before
// take archive ids, and also the stanza id of a colleague message; an id
// that is not in the owner's archive is an ErrNotFound UserError
// ("item-not-found: ..."). An unknown portal or agent is ErrNotFound.
func (s *Store) QueryArchive(ctx context.Context, q ArchiveQuery) (ArchivePage, error) {
	if q.With != "" && q.WithChat != 0 {
		return ArchivePage{}, errors.New("store: query archive: both a colleague and a chat to filter by")
	}
	page, err := s.queryArchive(ctx, q)
	if err != nil {
		return ArchivePage{}, wrap("query archive", err)
	}
	return page, nil
}

func (s *Store) queryArchive(ctx context.Context, q ArchiveQuery) (ArchivePage, error) {
	size := archivePageSize(q.Max)
	backward := q.BeforeSet || q.Before != ""

	// Snapshot reads: the count, cursors and page agree.
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return ArchivePage{}, err
	}
	defer func() { _ = tx.Rollback() }() // a read: there is nothing to undo
	pid, aid, err := agentRef(ctx, tx, q.Portal, q.Owner)
	if err != nil {
		return ArchivePage{}, err
	}
	bounds, err := archiveBounds(ctx, tx, aid, q)
	if err != nil {
		return ArchivePage{}, err
	}
	ar, ch := archiveFilters(q, pid, aid)
	var page ArchivePage
	if page.Count, err = countArchive(ctx, tx, &ar, &ch); err != nil {
		return ArchivePage{}, err
	}

	// Paging: the page lies after After and before Before.
	for _, b := range bounds {
		ar.cursor(kindArchive, "a.at", []string{"a.id"}, b.pos, b.after)
		ch.cursor(kindChat, "e.at", []string{"e.chat_id", "e.seq"}, b.pos, b.after)
	}
	// One more than the page says whether the page is complete.
	if page.Messages, err = readArchive(ctx, tx, q, &ar, &ch, backward, size+1); err != nil {
		return ArchivePage{}, err
	}
	page.cut(size, backward)
	return page, nil
}

// archivePageSize is the page size asked for (XEP-0059 <max/>), within
// bounds.
func archivePageSize(asked int) int {
	switch {
	case asked <= 0:
		return ArchivePageDefault
	case asked > ArchivePageMax:
		return ArchivePageMax
	}
	return asked
}

// archiveBound is an end of the page: it lies after pos, or before it.
type archiveBound struct {
	pos   archivePos
	after bool
}

// archiveBounds finds the places of the query's After and Before ids in
// the archive of agent aid.
func archiveBounds(ctx context.Context, q querier, aid int64, aq ArchiveQuery) ([]archiveBound, error) {
	var bounds []archiveBound
	for _, c := range []struct {
		id    string
		after bool
	}{{aq.After, true}, {aq.Before, false}} {
		if c.id == "" {
			continue
		}
		p, err := archiveCursor(ctx, q, aid, c.id)
		if err != nil {
			return nil, err
		}
		bounds = append(bounds, archiveBound{p, c.after})
	}
	return bounds, nil
}

// archiveFilters are the query's filters (XEP-0313 §4.1.1) on the
// archive rows of agent aid (ar, alias a) and on the events (alias e) of
// the chats (alias c) of portal pid the agent was in (ch).
func archiveFilters(q ArchiveQuery, pid, aid int64) (ar, ch archiveArm) {
	ar.where("a.owner_id = ?", aid)
	// The owner's chats drive the chat arm; the unary + keeps the planner
	// from walking all the portal's chats by the (portal_id, number) index.
	ch.where("c.id IN (SELECT chat_id FROM chat_agents WHERE agent_id = ?)", aid)
	ch.where("+c.portal_id = ?", pid)
	ch.where(chatMessageCond)
	switch {
	case q.With != "":
		ar.where("a.with_jid = ?", q.With)
		ch.where("1 = 0") // a colleague has no chat
	case q.WithChat != 0:
		ar.where("1 = 0") // nor a chat a colleague message
		ch.where("c.id = (SELECT id FROM chats WHERE portal_id = ? AND number = ?)", pid, q.WithChat)
	}
	if q.Start != nil {
		start := millis(*q.Start)
		if q.Start.Nanosecond()%int(time.Millisecond) != 0 {
			start++ // the first whole millisecond not before Start
		}
		ar.where("a.at >= ?", start)
		ch.where("e.at >= ?", start)
	}
	if q.End != nil {
		ar.where("a.at <= ?", millis(*q.End))
		ch.where("e.at <= ?", millis(*q.End))
	}
	return ar, ch
}

// countArchive counts the messages that pass the filters of both arms.
func countArchive(ctx context.Context, q querier, ar, ch *archiveArm) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM archive a WHERE `+ar.sql()+`) +
		(SELECT count(*) FROM chats c JOIN chat_events e ON e.chat_id = c.id WHERE `+ch.sql()+`)`,
		append(append([]any{}, ar.args...), ch.args...)...).Scan(&n)
	return n, err
}

// readArchive reads at most limit messages of both arms in the archive's
// order (backward: newest first), in one query.
func readArchive(ctx context.Context, q querier, aq ArchiveQuery, ar, ch *archiveArm, backward bool, limit int) ([]ArchivedMessage, error) {
	key := UsernameKey(aq.Owner)
	order := "at, kind, k1, k2"
	if backward {
		order = "at DESC, kind DESC, k1 DESC, k2 DESC"
	}
	args := append([]any{}, ar.args...)
	args = append(args, key, key, key)
	args = append(args, ch.args...)
	args = append(args, limit)
	rows, err := q.QueryContext(ctx, `
		SELECT `+strconv.Itoa(kindArchive)+` AS kind, a.id AS k1, 0 AS k2, a.at AS at, a.with_jid AS with_jid, 0 AS number,
			a.outgoing AS outgoing, a.stanza_id AS stanza_id, a.body AS body, a.stanza AS stanza,
			'' AS colleague, 0 AS from_visitor, '' AS text
		FROM archive a WHERE `+ar.sql()+`
		UNION ALL
		SELECT `+strconv.Itoa(kindChat)+`, e.chat_id, e.seq, e.at, '', c.number,
			CASE WHEN e.type = 'message' AND e.author = ? THEN 1 ELSE 0 END, '',
			CASE WHEN e.type = 'message' AND e.author <> ? THEN '[' || e.author_name || '] ' || e.text ELSE e.text END, NULL,
			CASE WHEN e.type = 'message' AND e.author <> ? THEN e.author_name ELSE '' END,
			CASE WHEN e.type = 'visitor_message' THEN 1 ELSE 0 END, e.text
		FROM chats c JOIN chat_events e ON e.chat_id = c.id WHERE `+ch.sql()+`
		ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer release(rows)
	msgs := []ArchivedMessage{}
	for rows.Next() {
		var m ArchivedMessage
		var kind int
		var k1, k2, at int64
		if err := rows.Scan(&kind, &k1, &k2, &at, &m.With, &m.Chat, &m.Outgoing, &m.StanzaID, &m.Body, &m.Stanza, &m.Colleague, &m.FromVisitor, &m.Text); err != nil {
			return nil, err
		}
		m.ID, m.At = archiveID(kind, k1, k2), fromMillis(at)
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// cut makes a page of what was read (up to size+1 messages, newest first
// when backward): at most size messages, oldest first, Complete if no
// more were read, and First and Last.
func (p *ArchivePage) cut(size int, backward bool) {
	p.Complete = len(p.Messages) <= size
	if !p.Complete {
		p.Messages = p.Messages[:size]
	}
	if backward {
		slices.Reverse(p.Messages)
	}
	if n := len(p.Messages); n > 0 {
		p.First, p.Last = p.Messages[0].ID, p.Messages[n-1].ID
	}
}

// archiveCursor finds the place of the message with an archive id (or
// the stanza id of a colleague message) in the archive of agent aid.
func archiveCursor(ctx context.Context, q querier, aid int64, id string) (archivePos, error) {
	kind, k1, k2, ok := parseArchiveID(id)
	p := archivePos{kind: kind, k1: k1, k2: k2}
	err := sql.ErrNoRows
	switch {
	case ok && kind == kindArchive:
		err = q.QueryRowContext(ctx, `SELECT at FROM archive WHERE id = ? AND owner_id = ?`, k1, aid).Scan(&p.at)
	case ok && kind == kindChat:
		err = q.QueryRowContext(ctx, `SELECT e.at FROM chat_events e WHERE e.chat_id = ? AND e.seq = ? AND `+chatMessageCond+`
			AND e.chat_id IN (SELECT chat_id FROM chat_agents WHERE agent_id = ?)`, k1, k2, aid).Scan(&p.at)
	}
	if errors.Is(err, sql.ErrNoRows) {
		p = archivePos{kind: kindArchive}
		err = q.QueryRowContext(ctx, `SELECT id, at FROM archive WHERE owner_id = ? AND stanza_id = ?`, aid, id).Scan(&p.k1, &p.at)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return archivePos{}, &UserError{Msg: fmt.Sprintf("item-not-found: no archived message with id %q", id), Kind: ErrNotFound}
	}
	return p, err
}
