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
	m := archivedRow{stanzaID: stanzaID, body: body, stanza: stanza, at: at}
	if outgoing {
		m.from, m.to, m.toJID = owner, "", with
	} else {
		m.from, m.to, m.fromJID = "", owner, with
	}
	return s.insertArchived(ctx, portal, m)
}

// ArchivePair archives a message between two agents of a portal in both
// archives: as outgoing in the sender's (from, a username; with toJID)
// and as incoming in the recipient's (to; with fromJID), one row that
// both archives read. fromJID and toJID are the two agents' bare JIDs. A
// message an agent sends to themself is in their archive once, as
// outgoing. The other arguments are as for ArchiveMessage.
func (s *Store) ArchivePair(ctx context.Context, portal, from, to, fromJID, toJID, stanzaID, body string, stanza []byte, at time.Time) error {
	if err := checkArchived(toJID, stanzaID, body, stanza); err != nil {
		return err
	}
	if fromJID == "" {
		return invalid("the archived message has no sender JID")
	}
	return s.insertArchived(ctx, portal, pairRow(from, to, fromJID, toJID, stanzaID, body, stanza, s.archiveTime(at)))
}

// insertArchived adds a message to the archive in a transaction of its
// own.
func (s *Store) insertArchived(ctx context.Context, portal string, m archivedRow) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return archiveInsert(ctx, tx, portal, m) })
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

// archivedRow is one row of the archive: a message from one agent to
// another (usernames; either may be "" for a message archived for one
// side only, to is "" for a message to oneself), with their bare JIDs as
// routed ("" when not known).
type archivedRow struct {
	from, to, fromJID, toJID, stanzaID, body string
	stanza                                   []byte
	at                                       time.Time
}

// pairRow is the row of a message between two agents; a message to
// oneself is in their archive once, as sent.
func pairRow(from, to, fromJID, toJID, stanzaID, body string, stanza []byte, at time.Time) archivedRow {
	m := archivedRow{from, to, fromJID, toJID, stanzaID, body, stanza, at}
	if UsernameKey(from) == UsernameKey(to) {
		m.to = ""
	}
	return m
}

// archiveInsert adds a message to the archive inside tx. A stanza id
// already in the archive of either agent is ErrExists.
func archiveInsert(ctx context.Context, tx *sql.Tx, portal string, m archivedRow) error {
	var pid int64
	ids := [2]any{nil, nil} // NULL: no such side
	for i, owner := range []string{m.from, m.to} {
		if owner == "" {
			continue
		}
		p, aid, err := agentRef(ctx, tx, portal, owner)
		if err != nil {
			return err
		}
		var dup bool
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM archive WHERE stanza_id = ? AND (from_id = ? OR to_id = ?))`,
			m.stanzaID, aid, aid).Scan(&dup)
		if err != nil {
			return err
		}
		if dup {
			return fmt.Errorf("stanza id %q is already in the archive of %s: %w", m.stanzaID, owner, ErrExists)
		}
		pid, ids[i] = p, aid
	}
	_, err := tx.ExecContext(ctx, archiveInsertSQL+archiveValues, pid, ids[0], ids[1], m.fromJID, m.toJID, m.stanzaID, m.body, stanzaBlob(m.stanza), millis(m.at))
	return err
}

// stanzaBlob is what the stanza column holds: NULL for no stanza.
func stanzaBlob(stanza []byte) any {
	if len(stanza) == 0 {
		return nil
	}
	return stanza
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
	arms := archiveFilters(q, pid, aid)
	var page ArchivePage
	if page.Count, err = countArchive(ctx, tx, &arms); err != nil {
		return ArchivePage{}, err
	}

	// Paging: the page lies after After and before Before.
	for _, b := range bounds {
		arms.sent.cursor(kindArchive, "a.at", []string{"a.id"}, b.pos, b.after)
		arms.received.cursor(kindArchive, "a.at", []string{"a.id"}, b.pos, b.after)
		arms.chats.cursor(kindChat, "e.at", []string{"e.chat_id", "e.seq"}, b.pos, b.after)
	}
	// One more than the page says whether the page is complete.
	if page.Messages, err = readArchive(ctx, tx, q, &arms, backward, size+1); err != nil {
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

// archiveArms are the three sources of an agent's archive: the archive
// rows they sent (alias a), those they received from someone else (alias
// a), and the messages of the visitor chats they were in (events e of
// chats c). Each arm reads one index in order, so that a page costs its
// size, not the archive's.
type archiveArms struct {
	sent, received, chats archiveArm
}

// archiveFilters are the query's filters (XEP-0313 §4.1.1) on the
// archive of agent aid of portal pid.
func archiveFilters(q ArchiveQuery, pid, aid int64) archiveArms {
	var arms archiveArms
	arms.sent.where("a.from_id = ?", aid)
	arms.received.where("a.to_id = ?", aid)
	// The owner's chats drive the chat arm; the unary + keeps the planner
	// from walking all the portal's chats by the (portal_id, number) index.
	ch := &arms.chats
	ch.where("c.id IN (SELECT chat_id FROM chat_agents WHERE agent_id = ?)", aid)
	ch.where("+c.portal_id = ?", pid)
	ch.where(chatMessageCond)
	switch {
	case q.With != "":
		arms.sent.where("a.to_jid = ?", q.With)
		arms.received.where("a.from_jid = ?", q.With)
		ch.where("1 = 0") // a colleague has no chat
	case q.WithChat != 0:
		arms.sent.where("1 = 0") // nor a chat a colleague message
		arms.received.where("1 = 0")
		ch.where("c.id = (SELECT id FROM chats WHERE portal_id = ? AND number = ?)", pid, q.WithChat)
	}
	var start, end []any
	if q.Start != nil {
		ms := millis(*q.Start)
		if q.Start.Nanosecond()%int(time.Millisecond) != 0 {
			ms++ // the first whole millisecond not before Start
		}
		start = []any{ms}
	}
	if q.End != nil {
		end = []any{millis(*q.End)}
	}
	for _, a := range []struct {
		arm *archiveArm
		at  string
	}{{&arms.sent, "a.at"}, {&arms.received, "a.at"}, {ch, "e.at"}} {
		if start != nil {
			a.arm.where(a.at+" >= ?", start...)
		}
		if end != nil {
			a.arm.where(a.at+" <= ?", end...)
		}
	}
	return arms
}

// countArchive counts the messages that pass the filters of the arms.
func countArchive(ctx context.Context, q querier, arms *archiveArms) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM archive a WHERE `+arms.sent.sql()+`) +
		(SELECT count(*) FROM archive a WHERE `+arms.received.sql()+`) +
		(SELECT count(*) FROM chats c JOIN chat_events e ON e.chat_id = c.id WHERE `+arms.chats.sql()+`)`,
		slices.Concat(arms.sent.args, arms.received.args, arms.chats.args)...).Scan(&n)
	return n, err
}

