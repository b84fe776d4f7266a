package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The words of the ticket codes (docs/HELPDESK.md §2.2, #support conasreq): the index is
// the stored code.
var (
	TicketPriorities      = [4]string{"none", "low", "medium", "high"}
	TicketStatuses        = [4]string{"open", "on hold", "escalated", "closed"}
	TicketClassifications = [5]string{"none", "question", "problem", "feature", "others"}
)

// The ticket statuses (Ticket.Status).
const TicketOpen, TicketOnHold, TicketEscalated, TicketClosed = 0, 1, 2, 3

// The channels a ticket comes from (Ticket.Channel).
const (
	TicketChannelChat = "chat" // converted from a visitor chat
	TicketChannelCLI  = "cli"  // made by an administrator
)

// Limits on ticket text, in characters.
const (
	TicketSubjectMax = 255
	TicketNoteMax    = 10000
)

// ParseTicketStatus reads a ticket status: one of the words of
// TicketStatuses (also "on_hold" and "onhold"), "close" for closed,
// "reopen" for open, or the code 0 to 3.
func ParseTicketStatus(s string) (int, error) {
	k := strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == ' ' || r == '_' || r == '-'
	}), " ")
	switch k {
	case "open", "reopen", "0":
		return TicketOpen, nil
	case "on hold", "onhold", "hold", "1":
		return TicketOnHold, nil
	case "escalated", "escalate", "2":
		return TicketEscalated, nil
	case "closed", "close", "3":
		return TicketClosed, nil
	}
	return 0, invalid("ticket status %q is not one of %s (\"close\" and \"reopen\" work too)", s, codeList(TicketStatuses[:]))
}

// codeWord is the word of a stored code; a code outside the table (which
// the schema does not allow) shows as its digits.
func codeWord(words []string, code int) string {
	if code >= 0 && code < len(words) {
		return words[code]
	}
	return strconv.Itoa(code)
}

// codeList lists a word table with its codes: "0 none, 1 low, ...".
func codeList(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = fmt.Sprintf("%d %s", i, w)
	}
	return strings.Join(parts, ", ")
}

// checkCode says whether code is an index of words; what names the code
// ("priority") in the message.
func checkCode(what string, words []string, code int) error {
	if code < 0 || code >= len(words) {
		return invalid("%s %d is not one of %s", what, code, codeList(words))
	}
	return nil
}

// parseCode reads a word of the table (ignoring case) or its code; ""
// is 0.
func parseCode(what string, words []string, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	for i, w := range words {
		if strings.EqualFold(s, w) || s == strconv.Itoa(i) {
			return i, nil
		}
	}
	return 0, invalid("%s %q is not one of %s", what, s, codeList(words))
}

