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

// ContactPhoneMax is the longest contact phone number, in characters; a
// contact's name is at most VisitorNameMax.
const ContactPhoneMax = 60

// Contact is a person the helpdesk knows (docs/HELPDESK.md §1.1), one per portal and
// email (ignoring case). Account is the name of their account ("" for
// none); Owner is the username of the agent who looks after them ("" for
// none).
type Contact struct {
	ID        int64     `json:"id"`
	Portal    string    `json:"portal"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Account   string    `json:"account"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// checkContact trims a contact's fields and checks them: the email is
// required and must be valid.
func checkContact(c *Contact) error {
	c.Name, c.Email, c.Phone = strings.TrimSpace(c.Name), strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone)
	c.Account, c.Owner = strings.TrimSpace(c.Account), strings.TrimSpace(c.Owner)
	if c.Email == "" {
		return invalid("the contact's email is required")
	}
	email, err := ValidateEmail(c.Email)
	if err != nil {
		return err
	}
	c.Email = email
	switch {
	case utf8.RuneCountInString(c.Name) > VisitorNameMax:
		return invalid("the name of contact %q is too long (at most %d characters)", c.Email, VisitorNameMax)
	case utf8.RuneCountInString(c.Phone) > ContactPhoneMax:
		return invalid("the phone number of contact %q is too long (at most %d characters)", c.Email, ContactPhoneMax)
	}
	return nil
}

// contactRefs resolves a contact's account and owner in the portal: the
// account's id (nil for none) and the names as stored. An account or
// agent that does not exist is ErrNotFound.
func (s *Store) contactRefs(ctx context.Context, q querier, portalID int64, portal string, c *Contact) (accountID any, err error) {
	if c.Account != "" {
		var id int64
		err := q.QueryRowContext(ctx, `SELECT id, name FROM accounts WHERE portal_id = ? AND name_key = ?`,
			portalID, accountKey(c.Account)).Scan(&id, &c.Account)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("account %q does not exist in portal %q (add it first; see: jabberdesk account list %s)", c.Account, portal, portal)
		}
		if err != nil {
			return nil, err
		}
		accountID = id
	}
	if c.Owner != "" {
		a, err := s.agent(ctx, q, portal, c.Owner)
		if err != nil {
			return nil, err
		}
		c.Owner = a.Username
	}
	return accountID, nil
}

// AddContact adds a contact to a portal. The email is required; Account,
// if given, must be the name of one of the portal's accounts and Owner the
// username of one of its agents (both ignoring case). A second contact
// with the same email is ErrExists. The audit log records "contact.add".
func (s *Store) AddContact(ctx context.Context, c Contact, actor string) (Contact, error) {
	if err := checkContact(&c); err != nil {
		return Contact{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, c.Portal)
		if err != nil {
			return err
		}
		accountID, err := s.contactRefs(ctx, tx, pid, c.Portal, &c)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO contacts
			(portal_id, name, name_key, email, email_key, phone, account_id, owner, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, c.Name, strings.ToLower(c.Name), c.Email, strings.ToLower(c.Email), c.Phone, accountID, c.Owner,
			millis(now), millis(now)).Scan(&c.ID)
		if isUnique(err) {
			return exists("a contact with email %q already exists in portal %q", c.Email, c.Portal)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, c.Portal, actor, "contact.add", c.Email,
			fmt.Sprintf("name=%q account=%q owner=%q", c.Name, c.Account, c.Owner))
	})
	if err != nil {
		return Contact{}, wrap("add contact", err)
	}
	return c, nil
}

// findOrAddContact returns the id of the portal's contact with the email,
// creating it with name and phone if there is none (recording
// "contact.add") and filling in an existing contact's empty name and
// phone. It also returns the resolution hours of the contact's account (0
// for none).
func (s *Store) findOrAddContact(ctx context.Context, tx *sql.Tx, portalID int64, portal, email, name, phone, actor string, now time.Time) (id int64, resolutionHours int, err error) {
	var oldName, oldPhone string
	err = tx.QueryRowContext(ctx, `SELECT c.id, c.name, c.phone, COALESCE(a.resolution_hours, 0)
		FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id WHERE c.portal_id = ? AND c.email_key = ?`,
		portalID, strings.ToLower(email)).Scan(&id, &oldName, &oldPhone, &resolutionHours)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.QueryRowContext(ctx, `INSERT INTO contacts (portal_id, name, name_key, email, email_key, phone, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			portalID, name, strings.ToLower(name), email, strings.ToLower(email), phone, millis(now), millis(now)).Scan(&id)
		if err != nil {
			return 0, 0, err
		}
		return id, 0, audit(ctx, tx, now, portal, actor, "contact.add", email, fmt.Sprintf("name=%q (with a ticket)", name))
	case err != nil:
		return 0, 0, err
	}
	if oldName == "" && name != "" || oldPhone == "" && phone != "" {
		name, phone = orElse(oldName, name), orElse(oldPhone, phone)
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET name = ?, name_key = ?, phone = ?, updated_at = ? WHERE id = ?`,
			name, strings.ToLower(name), phone, millis(now), id)
	}
	return id, resolutionHours, err
}

// contactSelect reads whole contacts (aliases c, p, a).
const contactSelect = `SELECT c.id, p.name, c.name, c.email, c.phone, COALESCE(a.name, ''), c.owner, c.created_at, c.updated_at
	FROM contacts c JOIN portals p ON p.id = c.portal_id LEFT JOIN accounts a ON a.id = c.account_id`

