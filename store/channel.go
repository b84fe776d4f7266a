package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// ChannelType is the provider a channel speaks to.
type ChannelType string

// The channel types (docs/CHANNELS.md).
const (
	ChannelTelegram  ChannelType = "telegram"
	ChannelWhatsApp  ChannelType = "whatsapp"
	ChannelLINE      ChannelType = "line"
	ChannelMessenger ChannelType = "messenger"
	ChannelInstagram ChannelType = "instagram"
)

// ChannelTypes lists the types in the order the CLI shows them.
var channelTypes = []ChannelType{ChannelTelegram, ChannelWhatsApp, ChannelLINE, ChannelMessenger, ChannelInstagram}

// ParseChannelType accepts a type name in any case.
func ParseChannelType(s string) (ChannelType, error) {
	for _, t := range channelTypes {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	names := make([]string, len(channelTypes))
	for i, t := range channelTypes {
		names[i] = string(t)
	}
	return "", invalid("channel type %q is not one of %s", s, strings.Join(names, ", "))
}

// ReplyWindow is how long after a customer's last message the provider
// lets us write to them freely (WhatsApp, Messenger and Instagram: 24
// hours; after it only templates); 0 means no limit.
func (t ChannelType) ReplyWindow() time.Duration {
	switch t {
	case ChannelWhatsApp, ChannelMessenger, ChannelInstagram:
		return 24 * time.Hour
	}
	return 0
}

// Title is the provider's name as people write it ("WhatsApp").
func (t ChannelType) Title() string {
	switch t {
	case ChannelWhatsApp:
		return "WhatsApp"
	case ChannelTelegram:
		return "Telegram"
	case ChannelLINE:
		return "LINE"
	case ChannelMessenger:
		return "Messenger"
	case ChannelInstagram:
		return "Instagram"
	}
	return string(t)
}

// HasTemplates reports whether the provider sends templates outside the
// reply window (WhatsApp).
func (t ChannelType) HasTemplates() bool { return t == ChannelWhatsApp }

// ChannelStatus is what the last answer of the provider left a channel
// in; a disabled channel is Channel.Disabled, whatever its status.
type ChannelStatus string

// The channel statuses.
const (
	ChannelOK            ChannelStatus = "ok"
	ChannelTokenExpired  ChannelStatus = "token_expired"
	ChannelRateLimited   ChannelStatus = "rate_limited"
	ChannelProviderError ChannelStatus = "provider_error"
)

// ChannelNameMax is the longest channel name.
const ChannelNameMax = 40

// Channel is a portal's account with a provider. Secrets are the
// provider's tokens and keys: they never appear in JSON, logs or errors.
type Channel struct {
	ID         int64             `json:"-"`
	PublicID   string            `json:"id"` // in the webhook path /hooks/{id}
	Portal     string            `json:"portal"`
	Name       string            `json:"name"`
	Type       ChannelType       `json:"type"`
	Department string            `json:"department"`
	APIBase    string            `json:"api_base"` // "" for the provider's own
	Secrets    map[string]string `json:"-"`
	Disabled   bool              `json:"disabled"`

	Status       ChannelStatus `json:"status"`
	StatusDetail string        `json:"status_detail"`
	StatusUntil  *time.Time    `json:"status_until,omitempty"` // rate_limited: until when
	StatusAt     *time.Time    `json:"status_at,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
}

// SecretNames are the names of the channel's secrets, sorted, for
// showing which are set without showing them.
func (c Channel) SecretNames() []string {
	names := make([]string, 0, len(c.Secrets))
	for k := range c.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// NewChannel is what AddChannel needs.
type NewChannel struct {
	Portal     string
	Name       string
	Type       ChannelType
	Department string // "" for none
	APIBase    string // "" for the provider's own
	Secrets    map[string]string
}

// ChannelUpdate changes what is not nil.
type ChannelUpdate struct {
	Department *string // "" for none
	APIBase    *string
	Secrets    map[string]string // replaces the named secrets; "" removes one
	Disabled   *bool
}

// ValidateChannelName checks a channel name: 1 to ChannelNameMax ASCII
// letters, digits, "-", "_" and ".", so that agents can type it after a
// command (#chats mine whatsapp-sales), and none of the other words #chats
// takes there (a view, replied, unreplied, web).
func ValidateChannelName(name string) error {
	if name == "" || len(name) > ChannelNameMax {
		return invalid("channel name %q is not valid: use 1 to %d letters, digits, -, _ and .", name, ChannelNameMax)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return invalid("channel name %q is not valid: use 1 to %d letters, digits, -, _ and .", name, ChannelNameMax)
		}
	}
	_, notView := ParseChatView(name)
	if notView == nil || strings.EqualFold(name, string(Replied)) || strings.EqualFold(name, string(Unreplied)) || strings.EqualFold(name, WebChannel) {
		return invalid("channel name %q is a word of #chats (%s, replied, unreplied, %s): choose another", name, strings.Join(ChatViews(), ", "), WebChannel)
	}
	return nil
}

// validateAPIBase accepts "" or an http(s) URL with a host.
func validateAPIBase(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return invalid("api base %q is not an http or https URL with a host", s)
	}
	return nil
}

func validateSecrets(m map[string]string) error {
	if len(m) > 16 {
		return invalid("too many secrets (at most 16)")
	}
	for k, v := range m {
		if k == "" || len(k) > 64 || len(v) > 4096 {
			return invalid("secret %q: names are 1 to 64 bytes, values at most 4096", k)
		}
	}
	return nil
}

// newPublicID is 24 random hex digits: the unguessable id of a webhook.
func newPublicID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// AddChannel creates a channel with a new webhook id.
func (s *Store) AddChannel(ctx context.Context, n NewChannel, actor string) (Channel, error) {
	if err := ValidateChannelName(n.Name); err != nil {
		return Channel{}, err
	}
	if _, err := ParseChannelType(string(n.Type)); err != nil {
		return Channel{}, err
	}
	if err := validateAPIBase(n.APIBase); err != nil {
		return Channel{}, err
	}
	if err := validateSecrets(n.Secrets); err != nil {
		return Channel{}, err
	}
	id, err := newPublicID()
	if err != nil {
		return Channel{}, fmt.Errorf("store: add channel: %w", err)
	}
	secrets, err := json.Marshal(nonNil(n.Secrets))
	if err != nil {
		return Channel{}, fmt.Errorf("store: add channel: %w", err)
	}
	c := Channel{PublicID: id, Portal: n.Portal, Name: n.Name, Type: n.Type, APIBase: n.APIBase, Secrets: nonNil(n.Secrets),
		Status: ChannelOK, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, n.Portal)
		if err != nil {
			return err
		}
		deptID, deptName, err := departmentRef(ctx, tx, pid, n.Portal, n.Department)
		if err != nil {
			return err
		}
		c.Department = deptName
		err = tx.QueryRowContext(ctx, `INSERT INTO channels (public_id, portal_id, name, name_key, type, department_id, api_base, secrets, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.PublicID, pid, c.Name, strings.ToLower(c.Name), c.Type, deptID, c.APIBase, string(secrets), millis(c.CreatedAt)).Scan(&c.ID)
		if isUnique(err) {
			return exists("channel %q already exists in portal %q", n.Name, n.Portal)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, c.CreatedAt, n.Portal, actor, "channel.add", c.Name, string(c.Type))
	})
	if err != nil {
		return Channel{}, wrap("add channel", err)
	}
	return c, nil
}

