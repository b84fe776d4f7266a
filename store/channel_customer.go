package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CustomerState is what the provider told us about a customer.
type CustomerState string

// The customer states: ok, or customer_blocked (they blocked or
// unfollowed the account: nothing can be sent to them).
const (
	CustomerOK      CustomerState = "ok"
	CustomerBlocked CustomerState = "customer_blocked"
)

// ChannelCustomer is one provider user of one channel. Blocked is an
// agent's #b (their messages are kept, not offered); State is the
// provider's word.
type ChannelCustomer struct {
	ID            int64         `json:"id"`
	ChannelID     int64         `json:"-"`
	ProviderID    string        `json:"provider_id"`
	VisitorID     int64         `json:"visitor_id"`
	Name          string        `json:"name"`
	Phone         string        `json:"phone"`
	State         CustomerState `json:"state"`
	Blocked       bool          `json:"blocked"`
	BlockedBy     string        `json:"blocked_by,omitempty"`
	BlockedReason string        `json:"blocked_reason,omitempty"`
	LastInboundAt *time.Time    `json:"last_inbound_at,omitempty"`
	ReplyToken    string        `json:"-"`
	ReplyTokenAt  *time.Time    `json:"-"`
	CreatedAt     time.Time     `json:"created_at"`
}

// WindowOpen reports whether free-form messages may go to the customer
// at now on a channel of type t (ChannelType.ReplyWindow).
func (c ChannelCustomer) WindowOpen(t ChannelType, now time.Time) bool {
	w := t.ReplyWindow()
	if w == 0 {
		return true
	}
	return c.LastInboundAt != nil && now.Sub(*c.LastInboundAt) < w
}

// InboundAttachment is a file a customer sent, as the provider refers to
// it, and what became of fetching it into the upload store before the
// message is delivered (SetInboundAttachment): Upload once it is kept,
// FetchError once it cannot be, FetchFailures while it failed for now.
type InboundAttachment struct {
	Ref      string `json:"ref"`            // the provider's id or URL of the file
	Kind     string `json:"kind"`           // image, video, audio, file, sticker, location
	MIME     string `json:"mime,omitempty"` // when the provider says
	FileName string `json:"file_name,omitempty"`
	Size     int64  `json:"size,omitempty"`

	Upload        *KeptFile `json:"upload,omitempty"`
	FetchError    string    `json:"fetch_error,omitempty"`
	FetchFailures int       `json:"fetch_failures,omitempty"`
}

// Settled reports whether nothing more is to be done about fetching the
// file: it is kept, or it cannot be.
func (a InboundAttachment) Settled() bool { return a.Upload != nil || a.FetchError != "" }

// InboundMessage is a customer's message as a webhook carried it.
type InboundMessage struct {
	ProviderMessageID string              `json:"provider_message_id"`
	CustomerID        string              `json:"customer_id"` // the provider's user id
	Name              string              `json:"name,omitempty"`
	Phone             string              `json:"phone,omitempty"`
	Text              string              `json:"text,omitempty"`
	Attachments       []InboundAttachment `json:"attachments,omitempty"`
	ReplyToken        string              `json:"-"` // LINE; kept on the customer
	At                time.Time           `json:"at"`
}

// Inbound is a stored customer message: ChatID is set once it reached a
// chat.
type Inbound struct {
	ID         int64
	ChannelID  int64
	Customer   ChannelCustomer
	Message    InboundMessage
	ReceivedAt time.Time
	ChatID     int64 // 0 until delivered
}

// Limits of what is kept of an inbound message.
const (
	inboundTextMax        = 4096 // characters, like a visitor's message
	inboundAttachmentsMax = 10
	customerNameMax       = VisitorNameMax
)