// Ticket is a helpdesk request (docs/HELPDESK.md §2). Number counts from 1 per
// portal. ContactName and ContactEmail are the contact's current details.
// Priority, Status and Classification are the codes of TicketPriorities,
// TicketStatuses and TicketClassifications (in JSON: the words). DueAt is
// when the ticket must be resolved under the SLA of the contact's account
// (nil: no SLA); Overdue is worked out when the ticket is read: DueAt has
// passed and the ticket is not closed. ChatNumbers are the visitor numbers
// of the chats linked to the ticket, in order.
type Ticket struct {
	ID             int64      `json:"id"`
	Number         int64      `json:"number"`
	Portal         string     `json:"portal"`
	Subject        string     `json:"subject"`
	ContactID      int64      `json:"contact_id"`
	ContactName    string     `json:"contact_name"`
	ContactEmail   string     `json:"contact_email"`
	Department     string     `json:"department"`
	Priority       int        `json:"priority"`
	Status         int        `json:"status"`
	Classification int        `json:"classification"`
	Channel        string     `json:"channel"`
	Missed         bool       `json:"missed"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	DueAt          *time.Time `json:"due_at,omitempty"`
	Overdue        bool       `json:"overdue"`
	ChatNumbers    []int64    `json:"chat_numbers"`
}

// ticketWords is Ticket in JSON: the codes as words.
type ticketWords struct {
	plainTicket
	Priority       string `json:"priority"`
	Status         string `json:"status"`
	Classification string `json:"classification"`
}

// plainTicket is Ticket without its JSON methods.
type plainTicket Ticket

// MarshalJSON writes the ticket with priority, status and classification
// as words ("low", "on hold", "problem").
func (t Ticket) MarshalJSON() ([]byte, error) {
	if t.ChatNumbers == nil {
		t.ChatNumbers = []int64{}
	}
	return json.Marshal(ticketWords{
		plainTicket:    plainTicket(t),
		Priority:       codeWord(TicketPriorities[:], t.Priority),
		Status:         codeWord(TicketStatuses[:], t.Status),
		Classification: codeWord(TicketClassifications[:], t.Classification),
	})
}

// UnmarshalJSON reads what MarshalJSON writes (codes as digits work too).
func (t *Ticket) UnmarshalJSON(b []byte) error {
	var w ticketWords
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = Ticket(w.plainTicket)
	var err error
	if t.Priority, err = parseCode("priority", TicketPriorities[:], w.Priority); err != nil {
		return err
	}
	if t.Status, err = parseCode("status", TicketStatuses[:], w.Status); err != nil {
		return err
	}
	t.Classification, err = parseCode("classification", TicketClassifications[:], w.Classification)
	return err
}

// Words is the ticket's priority, status and classification as words,
// "low, on hold, problem".
func (t Ticket) Words() string {
	return codeWord(TicketPriorities[:], t.Priority) + ", " + codeWord(TicketStatuses[:], t.Status) + ", " +
		codeWord(TicketClassifications[:], t.Classification)
}

// NewTicket is what CreateTicket needs.
type NewTicket struct {
	Portal string
	// Subject is required without a chat; with one it defaults to the
	// chat's question (cut to TicketSubjectMax characters).
	Subject string

	// The contact, found by email (ignoring case) or created with the
	// name and phone; an existing contact's empty name and phone are
	// filled in. With a chat, empty fields default to the visitor's.
	Email, Name, Phone string

	// Department is the name of one of the portal's departments; with a
	// chat it defaults to the chat's department.
	Department string

	// The codes of TicketPriorities, TicketStatuses, TicketClassifications.
	Priority, Status, Classification int

	Channel string // TicketChannelChat (the default) or TicketChannelCLI

	// ChatID links a chat of the same portal (0: none); Transcript is then
	// the ticket's first thread entry (ignored without a chat).
	ChatID     int64
	Transcript string

	Missed bool   // made from a missed chat: in the "missed" view
	Actor  string // the agent's username; "" means "cli"
}

// noEmailMessage is what CreateTicket says when the contact has no email.
const noEmailMessage = "the visitor has no email: set one with #support setemail EMAIL"

// CreateTicket makes a ticket in one transaction: it finds or creates the
// contact, takes the portal's next ticket number, sets the due time from
// the SLA of the contact's account, links the chat with its transcript
// (resolving a flag on it) and records "ticket.add" in the audit log. A
// chat that already belongs to a ticket is ErrExists; a chat or department
// that is not the portal's is ErrNotFound; no email is ErrInvalid.
func (s *Store) CreateTicket(ctx context.Context, n NewTicket) (Ticket, error) {
	n.Subject, n.Email, n.Name = strings.TrimSpace(n.Subject), strings.TrimSpace(n.Email), strings.TrimSpace(n.Name)
	n.Phone, n.Department = strings.TrimSpace(n.Phone), strings.TrimSpace(n.Department)
	if err := checkTicketCodes(n.Priority, n.Status, n.Classification); err != nil {
		return Ticket{}, err
	}
	if n.Channel == "" {
		n.Channel = TicketChannelChat
	}
	switch {
	case n.Channel != TicketChannelChat && n.Channel != TicketChannelCLI:
		return Ticket{}, invalid("ticket channel %q is not one of chat, cli", n.Channel)
	case utf8.RuneCountInString(n.Subject) > TicketSubjectMax:
		return Ticket{}, invalid("the subject is too long (at most %d characters)", TicketSubjectMax)
	case utf8.RuneCountInString(n.Name) > VisitorNameMax:
		return Ticket{}, invalid("the name is too long (at most %d characters)", VisitorNameMax)
	}
	actor := actorName(n.Actor)
	now := s.now().UTC().Truncate(time.Millisecond)
	var t Ticket
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, n.Portal)
		if err != nil {
			return err
		}
		var chat linkChat
		if n.ChatID != 0 {
			if chat, err = chatToLink(ctx, tx, n.ChatID, pid, n.Portal); err != nil {
				return err
			}
			if n.Subject == "" {
				n.Subject = clipAudit(chat.question, TicketSubjectMax)
			}
			n.Email, n.Name, n.Phone = orElse(n.Email, chat.email), orElse(n.Name, chat.name), orElse(n.Phone, chat.phone)
		}
		if n.Subject == "" {
			return invalid("a subject is required")
		}
		if n.Email == "" {
			return invalid(noEmailMessage)
		}
		email, err := ValidateEmail(n.Email)
		if err != nil {
			return err
		}
		switch {
		case n.Department != "":
			d, err := s.department(ctx, tx, n.Portal, n.Department)
			if err != nil {
				return err
			}
			n.Department = d.Name
		case n.ChatID != 0:
			n.Department = chat.department // kept even if the department is gone
		}
		contactID, resolutionHours, err := s.findOrAddContact(ctx, tx, pid, n.Portal, email, n.Name, n.Phone, actor, now)
		if err != nil {
			return err
		}
		var number int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO ticket_counters (portal_id, next_number) VALUES (?, 2)
			ON CONFLICT (portal_id) DO UPDATE SET next_number = ticket_counters.next_number + 1
			RETURNING next_number - 1`, pid).Scan(&number); err != nil {
			return err
		}
		var due any // NULL: no SLA
		if resolutionHours > 0 {
			due = millis(now.Add(time.Duration(resolutionHours) * time.Hour))
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO tickets
			(portal_id, number, subject, subject_key, contact_id, department, priority, status, classification,
			 channel, missed, created_at, updated_at, due_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, number, n.Subject, strings.ToLower(n.Subject), contactID, n.Department, n.Priority, n.Status, n.Classification,
			n.Channel, n.Missed, millis(now), millis(now), due).Scan(&id)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("subject=%q contact=%q priority=%q status=%q classification=%q",
			clipAudit(n.Subject, 100), email, codeWord(TicketPriorities[:], n.Priority),
			codeWord(TicketStatuses[:], n.Status), codeWord(TicketClassifications[:], n.Classification))
		if n.ChatID != 0 {
			if err := linkChatToTicket(ctx, tx, id, n.ChatID, actor, n.Transcript, now); err != nil {
				return err
			}
			detail += fmt.Sprintf(" chat=#%d", chat.number)
		}
		if n.Missed {
			detail += " missed"
		}
		if err := audit(ctx, tx, now, n.Portal, actor, "ticket.add", ticketTarget(number), detail); err != nil {
			return err
		}
		t, err = s.ticketByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return Ticket{}, wrap("create ticket", err)
	}
	return t, nil
}