// departmentRef finds a department by name (any case) for a reference:
// its id (nil for "") and its name as stored.
func departmentRef(ctx context.Context, q querier, portalID int64, portal, name string) (id any, stored string, err error) {
	if name == "" {
		return nil, "", nil
	}
	var n int64
	err = q.QueryRowContext(ctx, `SELECT id, name FROM departments WHERE portal_id = ? AND name_key = ?`, portalID, deptKey(name)).Scan(&n, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound("department %q does not exist in portal %q", name, portal)
	}
	return n, stored, err
}

// channelColumns and channelFrom read a Channel with scanChannel.
const (
	channelColumns = `ch.id, ch.public_id, p.name, ch.name, ch.type, coalesce(d.name, ''), ch.api_base, ch.secrets, ch.disabled,
	ch.status, ch.status_detail, ch.status_until, ch.status_at, ch.created_at`
	channelFrom = ` FROM channels ch JOIN portals p ON p.id = ch.portal_id LEFT JOIN departments d ON d.id = ch.department_id`
)

func scanChannel(row scanner) (Channel, error) {
	var c Channel
	var secrets string
	var until, at sql.NullInt64
	var created int64
	err := row.Scan(&c.ID, &c.PublicID, &c.Portal, &c.Name, &c.Type, &c.Department, &c.APIBase, &secrets, &c.Disabled,
		&c.Status, &c.StatusDetail, &until, &at, &created)
	if err != nil {
		return Channel{}, err
	}
	if err := json.Unmarshal([]byte(secrets), &c.Secrets); err != nil {
		return Channel{}, fmt.Errorf("channel %q: stored secrets are not a JSON object", c.Name)
	}
	c.Secrets = nonNil(c.Secrets)
	c.StatusUntil, c.StatusAt, c.CreatedAt = optTime(until), optTime(at), fromMillis(created)
	return c, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Channel returns a portal's channel by name (any case).
func (s *Store) Channel(ctx context.Context, portal, name string) (Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelColumns+channelFrom+` WHERE p.name = ? AND ch.name_key = ?`,
		portal, strings.ToLower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, notFound("channel %q does not exist in portal %q (see: jabberdesk channel list %s)", name, portal, portal)
	}
	return c, wrap("read channel", err)
}

