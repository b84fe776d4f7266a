package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OutboundKind is what an outbound message carries.
type OutboundKind string

// The kinds of outbound messages.
const (
	OutboundKindText     OutboundKind = "text"
	OutboundKindFile     OutboundKind = "file"
	OutboundKindTemplate OutboundKind = "template"
)

// OutboundState is where an outbound message is: pending until sent or
// given up.
type OutboundState string

// The outbound states.
const (
	OutboundPending OutboundState = "pending"
	OutboundSent    OutboundState = "sent"
	OutboundFailed  OutboundState = "failed"
)

// OutboundPayload is what an outbound message says: Text alone, a File
// (with Text as its caption), or a Template with its arguments. Text
// alone may offer QuickReplies, answers the customer can tap where the
// provider has them.
type OutboundPayload struct {
	Text         string            `json:"text,omitempty"`
	File         *OutboundFile     `json:"file,omitempty"`
	Template     *OutboundTemplate `json:"template,omitempty"`
	QuickReplies []string          `json:"quick_replies,omitempty"`
}

// OutboundFile is a file of the upload store, by its public URL.
type OutboundFile struct {
	URL  string `json:"url"`
	Name string `json:"name,omitempty"`
	MIME string `json:"mime,omitempty"`
}

// OutboundTemplate is a WhatsApp template with its arguments in order.
type OutboundTemplate struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Args     []string `json:"args,omitempty"`
}

// Kind is the kind of message the payload makes.
func (p OutboundPayload) Kind() OutboundKind {
	switch {
	case p.Template != nil:
		return OutboundKindTemplate
	case p.File != nil:
		return OutboundKindFile
	}
	return OutboundKindText
}

// Flight says whether a message is being sent, and whether the attempt
// could be repeated without the customer getting it twice.
type Flight int

// The flights of a message.
const (
	NotInFlight Flight = iota
	// InFlightRepeatable: the provider recognises a repeat of this
	// attempt (LINE's push with X-Line-Retry-Key).
	InFlightRepeatable
	// InFlightOnce: a repeat would deliver the message again.
	InFlightOnce
)