// orElse is a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// actorName is who the audit log and the thread name for actor "".
func actorName(actor string) string {
	if actor == "" {
		return "cli"
	}
	return actor
}

// ticketTarget is how the audit log names a ticket.
func ticketTarget(number int64) string { return fmt.Sprintf("#%d", number) }

func checkTicketCodes(priority, status, classification int) error {
	if err := checkCode("priority", TicketPriorities[:], priority); err != nil {
		return err
	}
	if err := checkCode("status", TicketStatuses[:], status); err != nil {
		return err
	}
	return checkCode("classification", TicketClassifications[:], classification)
}

// linkChat is what linking a chat to a ticket needs to know of it.
type linkChat struct {
	number               int64
	question, department string
	name, email, phone   string // the visitor's
	ticketNumber         int64  // the ticket it belongs to; 0 for none
}

// chatToLink reads a chat of the portal that does not belong to a ticket
// yet. A chat of another portal is not found, as if it did not exist.
func chatToLink(ctx context.Context, q querier, chatID, portalID int64, portal string) (linkChat, error) {
	var c linkChat
	err := q.QueryRowContext(ctx, `SELECT c.number, c.question, c.department, v.name, v.email, v.phone,
			COALESCE((SELECT t.number FROM ticket_chats tc JOIN tickets t ON t.id = tc.ticket_id WHERE tc.chat_id = c.id), 0)
		FROM chats c JOIN visitors v ON v.id = c.visitor_id WHERE c.id = ? AND c.portal_id = ?`, chatID, portalID).
		Scan(&c.number, &c.question, &c.department, &c.name, &c.email, &c.phone, &c.ticketNumber)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("chat %d does not exist in portal %q", chatID, portal)
	}
	if err != nil {
		return c, err
	}
	if c.ticketNumber != 0 {
		return c, exists("chat #%d already belongs to ticket #%d", c.number, c.ticketNumber)
	}
	return c, nil
}