// ChannelByPublicID returns the channel of a webhook id.
func (s *Store) ChannelByPublicID(ctx context.Context, publicID string) (Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelColumns+channelFrom+` WHERE ch.public_id = ?`, publicID))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, notFound("no such channel")
	}
	return c, wrap("read channel", err)
}

// ChannelByID returns a channel by its row id.
func (s *Store) ChannelByID(ctx context.Context, id int64) (Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelColumns+channelFrom+` WHERE ch.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, notFound("no channel %d", id)
	}
	return c, wrap("read channel", err)
}

// Channels lists a portal's channels by name; portal "" lists every
// portal's.
func (s *Store) Channels(ctx context.Context, portal string) ([]Channel, error) {
	q := `SELECT ` + channelColumns + channelFrom + ` WHERE ? = '' OR p.name = ? ORDER BY p.name, ch.name_key`
	rows, err := s.r.QueryContext(ctx, q, portal, portal)
	if err != nil {
		return nil, wrap("list channels", err)
	}
	defer release(rows)
	out := []Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, wrap("list channels", err)
		}
		out = append(out, c)
	}
	return out, wrap("list channels", rows.Err())
}

// UpdateChannel changes a channel.
func (s *Store) UpdateChannel(ctx context.Context, portal, name string, u ChannelUpdate, actor string) (Channel, error) {
	if u.APIBase != nil {
		if err := validateAPIBase(*u.APIBase); err != nil {
			return Channel{}, err
		}
	}
	if err := validateSecrets(u.Secrets); err != nil {
		return Channel{}, err
	}
	c, err := s.Channel(ctx, portal, name)
	if err != nil {
		return Channel{}, err
	}
	var changed []string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if u.Department != nil {
			pid, err := portalID(ctx, tx, portal)
			if err != nil {
				return err
			}
			id, stored, err := departmentRef(ctx, tx, pid, portal, *u.Department)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE channels SET department_id = ? WHERE id = ?`, id, c.ID); err != nil {
				return err
			}
			c.Department = stored
			changed = append(changed, "department")
		}
		if u.APIBase != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE channels SET api_base = ? WHERE id = ?`, *u.APIBase, c.ID); err != nil {
				return err
			}
			c.APIBase = *u.APIBase
			changed = append(changed, "api_base")
		}
		if len(u.Secrets) > 0 {
			for k, v := range u.Secrets {
				if v == "" {
					delete(c.Secrets, k)
				} else {
					c.Secrets[k] = v
				}
			}
			b, err := json.Marshal(c.Secrets)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE channels SET secrets = ? WHERE id = ?`, string(b), c.ID); err != nil {
				return err
			}
			changed = append(changed, "secrets")
		}
		if u.Disabled != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE channels SET disabled = ? WHERE id = ?`, *u.Disabled, c.ID); err != nil {
				return err
			}
			c.Disabled = *u.Disabled
			changed = append(changed, "disabled")
		}
		return audit(ctx, tx, s.now(), portal, actor, "channel.set", c.Name, strings.Join(changed, ","))
	})
	if err != nil {
		return Channel{}, wrap("update channel", err)
	}
	return c, nil
}

// RemoveChannel deletes a channel with its customers, queue and
// templates; its chats stay, without the channel.
func (s *Store) RemoveChannel(ctx context.Context, portal, name, actor string) error {
	c, err := s.Channel(ctx, portal, name)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM channels WHERE id = ?`, c.ID); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "channel.remove", c.Name, "")
	})
	return wrap("remove channel", err)
}

// SetChannelStatus records what the provider's last answer said: until
// is when a rate limit ends (nil otherwise). It reports whether the
// status changed.
func (s *Store) SetChannelStatus(ctx context.Context, id int64, st ChannelStatus, detail string, until *time.Time) (changed bool, err error) {
	var u any
	if until != nil {
		u = millis(*until)
	}
	detail = truncateRunes(detail, 500)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channels SET status = ?, status_detail = ?, status_until = ?, status_at = ?
			WHERE id = ? AND (status <> ? OR status_detail <> ? OR status_until IS DISTINCT FROM ?)`,
			st, detail, u, millis(s.now()), id, st, detail, u)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n > 0
		return err
	})
	return changed, wrap("set channel status", err)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
