package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The portal setting keys.
const (
	SettingConvert       = "convert"        // which chats become tickets
	SettingConvertWhen   = "convert_when"   // when they do
	SettingConvertStatus = "convert_status" // the status of the tickets made
	SettingTeamName      = "team_name"      // how visitors' windows name the team
	SettingRatings       = "ratings"        // whether a chat that ends asks for a rating
)

// TeamNameMax bounds the team_name setting, in characters.
const TeamNameMax = 60

// The values of the conversion settings (docs/HELPDESK.md §6.1).
const (
	ConvertAll      = "all"      // every chat
	ConvertAttended = "attended" // chats an agent accepted
	ConvertMissed   = "missed"   // chats no agent accepted
	ConvertNone     = "none"     // no chat

	ConvertOnAccept = "accept" // when an agent accepts the chat
	ConvertOnEnd    = "end"    // when the chat ends

	RatingsOn  = "on"  // a chat that ends asks the visitor for a rating
	RatingsOff = "off" // it does not, and takes none
)

// SettingKey describes a portal setting: its key, its value when not set,
// the values it takes and what it does.
type SettingKey struct {
	Key     string   `json:"key"`
	Default string   `json:"default"`
	Accepts []string `json:"accepts"` // nil: any one line of text up to TeamNameMax characters
	Help    string   `json:"help"`
}

// settingKeys are the portal settings, in the order they are shown.
var settingKeys = []SettingKey{
	{SettingConvert, ConvertNone, []string{ConvertAll, ConvertAttended, ConvertMissed, ConvertNone},
		"which chats become tickets automatically"},
	{SettingConvertWhen, ConvertOnEnd, []string{ConvertOnAccept, ConvertOnEnd},
		"when a chat becomes a ticket: when an agent accepts it, or when it ends"},
	{SettingConvertStatus, "open", []string{"open", "closed"},
		"the status of the tickets made automatically"},
	{SettingTeamName, "", nil,
		`how a visitor's window names the team ("Acme Support will end the chat in 30 seconds"); empty: the chat's department, or "Support"`},
	{SettingRatings, RatingsOn, []string{RatingsOn, RatingsOff},
		"whether a chat an agent took part in asks the visitor, when it ends, to rate it (1 to 5 stars and a comment)"},
}

// SettingKeys lists the portal settings.
func SettingKeys() []SettingKey {
	ks := make([]SettingKey, len(settingKeys))
	for i, k := range settingKeys {
		k.Accepts = slices.Clone(k.Accepts)
		ks[i] = k
	}
	return ks
}

// settingKeyNames lists the keys, for messages.
func settingKeyNames() string {
	names := make([]string, len(settingKeys))
	for i, k := range settingKeys {
		names[i] = k.Key
	}
	return strings.Join(names, ", ")
}

// ConversionSettings say which of a portal's chats become tickets
// automatically, when, and with which status (docs/HELPDESK.md §6.1). Which is one of
// ConvertAll, ConvertAttended, ConvertMissed, ConvertNone; When one of
// ConvertOnAccept, ConvertOnEnd; Status "open" or "closed".
type ConversionSettings struct {
	Which  string `json:"convert"`
	When   string `json:"convert_when"`
	Status string `json:"convert_status"`
}

// TicketStatus is the code of Status: TicketOpen or TicketClosed.
func (c ConversionSettings) TicketStatus() int {
	if c.Status == "closed" {
		return TicketClosed
	}
	return TicketOpen
}

// portalSettingsQuery reads a portal's stored settings (?1: its id).
const portalSettingsQuery = `SELECT key, value FROM portal_settings WHERE portal_id = ?1`

// PortalSettings returns every portal setting with its value, or its
// default when it is not set.
func (s *Store) PortalSettings(ctx context.Context, portal string) (map[string]string, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("get portal settings", err)
	}
	m := make(map[string]string, len(settingKeys))
	for _, k := range settingKeys {
		m[k.Key] = k.Default
	}
	rows, err := s.r.QueryContext(ctx, portalSettingsQuery, pid)
	if err != nil {
		return nil, wrap("get portal settings", err)
	}
	defer release(rows)
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, wrap("get portal settings", err)
		}
		if _, known := m[k]; known { // a key this binary does not know is left out
			m[k] = v
		}
	}
	return m, wrap("get portal settings", rows.Err())
}