// linkChatToTicket links a chat to a ticket, adds its transcript to the
// ticket's thread and resolves the chat's flag.
func linkChatToTicket(ctx context.Context, tx *sql.Tx, ticketID, chatID int64, author, transcript string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_chats (ticket_id, chat_id) VALUES (?, ?)`, ticketID, chatID); err != nil {
		return err
	}
	if err := addThreadEntry(ctx, tx, ticketID, ThreadTranscript, chatID, author, transcript, at); err != nil {
		return err
	}
	return resolveFlag(ctx, tx, chatID, at)
}

// The kinds of ticket thread entry (ThreadEntry.Kind).
const (
	ThreadTranscript = "transcript" // a linked chat's transcript
	ThreadNote       = "note"       // a note written by an agent
	ThreadStatus     = "status"     // a status change
)

// addThreadEntry appends an entry to a ticket's thread; chatID 0 is none.
func addThreadEntry(ctx context.Context, tx *sql.Tx, ticketID int64, kind string, chatID int64, author, body string, at time.Time) error {
	var chat any // NULL: no chat
	if chatID != 0 {
		chat = chatID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_threads (ticket_id, kind, chat_id, author, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ticketID, kind, chat, author, body, millis(at), millis(at))
	return err
}

// ticketSelect reads whole tickets (aliases t, p, ct); the last column is
// the numbers of the linked chats as a JSON array.
const ticketSelect = `SELECT t.id, t.number, p.name, t.subject, t.contact_id, ct.name, ct.email, t.department,
	t.priority, t.status, t.classification, t.channel, t.missed, t.created_at, t.updated_at, t.due_at,
	(SELECT json_group_array(c.number ORDER BY c.number) FROM ticket_chats tc JOIN chats c ON c.id = tc.chat_id WHERE tc.ticket_id = t.id)
	FROM tickets t JOIN portals p ON p.id = t.portal_id JOIN contacts ct ON ct.id = t.contact_id`

// Ticket queries; ?1 is the portal's id. Each view reads its own index
// newest first, without sorting.
const (
	ticketByNumberQuery = ticketSelect + ` WHERE t.portal_id = ?1 AND t.number = ?2`
	ticketForChatQuery  = ticketSelect + ` WHERE t.id = (SELECT ticket_id FROM ticket_chats WHERE chat_id = ?1)`
	ticketsOpenQuery    = ticketSelect + ` WHERE t.portal_id = ?1 AND t.status <> 3 ORDER BY t.number DESC LIMIT ?2`
	ticketsMissedQuery  = ticketSelect + ` WHERE t.portal_id = ?1 AND t.missed = 1 ORDER BY t.number DESC LIMIT ?2`
	ticketsClosedQuery  = ticketSelect + ` WHERE t.portal_id = ?1 AND t.status = 3 ORDER BY t.number DESC LIMIT ?2`
	ticketsAllQuery     = ticketSelect + ` WHERE t.portal_id = ?1 ORDER BY t.number DESC LIMIT ?2`
)

// ticketViews are the views of Tickets and their queries.
var ticketViews = []struct{ name, query string }{
	{"open", ticketsOpenQuery},
	{"missed", ticketsMissedQuery},
	{"closed", ticketsClosedQuery},
	{"all", ticketsAllQuery},
}

// scanTicket reads a row of ticketSelect; Overdue is as of now.
func (s *Store) scanTicket(row scanner) (Ticket, error) {
	var t Ticket
	var created, updated int64
	var due sql.NullInt64
	var chats []byte
	err := row.Scan(&t.ID, &t.Number, &t.Portal, &t.Subject, &t.ContactID, &t.ContactName, &t.ContactEmail, &t.Department,
		&t.Priority, &t.Status, &t.Classification, &t.Channel, &t.Missed, &created, &updated, &due, &chats)
	if err != nil {
		return Ticket{}, err
	}
	t.CreatedAt, t.UpdatedAt, t.DueAt = fromMillis(created), fromMillis(updated), optTime(due)
	t.Overdue = t.DueAt != nil && t.Status != TicketClosed && s.now().After(*t.DueAt)
	if err := json.Unmarshal(chats, &t.ChatNumbers); err != nil {
		return Ticket{}, fmt.Errorf("ticket chats: %w", err)
	}
	return t, nil
}

func (s *Store) ticketByID(ctx context.Context, q querier, id int64) (Ticket, error) {
	return s.scanTicket(q.QueryRowContext(ctx, ticketSelect+` WHERE t.id = ?`, id))
}

// ticketByNumber reads a ticket of the portal; one that does not exist
// is ErrNotFound.
func (s *Store) ticketByNumber(ctx context.Context, q querier, portalID int64, portal string, number int64) (Ticket, error) {
	t, err := s.scanTicket(q.QueryRowContext(ctx, ticketByNumberQuery, portalID, number))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, notFound("ticket #%d does not exist in portal %q", number, portal)
	}
	return t, err
}

func (s *Store) queryTickets(ctx context.Context, op, q string, args ...any) ([]Ticket, error) {
	return queryAll(ctx, s.r, op, s.scanTicket, q, args...)
}

// Ticket looks a ticket up by its portal and number.
func (s *Store) Ticket(ctx context.Context, portal string, number int64) (Ticket, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return Ticket{}, wrap("get ticket", err)
	}
	t, err := s.ticketByNumber(ctx, s.r, pid, portal, number)
	return t, wrap("get ticket", err)
}

// TicketForChat is the ticket a chat belongs to; ErrNotFound when it
// belongs to none.
func (s *Store) TicketForChat(ctx context.Context, chatID int64) (Ticket, error) {
	t, err := s.scanTicket(s.r.QueryRowContext(ctx, ticketForChatQuery, chatID))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, notFound("chat %d has no ticket", chatID)
	}
	return t, wrap("get ticket for chat", err)
}

// Tickets lists a portal's tickets in a view, newest first: "open" (not
// closed; also for view ""), "missed" (made from missed chats, in any
// status), "closed" or "all". limit <= 0 means 100.
func (s *Store) Tickets(ctx context.Context, portal, view string, limit int) ([]Ticket, error) {
	if limit <= 0 {
		limit = 100
	}
	view = strings.ToLower(strings.TrimSpace(view))
	if view == "" {
		view = "open"
	}
	q := ""
	names := make([]string, len(ticketViews))
	for i, v := range ticketViews {
		names[i] = v.name
		if v.name == view {
			q = v.query
		}
	}
	if q == "" {
		return nil, invalid("ticket view %q is not one of %s", view, strings.Join(names, ", "))
	}
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list tickets", err)
	}
	return s.queryTickets(ctx, "list tickets", q, pid, limit)
}

// SetTicketStatus changes a ticket's status (a code of TicketStatuses),
// adds a "status: open → closed" entry to its thread and records
// "ticket.status" in the audit log. Setting the status a ticket has
// already changes nothing. actor is the agent's username, "" for "cli".
func (s *Store) SetTicketStatus(ctx context.Context, portal string, number int64, status int, actor string) (Ticket, error) {
	if err := checkCode("status", TicketStatuses[:], status); err != nil {
		return Ticket{}, err
	}
	actor = actorName(actor)
	now := s.now().UTC().Truncate(time.Millisecond)
	var t Ticket
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		if t, err = s.ticketByNumber(ctx, tx, pid, portal, number); err != nil || t.Status == status {
			return err
		}
		from, to := codeWord(TicketStatuses[:], t.Status), codeWord(TicketStatuses[:], status)
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = ?, updated_at = ? WHERE id = ?`, status, millis(now), t.ID); err != nil {
			return err
		}
		if err := addThreadEntry(ctx, tx, t.ID, ThreadStatus, 0, actor, "status: "+from+" → "+to, now); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, portal, actor, "ticket.status", ticketTarget(number), fmt.Sprintf("status=%q was=%q", to, from)); err != nil {
			return err
		}
		t, err = s.ticketByID(ctx, tx, t.ID)
		return err
	})
	if err != nil {
		return Ticket{}, wrap("set ticket status", err)
	}
	return t, nil
}

