package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on accounts: names in characters, SLA hours (ten years).
const (
	AccountNameMax  = 100
	AccountHoursMax = 87600
)

// Account is a customer organisation that contacts belong to (docs/HELPDESK.md §1.2),
// with its service level agreement and contract. ResponseHours and
// ResolutionHours are the SLA's times, 0 for none; a ticket of one of the
// account's contacts is due ResolutionHours after it was made.
type Account struct {
	ID              int64     `json:"id"`
	Portal          string    `json:"portal"`
	Name            string    `json:"name"`
	SLAName         string    `json:"sla_name"`
	ResponseHours   int       `json:"response_hours"`
	ResolutionHours int       `json:"resolution_hours"`
	ContractName    string    `json:"contract_name"`
	CreatedAt       time.Time `json:"created_at"`
}

// accountKey is the case-insensitive form under which account names are
// unique and looked up.
func accountKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// AddAccount adds an account to a portal. The name is required and unique
// per portal, ignoring case (a second one is ErrExists); the hours are 0
// (none) to AccountHoursMax. The audit log records "account.add".
func (s *Store) AddAccount(ctx context.Context, a Account, actor string) (Account, error) {
	a.Name, a.SLAName, a.ContractName = strings.TrimSpace(a.Name), strings.TrimSpace(a.SLAName), strings.TrimSpace(a.ContractName)
	switch {
	case a.Name == "":
		return Account{}, invalid("an account name is required")
	case utf8.RuneCountInString(a.Name) > AccountNameMax:
		return Account{}, invalid("account name %q is too long (at most %d characters)", a.Name, AccountNameMax)
	case utf8.RuneCountInString(a.SLAName) > AccountNameMax:
		return Account{}, invalid("SLA name %q is too long (at most %d characters)", a.SLAName, AccountNameMax)
	case utf8.RuneCountInString(a.ContractName) > AccountNameMax:
		return Account{}, invalid("contract name %q is too long (at most %d characters)", a.ContractName, AccountNameMax)
	case a.ResponseHours < 0 || a.ResponseHours > AccountHoursMax:
		return Account{}, invalid("response hours must be 0 (none) to %d, not %d", AccountHoursMax, a.ResponseHours)
	case a.ResolutionHours < 0 || a.ResolutionHours > AccountHoursMax:
		return Account{}, invalid("resolution hours must be 0 (none) to %d, not %d", AccountHoursMax, a.ResolutionHours)
	}
	a.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, a.Portal)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO accounts
			(portal_id, name, name_key, sla_name, response_hours, resolution_hours, contract_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, a.Name, accountKey(a.Name), a.SLAName, a.ResponseHours, a.ResolutionHours, a.ContractName, millis(a.CreatedAt)).Scan(&a.ID)
		if isUnique(err) {
			return exists("account %q already exists in portal %q", a.Name, a.Portal)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, a.CreatedAt, a.Portal, actor, "account.add", a.Name,
			fmt.Sprintf("sla=%q response_hours=%d resolution_hours=%d contract=%q", a.SLAName, a.ResponseHours, a.ResolutionHours, a.ContractName))
	})
	if err != nil {
		return Account{}, wrap("add account", err)
	}
	return a, nil
}

// accountSelect reads whole accounts (aliases a, p).
const accountSelect = `SELECT a.id, p.name, a.name, a.sla_name, a.response_hours, a.resolution_hours, a.contract_name, a.created_at
	FROM accounts a JOIN portals p ON p.id = a.portal_id`

func scanAccount(row scanner) (Account, error) {
	var a Account
	var created int64
	err := row.Scan(&a.ID, &a.Portal, &a.Name, &a.SLAName, &a.ResponseHours, &a.ResolutionHours, &a.ContractName, &created)
	a.CreatedAt = fromMillis(created)
	return a, err
}

// Accounts lists a portal's accounts by name.
func (s *Store) Accounts(ctx context.Context, portal string) ([]Account, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list accounts", err)
	}
	return queryAll(ctx, s.r, "list accounts", scanAccount, accountSelect+` WHERE a.portal_id = ? ORDER BY a.name_key`, pid)
}

// AccountByName looks an account up by name, ignoring case.
func (s *Store) AccountByName(ctx context.Context, portal, name string) (Account, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return Account{}, wrap("get account", err)
	}
	a, err := scanAccount(s.r.QueryRowContext(ctx, accountSelect+` WHERE a.portal_id = ? AND a.name_key = ?`, pid, accountKey(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, notFound("account %q does not exist in portal %q (see: jabberdesk account list %s)", name, portal, portal)
	}
	return a, wrap("get account", err)
}