// Conversion returns a portal's conversion settings.
func (s *Store) Conversion(ctx context.Context, portal string) (ConversionSettings, error) {
	m, err := s.PortalSettings(ctx, portal)
	if err != nil {
		return ConversionSettings{}, err
	}
	return ConversionSettings{Which: m[SettingConvert], When: m[SettingConvertWhen], Status: m[SettingConvertStatus]}, nil
}

// RatingsOn reports whether a portal asks for ratings (the setting
// ratings).
func (s *Store) RatingsOn(ctx context.Context, portal string) (bool, error) {
	m, err := s.PortalSettings(ctx, portal)
	if err != nil {
		return false, err
	}
	return m[SettingRatings] != RatingsOff, nil
}

// SetPortalSetting sets a portal setting (the key ignoring case, "-" for
// "_" works too) to one of the values it accepts, and records
// "settings.set" in the audit log.
func (s *Store) SetPortalSetting(ctx context.Context, portal, key, value, actor string) error {
	k := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "-", "_")
	i := slices.IndexFunc(settingKeys, func(sk SettingKey) bool { return sk.Key == k })
	if i < 0 {
		return invalid("there is no setting %q: use one of %s", key, settingKeyNames())
	}
	sk := settingKeys[i]
	v := strings.ToLower(strings.TrimSpace(value))
	switch {
	case sk.Accepts == nil:
		v = strings.Join(strings.Fields(value), " ") // text: one line, as typed
		if utf8.RuneCountInString(v) > TeamNameMax || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return invalid("setting %s takes one line of at most %d characters", sk.Key, TeamNameMax)
		}
	case !slices.Contains(sk.Accepts, v):
		return invalid("setting %s cannot be %q: use one of %s", sk.Key, value, strings.Join(sk.Accepts, ", "))
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_settings (portal_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (portal_id, key) DO UPDATE SET value = excluded.value`, pid, sk.Key, v); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "settings.set", sk.Key, fmt.Sprintf("value=%q", v))
	})
	return wrap("set portal setting", err)
}

// FlagChat marks a chat that could not be converted to a ticket
// automatically (its visitor has no email), so that an agent can add the
// email and convert it; reason says why. Flagging a chat that is flagged
// already, or that belongs to a ticket, changes nothing.
func (s *Store) FlagChat(ctx context.Context, chatID int64, reason string) error {
	now := millis(s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var pid int64
		var linked bool
		err := tx.QueryRowContext(ctx, `SELECT portal_id, EXISTS (SELECT 1 FROM ticket_chats WHERE chat_id = chats.id)
			FROM chats WHERE id = ?`, chatID).Scan(&pid, &linked)
		if errors.Is(err, sql.ErrNoRows) {
			return chatNotFound(chatID)
		}
		if err != nil || linked {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO flagged_chats (chat_id, portal_id, reason, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (chat_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, resolved_at = NULL
			WHERE flagged_chats.resolved_at IS NOT NULL`, chatID, pid, strings.TrimSpace(reason), now)
		return err
	})
	return wrap("flag chat", err)
}

// flaggedChatsQuery is FlaggedChats' query (?1: the portal's id), in the
// partial index of unresolved flags.
const flaggedChatsQuery = `SELECT ` + chatColumns + `
	FROM flagged_chats f JOIN chats c ON c.id = f.chat_id JOIN portals p ON p.id = c.portal_id JOIN visitors v ON v.id = c.visitor_id
	LEFT JOIN channels ch ON ch.id = c.channel_id LEFT JOIN channel_customers cu ON cu.id = c.customer_id
	WHERE f.portal_id = ?1 AND f.resolved_at IS NULL ORDER BY f.created_at DESC, f.chat_id DESC`

// FlaggedChats lists a portal's flagged chats that have no ticket yet,
// the most recently flagged first.
func (s *Store) FlaggedChats(ctx context.Context, portal string) ([]Chat, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list flagged chats", err)
	}
	return s.queryChats(ctx, "list flagged chats", flaggedChatsQuery, pid)
}

// ResolveFlag marks a chat's flag resolved (the chat got a ticket); a chat
// that is not flagged is left as it is. CreateTicket and AssociateChat do
// this themselves.
func (s *Store) ResolveFlag(ctx context.Context, chatID int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return resolveFlag(ctx, tx, chatID, s.now())
	})
	return wrap("resolve flag", err)
}

// resolveFlag marks a chat's flag, if it has one, resolved.
func resolveFlag(ctx context.Context, tx *sql.Tx, chatID int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE flagged_chats SET resolved_at = ? WHERE chat_id = ? AND resolved_at IS NULL`, millis(at), chatID)
	return err
}