// AssociateChat links a chat to an existing ticket of the same portal
// (#support associate): the transcript becomes an entry of the ticket's
// thread, a flag on the chat is resolved and "ticket.associate" is
// recorded in the audit log. A ticket or chat of another portal is
// ErrNotFound, as if it did not exist; a chat that already belongs to a
// ticket is ErrExists.
func (s *Store) AssociateChat(ctx context.Context, portal string, number int64, chatID int64, transcript, actor string) (Ticket, error) {
	actor = actorName(actor)
	now := s.now().UTC().Truncate(time.Millisecond)
	var t Ticket
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		if t, err = s.ticketByNumber(ctx, tx, pid, portal, number); err != nil {
			return err
		}
		chat, err := chatToLink(ctx, tx, chatID, pid, portal)
		if err != nil {
			return err
		}
		if err := linkChatToTicket(ctx, tx, t.ID, chatID, actor, transcript, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = ? WHERE id = ?`, millis(now), t.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, portal, actor, "ticket.associate", ticketTarget(number), fmt.Sprintf("chat=#%d", chat.number)); err != nil {
			return err
		}
		t, err = s.ticketByID(ctx, tx, t.ID)
		return err
	})
	if err != nil {
		return Ticket{}, wrap("associate chat", err)
	}
	return t, nil
}

// CompleteTranscript replaces the body of the transcript entries of the
// chat (in the thread of the ticket it belongs to) with the full
// transcript; it is called when the chat ends. A chat without a ticket
// has nothing to complete.
func (s *Store) CompleteTranscript(ctx context.Context, chatID int64, transcript string) error {
	now := millis(s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ticket_threads SET body = ?, updated_at = ? WHERE chat_id = ? AND kind = 'transcript'`,
			transcript, now, chatID)
		return err
	})
	return wrap("complete transcript", err)
}

