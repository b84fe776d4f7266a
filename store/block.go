package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// BlockReasonMax is the longest reason for a block, in characters.
const BlockReasonMax = 500

// BlockedIP is a visitor IP address from which a portal takes no new
// chats (#b, docs/COMMANDS.md): who blocked it, why, when, and from which chat.
type BlockedIP struct {
	ID         int64     `json:"id"`
	Portal     string    `json:"portal"`
	IP         string    `json:"ip"` // canonical form, see CanonicalIP
	Reason     string    `json:"reason"`
	BlockedBy  string    `json:"blocked_by"`  // the agent's username, or "cli"
	ChatNumber int64     `json:"chat_number"` // the chat it was blocked from; 0 if none
	CreatedAt  time.Time `json:"created_at"`
}

// CanonicalIP checks an IP address and returns its canonical text form,
// the one under which blocks are stored: an IPv4-mapped IPv6 address
// becomes IPv4 (::ffff:1.2.3.4 is 1.2.3.4), IPv6 is compressed and
// lowercase (RFC 5952), and a zone is dropped.
func CanonicalIP(ip string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return "", invalid("%q is not an IP address (like 203.0.113.7 or 2001:db8::7)", ip)
	}
	return a.Unmap().WithZone("").String(), nil
}

// BlockIP blocks an IP address in a portal: new chats from it are refused
// until it is unblocked. by is the agent's username ("" means "cli");
// chatID is the chat the block was made from, 0 for none, and must be a
// chat of the portal. A reason is required. Blocking an address twice is
// ErrExists.
func (s *Store) BlockIP(ctx context.Context, portal, ip, reason, by string, chatID int64) (BlockedIP, error) {
	canon, err := CanonicalIP(ip)
	if err != nil {
		return BlockedIP{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return BlockedIP{}, invalid("a reason is required")
	case utf8.RuneCountInString(reason) > BlockReasonMax:
		return BlockedIP{}, invalid("the reason is too long (at most %d characters)", BlockReasonMax)
	}
	if by == "" {
		by = "cli"
	}
	b := BlockedIP{Portal: portal, IP: canon, Reason: reason, BlockedBy: by, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		var chat any // NULL: not blocked from a chat
		if chatID != 0 {
			err := tx.QueryRowContext(ctx, `SELECT number FROM chats WHERE id = ? AND portal_id = ?`, chatID, pid).Scan(&b.ChatNumber)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("chat %d does not exist in portal %q", chatID, portal)
			}
			if err != nil {
				return err
			}
			chat = chatID
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO blocked_ips (portal_id, ip, reason, blocked_by, chat_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, canon, reason, by, chat, millis(b.CreatedAt)).Scan(&b.ID)
		if isUnique(err) {
			return exists("IP address %s is already blocked", canon)
		}
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("reason=%q", reason)
		if b.ChatNumber != 0 {
			detail += fmt.Sprintf(" chat=#%d", b.ChatNumber)
		}
		return audit(ctx, tx, b.CreatedAt, portal, by, "block.add", canon, detail)
	})
	if err != nil {
		return BlockedIP{}, wrap("block IP", err)
	}
	return b, nil
}

// isBlockedQuery is IsBlocked's query: one lookup in the portals name
// index and one in blocked_ips (portal_id, ip).
const isBlockedQuery = `SELECT EXISTS (SELECT 1 FROM blocked_ips b JOIN portals p ON p.id = b.portal_id WHERE p.name = ? AND b.ip = ?)`

// IsBlocked reports whether new chats from the IP address are refused in
// the portal. It runs on every chat creation, so it is two index lookups
// and no more. An address that does not parse (or an empty one) is not
// blocked, nor is any address in a portal that does not exist.
func (s *Store) IsBlocked(ctx context.Context, portal, ip string) (bool, error) {
	canon, err := CanonicalIP(ip)
	if err != nil {
		return false, nil
	}
	var blocked bool
	err = s.r.QueryRowContext(ctx, isBlockedQuery, portal, canon).Scan(&blocked)
	return blocked, wrap("check blocked IP", err)
}

// BlockedIPs lists a portal's blocked IP addresses, newest first.
func (s *Store) BlockedIPs(ctx context.Context, portal string) ([]BlockedIP, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list blocked IPs", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT b.id, b.ip, b.reason, b.blocked_by, COALESCE(c.number, 0), b.created_at
		FROM blocked_ips b LEFT JOIN chats c ON c.id = b.chat_id
		WHERE b.portal_id = ? ORDER BY b.id DESC`, pid)
	if err != nil {
		return nil, wrap("list blocked IPs", err)
	}
	defer release(rows)
	bs := []BlockedIP{}
	for rows.Next() {
		b := BlockedIP{Portal: portal}
		var created int64
		if err := rows.Scan(&b.ID, &b.IP, &b.Reason, &b.BlockedBy, &b.ChatNumber, &created); err != nil {
			return nil, wrap("list blocked IPs", err)
		}
		b.CreatedAt = fromMillis(created)
		bs = append(bs, b)
	}
	return bs, wrap("list blocked IPs", rows.Err())
}

// UnblockIP lifts a block, so that the address can start chats again. by
// is the agent's username ("" means "cli"). An address that is not
// blocked is ErrNotFound.
func (s *Store) UnblockIP(ctx context.Context, portal, ip, by string) error {
	canon, err := CanonicalIP(ip)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM blocked_ips WHERE portal_id = ? AND ip = ?`, pid, canon)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("IP address %s is not blocked in portal %q (see: jabberdesk block list %s)", canon, portal, portal)
		}
		return audit(ctx, tx, s.now(), portal, by, "block.remove", canon, "")
	})
	return wrap("unblock IP", err)
}