func scanContact(row scanner) (Contact, error) {
	var c Contact
	var created, updated int64
	err := row.Scan(&c.ID, &c.Portal, &c.Name, &c.Email, &c.Phone, &c.Account, &c.Owner, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return c, err
}

// Contacts lists a portal's contacts by email.
func (s *Store) Contacts(ctx context.Context, portal string) ([]Contact, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list contacts", err)
	}
	return queryAll(ctx, s.r, "list contacts", scanContact, contactSelect+` WHERE c.portal_id = ? ORDER BY c.email_key`, pid)
}

// contactByEmailQuery is ContactByEmail's query: ?1 the portal's id, ?2
// the lowercased email.
const contactByEmailQuery = contactSelect + ` WHERE c.portal_id = ?1 AND c.email_key = ?2`

// ContactByEmail looks a contact up by email, ignoring case.
func (s *Store) ContactByEmail(ctx context.Context, portal, email string) (Contact, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return Contact{}, wrap("get contact", err)
	}
	email = strings.TrimSpace(email)
	c, err := scanContact(s.r.QueryRowContext(ctx, contactByEmailQuery, pid, strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, notFound("no contact of portal %q has the email %q", portal, email)
	}
	return c, wrap("get contact", err)
}

// rowError puts the row number (1-based) in front of an import error.
func rowError(row int, err error) error {
	var ue *UserError
	if errors.As(err, &ue) {
		return &UserError{Msg: fmt.Sprintf("row %d: %s", row, ue.Msg), Kind: ue.Kind}
	}
	return fmt.Errorf("row %d: %w", row, err)
}

// ImportContacts adds or updates contacts by email (ignoring case) in one
// transaction: all of them or, on the first bad row, none. Each row is
// checked as AddContact checks it; an existing contact gets the row's
// non-empty fields (empty fields keep what is stored). An email may be on
// one row only. The error names the row (1-based) and what was wrong with
// it. The audit log records "contact.import".
func (s *Store) ImportContacts(ctx context.Context, portal string, cs []Contact, actor string) (added, updated int, err error) {
	if len(cs) == 0 {
		return 0, 0, invalid("there are no contacts to import")
	}
	rows := make([]Contact, len(cs))
	seen := make(map[string]int, len(cs))
	for i, c := range cs {
		if err := checkContact(&c); err != nil {
			return 0, 0, rowError(i+1, err)
		}
		key := strings.ToLower(c.Email)
		if first, ok := seen[key]; ok {
			return 0, 0, rowError(i+1, invalid("email %q is on row %d too (each contact once)", c.Email, first))
		}
		seen[key] = i + 1
		c.Portal = portal
		rows[i] = c
	}
	now := millis(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		for i, c := range rows {
			accountID, err := s.contactRefs(ctx, tx, pid, portal, &c)
			if err != nil {
				return rowError(i+1, err)
			}
			var known bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE portal_id = ? AND email_key = ?)`,
				pid, strings.ToLower(c.Email)).Scan(&known); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO contacts
				(portal_id, name, name_key, email, email_key, phone, account_id, owner, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (portal_id, email_key) DO UPDATE SET
					name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE contacts.name END,
					name_key = CASE WHEN excluded.name <> '' THEN excluded.name_key ELSE contacts.name_key END,
					email = excluded.email,
					phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE contacts.phone END,
					account_id = COALESCE(excluded.account_id, contacts.account_id),
					owner = CASE WHEN excluded.owner <> '' THEN excluded.owner ELSE contacts.owner END,
					updated_at = excluded.updated_at`,
				pid, c.Name, strings.ToLower(c.Name), c.Email, strings.ToLower(c.Email), c.Phone, accountID, c.Owner, now, now)
			if err != nil {
				return rowError(i+1, err)
			}
			if known {
				updated++
			} else {
				added++
			}
		}
		return audit(ctx, tx, fromMillis(now), portal, actor, "contact.import", "", fmt.Sprintf("added=%d updated=%d", added, updated))
	})
	if err != nil {
		return 0, 0, wrap("import contacts", err)
	}
	return added, updated, nil
}

// SetChatEmail records the email of a chat's visitor (#support setemail).
// If another visitor of the portal has that email (ignoring case), they
// are a returning visitor: the chat, and the notes written in it, move to
// them. Otherwise the chat's visitor gets the email.
func (s *Store) SetChatEmail(ctx context.Context, chatID int64, email string) error {
	email, err := ValidateEmail(email)
	if err != nil {
		return err
	}
	now := millis(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var pid, visitorID int64
		err := tx.QueryRowContext(ctx, `SELECT portal_id, visitor_id FROM chats WHERE id = ?`, chatID).Scan(&pid, &visitorID)
		if errors.Is(err, sql.ErrNoRows) {
			return chatNotFound(chatID)
		}
		if err != nil {
			return err
		}
		var other int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM visitors WHERE portal_id = ? AND email_key = ?`, pid, strings.ToLower(email)).Scan(&other)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && other == visitorID:
			_, err = tx.ExecContext(ctx, `UPDATE visitors SET email = ?, email_key = ? WHERE id = ?`, email, strings.ToLower(email), visitorID)
			return err
		case err != nil:
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET visitor_id = ? WHERE id = ?`, other, chatID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE visitor_notes SET visitor_id = ? WHERE chat_id = ?`, other, chatID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE visitors SET last_seen_at = max(last_seen_at, ?) WHERE id = ?`, now, other)
		return err
	})
	return wrap("set chat email", err)
}