// AddTicketNote adds a note by an agent (author: the username, "" for
// "cli") to a ticket's thread and records "ticket.note" in the audit log.
// The text is required and at most TicketNoteMax characters.
func (s *Store) AddTicketNote(ctx context.Context, portal string, number int64, author, text string) error {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return invalid("the note text is required")
	case utf8.RuneCountInString(text) > TicketNoteMax:
		return invalid("the note is too long (at most %d characters)", TicketNoteMax)
	}
	author = actorName(author)
	now := s.now().UTC().Truncate(time.Millisecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		t, err := s.ticketByNumber(ctx, tx, pid, portal, number)
		if err != nil {
			return err
		}
		if err := addThreadEntry(ctx, tx, t.ID, ThreadNote, 0, author, text, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = ? WHERE id = ?`, millis(now), t.ID); err != nil {
			return err
		}
		return audit(ctx, tx, now, portal, author, "ticket.note", ticketTarget(number), "")
	})
	return wrap("add ticket note", err)
}

// ThreadEntry is one entry of a ticket's thread: a chat transcript
// (ChatNumber is the chat's visitor number; 0 if the chat is gone), a note
// or a status change.
type ThreadEntry struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"` // ThreadTranscript, ThreadNote or ThreadStatus
	ChatNumber int64     `json:"chat_number"`
	Author     string    `json:"author"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"` // a transcript's is when it was completed
}

// ticketThreadQuery is TicketThread's query, in the index (ticket_id, id).
const ticketThreadQuery = `SELECT th.id, th.kind, COALESCE(c.number, 0), th.author, th.body, th.created_at, th.updated_at
	FROM ticket_threads th LEFT JOIN chats c ON c.id = th.chat_id WHERE th.ticket_id = ? ORDER BY th.id`

// TicketThread lists a ticket's thread (Ticket.ID), oldest first.
func (s *Store) TicketThread(ctx context.Context, ticketID int64) ([]ThreadEntry, error) {
	rows, err := s.r.QueryContext(ctx, ticketThreadQuery, ticketID)
	if err != nil {
		return nil, wrap("list ticket thread", err)
	}
	defer release(rows)
	es := []ThreadEntry{}
	for rows.Next() {
		var e ThreadEntry
		var created, updated int64
		if err := rows.Scan(&e.ID, &e.Kind, &e.ChatNumber, &e.Author, &e.Body, &created, &updated); err != nil {
			return nil, wrap("list ticket thread", err)
		}
		e.CreatedAt, e.UpdatedAt = fromMillis(created), fromMillis(updated)
		es = append(es, e)
	}
	return es, wrap("list ticket thread", rows.Err())
}