// StoreInbound keeps a customer's message, once: a second delivery of the
// same provider message id reports duplicate and changes nothing. The
// customer is created on their first message (with a visitor record that
// stands for them in chats) and their name, phone, window and LINE reply
// token are brought up to date.
func (s *Store) StoreInbound(ctx context.Context, channelID int64, m InboundMessage) (in Inbound, duplicate bool, err error) {
	if m.ProviderMessageID == "" || m.CustomerID == "" {
		return Inbound{}, false, invalid("an inbound message needs the provider's message id and user id")
	}
	m.Text = truncateRunes(strings.ToValidUTF8(m.Text, "\uFFFD"), inboundTextMax)
	m.Name = truncateRunes(singleLine(m.Name), customerNameMax)
	m.Phone = truncateRunes(singleLine(m.Phone), 32)
	if len(m.Attachments) > inboundAttachmentsMax {
		m.Attachments = m.Attachments[:inboundAttachmentsMax]
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if m.At.IsZero() {
		m.At = now
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return Inbound{}, false, fmt.Errorf("store: store inbound: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM channel_inbound WHERE channel_id = ? AND provider_message_id = ?`,
			channelID, m.ProviderMessageID).Scan(&id)
		if err == nil {
			duplicate = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		cust, err := upsertCustomer(ctx, tx, channelID, m, now)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO channel_inbound (channel_id, customer_id, provider_message_id, payload, received_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, channelID, cust.ID, m.ProviderMessageID, string(payload), millis(now)).Scan(&id)
		in = Inbound{ID: id, ChannelID: channelID, Customer: cust, Message: m, ReceivedAt: now}
		return err
	})
	if err != nil {
		return Inbound{}, false, wrap("store inbound", err)
	}
	return in, duplicate, nil
}

// upsertCustomer finds or creates the customer of an inbound message and
// records what it says of them.
func upsertCustomer(ctx context.Context, tx *sql.Tx, channelID int64, m InboundMessage, now time.Time) (ChannelCustomer, error) {
	c, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM channel_customers WHERE channel_id = ? AND provider_id = ?`,
		channelID, m.CustomerID))
	if errors.Is(err, sql.ErrNoRows) {
		name := m.Name
		if name == "" {
			name = "Customer " + lastDigits(m.CustomerID)
		}
		var portalID int64
		if err := tx.QueryRowContext(ctx, `SELECT portal_id FROM channels WHERE id = ?`, channelID).Scan(&portalID); err != nil {
			return ChannelCustomer{}, err
		}
		visitorID, _, err := upsertVisitor(ctx, tx, portalID, name, "", m.Phone, now)
		if err != nil {
			return ChannelCustomer{}, err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO channel_customers (channel_id, provider_id, visitor_id, name, phone, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+customerColumns, channelID, m.CustomerID, visitorID, name, m.Phone, millis(now)).Scan(customerFields(&c)...)
		if err != nil {
			return ChannelCustomer{}, err
		}
	} else if err != nil {
		return ChannelCustomer{}, err
	}
	if m.Name != "" {
		c.Name = m.Name
	}
	if m.Phone != "" {
		c.Phone = m.Phone
	}
	at := millis(m.At)
	var token, tokenAt any = c.ReplyToken, nil
	if c.ReplyTokenAt != nil {
		tokenAt = millis(*c.ReplyTokenAt)
	}
	if m.ReplyToken != "" {
		token, tokenAt = m.ReplyToken, at
		c.ReplyToken, c.ReplyTokenAt = m.ReplyToken, &m.At
	}
	if c.LastInboundAt == nil || m.At.After(*c.LastInboundAt) {
		c.LastInboundAt = &m.At
	}
	// A customer who writes is no longer blocking us (LINE: follow
	// comes first; others: they could not write otherwise).
	c.State = CustomerOK
	_, err = tx.ExecContext(ctx, `UPDATE channel_customers SET name = ?, phone = ?, state = 'ok',
		last_inbound_at = max(coalesce(last_inbound_at, 0), ?), reply_token = ?, reply_token_at = ? WHERE id = ?`,
		c.Name, c.Phone, at, token, tokenAt, c.ID)
	if err != nil {
		return ChannelCustomer{}, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE visitors SET name = ?, phone = CASE WHEN ? <> '' THEN ? ELSE phone END,
		last_seen_at = max(last_seen_at, ?) WHERE id = ?`, c.Name, c.Phone, c.Phone, millis(now), c.VisitorID)
	return c, err
}

// lastDigits is the end of a provider id, to name a customer who gave no
// name.
func lastDigits(id string) string {
	if len(id) > 4 {
		return id[len(id)-4:]
	}
	return id
}

// singleLine folds line breaks and tabs to spaces.
func singleLine(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "\uFFFD"), func(r rune) bool {
		return r == '\n' || r == '\r' || r == '\t'
	}), " ")
}

const customerColumns = `id, channel_id, provider_id, visitor_id, name, phone, state, blocked, blocked_by, blocked_reason,
	last_inbound_at, reply_token, reply_token_at, created_at`

// customerFields are the scan targets of customerColumns.
func customerFields(c *ChannelCustomer) []any {
	return []any{&c.ID, &c.ChannelID, &c.ProviderID, &c.VisitorID, &c.Name, &c.Phone, &c.State, &c.Blocked, &c.BlockedBy, &c.BlockedReason,
		optTimeInto(&c.LastInboundAt), &c.ReplyToken, optTimeInto(&c.ReplyTokenAt), timeInto(&c.CreatedAt)}
}