// Outbound is an agent's message to a channel customer in the queue.
// SendKey is the same on every attempt: the idempotency key providers
// that have one (LINE's X-Line-Retry-Key) recognise.
type Outbound struct {
	ID                int64           `json:"id"`
	ChannelID         int64           `json:"channel_id"`
	CustomerID        int64           `json:"customer_id"`
	ChatID            int64           `json:"chat_id"`
	Kind              OutboundKind    `json:"kind"` // Payload.Kind(), set when queued
	Payload           OutboundPayload `json:"payload"`
	SendKey           string          `json:"send_key"`
	State             OutboundState   `json:"state"`
	Attempts          int             `json:"attempts"`
	InFlight          Flight          `json:"in_flight"`
	NextAttemptAt     time.Time       `json:"next_attempt_at"`
	LastError         string          `json:"last_error,omitempty"`
	ProviderMessageID string          `json:"provider_message_id,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
	DoneAt            *time.Time      `json:"done_at,omitempty"`
}

// newSendKey is a random UUID (version 4), the form LINE requires for
// X-Line-Retry-Key.
func newSendKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// EnqueueOutbound stores an agent's message for sending, due now; it
// returns the row with its id and send key. A message an agent wrote in a
// chat goes in with its chat event instead (ChatEvent.Outbound).
func (s *Store) EnqueueOutbound(ctx context.Context, o Outbound) (Outbound, error) {
	if err := checkOutbound(o); err != nil {
		return Outbound{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		o, err = insertOutbound(ctx, tx, o, now)
		return err
	})
	if err != nil {
		return Outbound{}, wrap("enqueue outbound", err)
	}
	return o, nil
}

func checkOutbound(o Outbound) error {
	p := o.Payload
	switch {
	case p.Template != nil && (p.File != nil || p.Text != ""):
		return invalid("an outbound template goes alone")
	case p.Template != nil && (p.Template.Name == "" || p.Template.Language == ""):
		return invalid("an outbound template needs its name and language")
	case p.File != nil && p.File.URL == "":
		return invalid("an outbound file needs its URL")
	case p.Template == nil && p.File == nil && strings.TrimSpace(p.Text) == "":
		return invalid("an outbound message is empty")
	case len(p.QuickReplies) > 0 && (p.File != nil || p.Template != nil):
		return invalid("quick replies go with a text message only")
	case o.ChannelID == 0 || o.CustomerID == 0:
		return invalid("an outbound message needs its channel and customer")
	}
	return nil
}

// insertOutbound adds a pending row due at now, with a new send key.
func insertOutbound(ctx context.Context, tx *sql.Tx, o Outbound, now time.Time) (Outbound, error) {
	key, err := newSendKey()
	if err != nil {
		return Outbound{}, err
	}
	payload, err := json.Marshal(o.Payload)
	if err != nil {
		return Outbound{}, err
	}
	o.Kind = o.Payload.Kind()
	o.SendKey, o.State, o.Attempts, o.InFlight, o.NextAttemptAt, o.CreatedAt, o.DoneAt = key, OutboundPending, 0, NotInFlight, now, now, nil
	var chatID any
	if o.ChatID != 0 {
		chatID = o.ChatID
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO channel_outbound
		(channel_id, customer_id, chat_id, kind, payload, send_key, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		o.ChannelID, o.CustomerID, chatID, o.Kind, string(payload), o.SendKey, millis(now), millis(now)).Scan(&o.ID)
	return o, err
}

const outboundColumns = `id, channel_id, customer_id, coalesce(chat_id, 0), kind, payload, send_key, state, attempts, in_flight,
	next_attempt_at, last_error, provider_message_id, created_at, done_at`

func scanOutbound(row scanner) (Outbound, error) {
	var o Outbound
	var payload string
	err := row.Scan(&o.ID, &o.ChannelID, &o.CustomerID, &o.ChatID, &o.Kind, &payload, &o.SendKey, &o.State, &o.Attempts, &o.InFlight,
		timeInto(&o.NextAttemptAt), &o.LastError, &o.ProviderMessageID, timeInto(&o.CreatedAt), optTimeInto(&o.DoneAt))
	if err != nil {
		return Outbound{}, err
	}
	if err := json.Unmarshal([]byte(payload), &o.Payload); err != nil {
		return Outbound{}, fmt.Errorf("outbound %d: stored payload: %w", o.ID, err)
	}
	return o, nil
}

// DueOutbound lists the messages to attempt at now: for each customer
// the oldest pending one (so each chat's messages go in order), if it is
// due and not in flight; at most limit, oldest first. Messages of the
// channels in skip are left out (a sender with no room for more of
// theirs need not read them).
func (s *Store) DueOutbound(ctx context.Context, now time.Time, limit int, skip ...int64) ([]Outbound, error) {
	args := []any{millis(now)}
	except := ""
	if len(skip) > 0 {
		except = " AND o.channel_id NOT IN (?" + strings.Repeat(", ?", len(skip)-1) + ")"
		for _, id := range skip {
			args = append(args, id)
		}
	}
	return s.outboundRows(ctx, "list due outbound", `SELECT `+outboundColumns+` FROM channel_outbound o
		WHERE state = 'pending' AND next_attempt_at <= ? AND in_flight = 0`+except+`
		AND id = (SELECT min(id) FROM channel_outbound p WHERE p.customer_id = o.customer_id AND p.state = 'pending')
		ORDER BY next_attempt_at, id LIMIT ?`, append(args, limit)...)
}

// InFlightOutbound lists the messages that were being sent when the
// server stopped: each may or may not have reached the provider.
func (s *Store) InFlightOutbound(ctx context.Context) ([]Outbound, error) {
	return s.outboundRows(ctx, "list outbound in flight", `SELECT `+outboundColumns+` FROM channel_outbound
		WHERE state = 'pending' AND in_flight <> 0 ORDER BY id`)
}

func (s *Store) outboundRows(ctx context.Context, op, q string, args ...any) ([]Outbound, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer release(rows)
	var out []Outbound
	for rows.Next() {
		o, err := scanOutbound(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, o)
	}
	return out, wrap(op, rows.Err())
}

// OutboundInFlight marks a message as being sent now (f is how), or as
// not any more without an outcome (NotInFlight: a row found in flight
// after a crash that can safely be sent again; the attempt is counted).
func (s *Store) OutboundInFlight(ctx context.Context, id int64, f Flight) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channel_outbound SET in_flight = ?,
			attempts = attempts + CASE WHEN ? = 0 AND in_flight <> 0 THEN 1 ELSE 0 END WHERE id = ? AND state = 'pending'`, f, f, id)
		return oneRow(res, err, notFound("no pending outbound message %d", id))
	})
	return wrap("outbound in flight", err)
}