// readArchive reads at most limit messages of the arms in the archive's
// order (backward: newest first), in one query.
func readArchive(ctx context.Context, q querier, aq ArchiveQuery, arms *archiveArms, backward bool, limit int) ([]ArchivedMessage, error) {
	key := UsernameKey(aq.Owner)
	order := "at, kind, k1, k2"
	if backward {
		order = "at DESC, kind DESC, k1 DESC, k2 DESC"
	}
	args := slices.Concat(arms.sent.args, arms.received.args, []any{key, key, key}, arms.chats.args, []any{limit})
	rows, err := q.QueryContext(ctx, archiveSelect(arms, order), args...)
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

// archiveSelect is the query of readArchive: the three arms, in order,
// up to a limit. Its arguments are the sent arm's, the received arm's,
// the owner's username key three times, the chat arm's and the limit.
func archiveSelect(arms *archiveArms, order string) string {
	return `
		SELECT ` + strconv.Itoa(kindArchive) + ` AS kind, a.id AS k1, 0 AS k2, a.at AS at, a.to_jid AS with_jid, 0 AS number,
			1 AS outgoing, a.stanza_id AS stanza_id, a.body AS body, a.stanza AS stanza,
			'' AS colleague, 0 AS from_visitor, '' AS text
		FROM archive a WHERE ` + arms.sent.sql() + `
		UNION ALL
		SELECT ` + strconv.Itoa(kindArchive) + `, a.id, 0, a.at, a.from_jid, 0, 0, a.stanza_id, a.body, a.stanza, '', 0, ''
		FROM archive a WHERE ` + arms.received.sql() + `
		UNION ALL
		SELECT ` + strconv.Itoa(kindChat) + `, e.chat_id, e.seq, e.at, '', c.number,
			CASE WHEN e.type = 'message' AND e.author = ? THEN 1 ELSE 0 END, '',
			CASE WHEN e.type = 'message' AND e.author <> ? THEN '[' || e.author_name || '] ' || e.text ELSE e.text END, NULL,
			CASE WHEN e.type = 'message' AND e.author <> ? THEN e.author_name ELSE '' END,
			CASE WHEN e.type = 'visitor_message' THEN 1 ELSE 0 END, e.text
		FROM chats c JOIN chat_events e ON e.chat_id = c.id WHERE ` + arms.chats.sql() + `
		ORDER BY ` + order + ` LIMIT ?`
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
		err = q.QueryRowContext(ctx, `SELECT at FROM archive WHERE id = ? AND (from_id = ? OR to_id = ?)`, k1, aid, aid).Scan(&p.at)
	case ok && kind == kindChat:
		err = q.QueryRowContext(ctx, `SELECT e.at FROM chat_events e WHERE e.chat_id = ? AND e.seq = ? AND `+chatMessageCond+`
			AND e.chat_id IN (SELECT chat_id FROM chat_agents WHERE agent_id = ?)`, k1, k2, aid).Scan(&p.at)
	}
	if errors.Is(err, sql.ErrNoRows) {
		p = archivePos{kind: kindArchive}
		err = q.QueryRowContext(ctx, `SELECT id, at FROM archive WHERE stanza_id = ? AND (from_id = ? OR to_id = ?) ORDER BY id LIMIT 1`, id, aid, aid).Scan(&p.k1, &p.at)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return archivePos{}, &UserError{Msg: fmt.Sprintf("item-not-found: no archived message with id %q", id), Kind: ErrNotFound}
	}
	return p, err
}