func scanCustomer(row scanner) (ChannelCustomer, error) {
	var c ChannelCustomer
	err := row.Scan(customerFields(&c)...)
	return c, err
}

// nullTime scans a nullable millisecond time into a *time.Time.
type nullTime struct{ dst **time.Time }

func optTimeInto(dst **time.Time) any { return nullTime{dst} }

func (n nullTime) Scan(v any) error {
	var ms sql.NullInt64
	if err := ms.Scan(v); err != nil {
		return err
	}
	*n.dst = optTime(ms)
	return nil
}

// msTime scans a millisecond time into a time.Time.
type msTime struct{ dst *time.Time }

func timeInto(dst *time.Time) any { return msTime{dst} }

func (m msTime) Scan(v any) error {
	var ms sql.NullInt64
	if err := ms.Scan(v); err != nil {
		return err
	}
	*m.dst = fromMillis(ms.Int64)
	return nil
}

// SetCustomerName records a customer's name from the provider's profile
// (for providers whose messages carry none), on their visitor record too.
func (s *Store) SetCustomerName(ctx context.Context, id int64, name string) error {
	name = truncateRunes(singleLine(name), customerNameMax)
	if name == "" {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var visitorID int64
		err := tx.QueryRowContext(ctx, `UPDATE channel_customers SET name = ? WHERE id = ? RETURNING visitor_id`, name, id).Scan(&visitorID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no customer %d", id)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE visitors SET name = ? WHERE id = ?`, name, visitorID)
		return err
	})
	return wrap("set customer name", err)
}

// Customer returns a customer by id.
func (s *Store) Customer(ctx context.Context, id int64) (ChannelCustomer, error) {
	c, err := scanCustomer(s.r.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM channel_customers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ChannelCustomer{}, notFound("no customer %d", id)
	}
	return c, wrap("read customer", err)
}

// CustomerByProviderID returns a channel's customer by the provider's
// user id.
func (s *Store) CustomerByProviderID(ctx context.Context, channelID int64, providerID string) (ChannelCustomer, error) {
	c, err := scanCustomer(s.r.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM channel_customers WHERE channel_id = ? AND provider_id = ?`,
		channelID, providerID))
	if errors.Is(err, sql.ErrNoRows) {
		return ChannelCustomer{}, notFound("no customer %q on channel %d", providerID, channelID)
	}
	return c, wrap("read customer", err)
}

// SetCustomerState records what the provider said of a customer (LINE
// follow and unfollow, a send refused because they blocked us). It
// reports whether the state changed.
func (s *Store) SetCustomerState(ctx context.Context, channelID int64, providerID string, st CustomerState) (changed bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channel_customers SET state = ? WHERE channel_id = ? AND provider_id = ? AND state <> ?`,
			st, channelID, providerID, st)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n > 0
		return err
	})
	return changed, wrap("set customer state", err)
}

// BlockCustomer is #b on a channel chat: the customer's later messages are
// kept but start no chat. Unblocking is reason "" and by "".
func (s *Store) BlockCustomer(ctx context.Context, id int64, blocked bool, by, reason string) error {
	reason = truncateRunes(singleLine(reason), 200)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channel_customers SET blocked = ?, blocked_by = ?, blocked_reason = ? WHERE id = ?`,
			blocked, by, reason, id)
		return oneRow(res, err, notFound("no customer %d", id))
	})
	return wrap("block customer", err)
}

// TakeReplyToken returns the customer's LINE reply token if it was
// received after notBefore, and forgets it: a reply token is good for one
// reply.
func (s *Store) TakeReplyToken(ctx context.Context, customerID int64, notBefore time.Time) (string, error) {
	var token string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT reply_token FROM channel_customers
			WHERE id = ? AND reply_token <> '' AND reply_token_at >= ?`, customerID, millis(notBefore)).Scan(&token)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE channel_customers SET reply_token = '', reply_token_at = NULL WHERE id = ?`, customerID)
		return err
	})
	return token, wrap("take reply token", err)
}

// ErrDelivered: the customer's message already reached a chat (it is
// being delivered a second time after a crash); nothing was changed.
var ErrDelivered = errors.New("store: the inbound message was already delivered")

// markDelivered records, inside the transaction that shows it in chat
// chatID, that inbound message id reached it (nothing for id 0).
func markDelivered(ctx context.Context, tx *sql.Tx, id, chatID int64, at time.Time) error {
	if id == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE channel_inbound SET chat_id = ?, delivered_at = ? WHERE id = ? AND delivered_at IS NULL`,
		chatID, millis(at), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(ErrDelivered, err)
	}
	return nil
}