// OutboundByProviderID finds a sent message by the provider's id for it
// (a delivery status names it).
func (s *Store) OutboundByProviderID(ctx context.Context, channelID int64, providerMessageID string) (Outbound, error) {
	o, err := scanOutbound(s.r.QueryRowContext(ctx, `SELECT `+outboundColumns+` FROM channel_outbound
		WHERE channel_id = ? AND provider_message_id = ? AND provider_message_id <> ''`, channelID, providerMessageID))
	if errors.Is(err, sql.ErrNoRows) {
		return Outbound{}, notFound("no outbound message %q", providerMessageID)
	}
	return o, wrap("read outbound", err)
}

// NextOutboundAt is when the next message DueOutbound would list is due:
// the earliest of each customer's oldest pending message not in flight
// (ok false: none).
func (s *Store) NextOutboundAt(ctx context.Context) (at time.Time, ok bool, err error) {
	var ms sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM channel_outbound o
		WHERE state = 'pending' AND in_flight = 0
		AND id = (SELECT min(id) FROM channel_outbound p WHERE p.customer_id = o.customer_id AND p.state = 'pending')`).Scan(&ms)
	if err != nil || !ms.Valid {
		return time.Time{}, false, wrap("next outbound", err)
	}
	return fromMillis(ms.Int64), true, nil
}

// Outbound returns a queued message by id.
func (s *Store) Outbound(ctx context.Context, id int64) (Outbound, error) {
	o, err := scanOutbound(s.r.QueryRowContext(ctx, `SELECT `+outboundColumns+` FROM channel_outbound WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Outbound{}, notFound("no outbound message %d", id)
	}
	return o, wrap("read outbound", err)
}

// OutboundSent records that the provider took the message.
func (s *Store) OutboundSent(ctx context.Context, id int64, providerMessageID string) error {
	return s.finishOutbound(ctx, "outbound sent", id, OutboundSent, "", providerMessageID)
}

// OutboundFailed gives a message up, with why (shown to the agent).
func (s *Store) OutboundFailed(ctx context.Context, id int64, why string) error {
	return s.finishOutbound(ctx, "outbound failed", id, OutboundFailed, why, "")
}

func (s *Store) finishOutbound(ctx context.Context, op string, id int64, st OutboundState, why, providerID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channel_outbound SET state = ?, attempts = attempts + 1, in_flight = 0, last_error = ?,
			provider_message_id = ?, done_at = ? WHERE id = ? AND state = 'pending'`,
			st, truncateRunes(why, 500), providerID, millis(s.now()), id)
		return oneRow(res, err, notFound("no pending outbound message %d", id))
	})
	return wrap(op, err)
}

// OutboundRetry counts a failed attempt and sets when to try again.
func (s *Store) OutboundRetry(ctx context.Context, id int64, next time.Time, why string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channel_outbound SET attempts = attempts + 1, in_flight = 0, last_error = ?, next_attempt_at = ?
			WHERE id = ? AND state = 'pending'`, truncateRunes(why, 500), millis(next), id)
		return oneRow(res, err, notFound("no pending outbound message %d", id))
	})
	return wrap("outbound retry", err)
}

// TemplateStatus is Meta's review state of a template.
type TemplateStatus string

// The template statuses; only approved templates are sent.
const (
	TemplateApproved TemplateStatus = "approved"
	TemplatePending  TemplateStatus = "pending"
	TemplateRejected TemplateStatus = "rejected"
)

// ParseTemplateStatus accepts a status name in any case.
func ParseTemplateStatus(s string) (TemplateStatus, error) {
	switch t := TemplateStatus(strings.ToLower(s)); t {
	case TemplateApproved, TemplatePending, TemplateRejected:
		return t, nil
	}
	return "", invalid("template status %q is not approved, pending or rejected", s)
}