// customerVisitor fills the visitor of a channel customer's new chat.
func customerVisitor(ctx context.Context, tx *sql.Tx, n NewChat, c *Chat) error {
	err := tx.QueryRowContext(ctx, `SELECT cu.visitor_id, cu.name, cu.phone, cu.provider_id, ch.name, ch.type
		FROM channel_customers cu JOIN channels ch ON ch.id = cu.channel_id WHERE cu.id = ? AND cu.channel_id = ?`,
		n.CustomerID, n.ChannelID).Scan(&c.VisitorID, &c.VisitorName, &c.VisitorPhone, &c.CustomerProviderID, &c.Channel, &c.ChannelType)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("no customer %d on channel %d", n.CustomerID, n.ChannelID)
	}
	c.ChannelID, c.CustomerID = n.ChannelID, n.CustomerID
	return err
}

// PendingInbound lists stored customer messages that have not reached a
// chat yet (after a crash, or while their chat could not start), oldest
// first.
func (s *Store) PendingInbound(ctx context.Context, limit int) ([]Inbound, error) {
	rows, err := s.r.QueryContext(ctx, inboundSelect+` WHERE i.delivered_at IS NULL ORDER BY i.id LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("list pending inbound", err)
	}
	defer release(rows)
	var out []Inbound
	for rows.Next() {
		in, err := scanInbound(rows)
		if err != nil {
			return nil, wrap("list pending inbound", err)
		}
		out = append(out, in)
	}
	return out, wrap("list pending inbound", rows.Err())
}

// InboundByID reads a stored customer message with its customer as they
// are now.
func (s *Store) InboundByID(ctx context.Context, id int64) (Inbound, error) {
	in, err := scanInbound(s.r.QueryRowContext(ctx, inboundSelect+` WHERE i.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Inbound{}, notFound("no stored customer message %d", id)
	}
	return in, wrap("read inbound", err)
}

// inboundSelect reads stored customer messages (alias i) with their
// customers (cu), for scanInbound.
var inboundSelect = `SELECT i.id, i.channel_id, i.payload, i.received_at, ` + prefixed("cu.", customerColumns) + `
	FROM channel_inbound i JOIN channel_customers cu ON cu.id = i.customer_id`

func scanInbound(row scanner) (Inbound, error) {
	var in Inbound
	var payload string
	dst := append([]any{&in.ID, &in.ChannelID, &payload, timeInto(&in.ReceivedAt)}, customerFields(&in.Customer)...)
	if err := row.Scan(dst...); err != nil {
		return Inbound{}, err
	}
	if err := json.Unmarshal([]byte(payload), &in.Message); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// prefixed qualifies each column of a comma-separated list.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// LiveChatOfCustomer returns the customer's live chat, if any.
func (s *Store) LiveChatOfCustomer(ctx context.Context, customerID int64) (Chat, bool, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+`
		WHERE c.customer_id = ? AND c.status IN ('waiting', 'offered', 'active') ORDER BY c.id DESC LIMIT 1`, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, false, nil
	}
	if err != nil {
		return Chat{}, false, wrap("read live chat of customer", err)
	}
	return c, true, nil
}

// LastChatOfCustomer returns the customer's latest chat, live or not;
// ok is false when they have none.
func (s *Store) LastChatOfCustomer(ctx context.Context, customerID int64) (Chat, bool, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+`
		WHERE c.customer_id = ? ORDER BY c.id DESC LIMIT 1`, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, false, nil
	}
	if err != nil {
		return Chat{}, false, wrap("read last chat of customer", err)
	}
	return c, true, nil
}

// BlockedChatOfCustomer returns the customer's latest chat that ended
// because they are blocked: where their later messages are kept, not
// offered.
func (s *Store) BlockedChatOfCustomer(ctx context.Context, customerID int64) (Chat, bool, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatColumns+chatFrom+`
		WHERE c.customer_id = ? AND c.status = 'ended' AND c.end_reason = ? ORDER BY c.id DESC LIMIT 1`, customerID, EndBlocked))
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, false, nil
	}
	if err != nil {
		return Chat{}, false, wrap("read blocked chat of customer", err)
	}
	return c, true, nil
}