// Template is a WhatsApp message template of a channel.
type Template struct {
	Channel   string         `json:"channel"`
	Name      string         `json:"name"`
	Language  string         `json:"language"`
	Body      string         `json:"body"`
	Status    TemplateStatus `json:"status"`
	CreatedAt time.Time      `json:"created_at"`
}

// Placeholders is the number of {{1}}, {{2}}… placeholders of the body:
// the highest number used.
func (t Template) Placeholders() int {
	n := 0
	for rest := t.Body; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return n
		}
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return n
		}
		var k int
		if _, err := fmt.Sscanf(rest[:j], "%d", &k); err == nil && k > n && fmt.Sprint(k) == rest[:j] {
			n = k
		}
		rest = rest[j+2:]
	}
}

// Fill puts args into the body's placeholders, in order, in one pass:
// an argument that looks like a placeholder stays as it is.
func (t Template) Fill(args []string) string {
	pairs := make([]string, 0, 2*len(args))
	for i, a := range args {
		pairs = append(pairs, fmt.Sprintf("{{%d}}", i+1), a)
	}
	return strings.NewReplacer(pairs...).Replace(t.Body)
}

var templateNameOK = func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' }

// AddTemplate records a template of a channel (name: lowercase letters,
// digits and _, as Meta requires; language: a code like en_US).
func (s *Store) AddTemplate(ctx context.Context, portal, channel string, t Template, actor string) (Template, error) {
	if t.Name == "" || len(t.Name) > 512 || strings.IndexFunc(t.Name, func(r rune) bool { return !templateNameOK(r) }) >= 0 {
		return Template{}, invalid("template name %q is not valid: lowercase letters, digits and _", t.Name)
	}
	if t.Language == "" || len(t.Language) > 16 {
		return Template{}, invalid("template language %q is not valid: a code such as en or en_US", t.Language)
	}
	if strings.TrimSpace(t.Body) == "" || len(t.Body) > 1024 {
		return Template{}, invalid("template body must have 1 to 1024 characters")
	}
	if t.Status == "" {
		t.Status = TemplateApproved
	}
	if _, err := ParseTemplateStatus(string(t.Status)); err != nil {
		return Template{}, err
	}
	c, err := s.Channel(ctx, portal, channel)
	if err != nil {
		return Template{}, err
	}
	t.Channel, t.CreatedAt = c.Name, s.now().UTC().Truncate(time.Millisecond)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO channel_templates (channel_id, name, language, body, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, c.ID, t.Name, t.Language, t.Body, t.Status, millis(t.CreatedAt))
		if isUnique(err) {
			return exists("template %s (%s) already exists on channel %s", t.Name, t.Language, c.Name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, t.CreatedAt, portal, actor, "template.add", c.Name+"/"+t.Name, t.Language)
	})
	if err != nil {
		return Template{}, wrap("add template", err)
	}
	return t, nil
}

// Templates lists a channel's templates by name and language.
func (s *Store) Templates(ctx context.Context, channelID int64) ([]Template, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ch.name, t.name, t.language, t.body, t.status, t.created_at
		FROM channel_templates t JOIN channels ch ON ch.id = t.channel_id WHERE t.channel_id = ? ORDER BY t.name, t.language`, channelID)
	if err != nil {
		return nil, wrap("list templates", err)
	}
	defer release(rows)
	out := []Template{}
	for rows.Next() {
		var t Template
		if err := rows.Scan(&t.Channel, &t.Name, &t.Language, &t.Body, &t.Status, timeInto(&t.CreatedAt)); err != nil {
			return nil, wrap("list templates", err)
		}
		out = append(out, t)
	}
	return out, wrap("list templates", rows.Err())
}

// RemoveTemplate deletes a template; language "" removes every language
// of the name.
func (s *Store) RemoveTemplate(ctx context.Context, portal, channel, name, language, actor string) error {
	c, err := s.Channel(ctx, portal, channel)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM channel_templates WHERE channel_id = ? AND name = ? AND (? = '' OR language = ?)`,
			c.ID, name, language, language)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("template %q does not exist on channel %s", name, c.Name)
		}
		return audit(ctx, tx, s.now(), portal, actor, "template.remove", c.Name+"/"+name, language)
	})
	return wrap("remove template", err)
}
