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

// Limits on canned responses, in characters.
const (
	ShortcutMax       = 30
	CannedCategoryMax = 60
	CannedTextMax     = 4000
)

// DefaultCannedCategory is the category of a canned response added
// without one.
const DefaultCannedCategory = "General"

// Canned is a canned response: a prepared answer an agent sends to the
// visitor with #r SHORTCUT (docs/COMMANDS.md). One with Department "" is for every
// department of the portal; a department's own response with the same
// shortcut takes precedence over it.
type Canned struct {
	ID         int64     `json:"id"`
	Portal     string    `json:"portal"`
	Department string    `json:"department"` // "" for every department
	Shortcut   string    `json:"shortcut"`
	Category   string    `json:"category"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
}

// ValidateShortcut checks a canned response's shortcut: 1 to 30
// characters, ASCII letters, digits, "_", "-" and "." only.
func ValidateShortcut(shortcut string) error {
	if shortcut == "" {
		return invalid("a shortcut is required (1 to %d letters, digits, \"_\", \"-\" and \".\")", ShortcutMax)
	}
	for _, r := range shortcut {
		if !usernameRune(r) && r != '-' {
			return invalid("shortcut %q has a character that is not allowed: %q (use letters, digits, \"_\", \"-\" and \".\")", shortcut, r)
		}
	}
	if len(shortcut) > ShortcutMax { // ASCII only by now: bytes are characters
		return invalid("shortcut %q is too long (at most %d characters)", shortcut, ShortcutMax)
	}
	return nil
}

// shortcutKey is the case-insensitive form under which shortcuts are
// unique and looked up.
func shortcutKey(shortcut string) string { return strings.ToLower(strings.TrimSpace(shortcut)) }

// cannedScope names where a canned response applies, for messages.
func cannedScope(portal, department string) string {
	if department == "" {
		return fmt.Sprintf("in portal %q (for all departments)", portal)
	}
	return fmt.Sprintf("for department %q in portal %q", department, portal)
}

// AddCanned adds a canned response for a department of the portal, or for
// all of them with department "". The department must exist; the category
// defaults to DefaultCannedCategory and takes the spelling of a category of
// the portal that differs only in case; the text is required. A shortcut is
// unique, ignoring case, per portal and department: a second one is
// ErrExists.
func (s *Store) AddCanned(ctx context.Context, portal, department, shortcut, category, text, actor string) (Canned, error) {
	shortcut, category, text = strings.TrimSpace(shortcut), strings.TrimSpace(category), strings.TrimSpace(text)
	if err := ValidateShortcut(shortcut); err != nil {
		return Canned{}, err
	}
	if category == "" {
		category = DefaultCannedCategory
	}
	switch {
	case utf8.RuneCountInString(category) > CannedCategoryMax:
		return Canned{}, invalid("category %q is too long (at most %d characters)", category, CannedCategoryMax)
	case text == "":
		return Canned{}, invalid("the text of canned response %q is required", shortcut)
	case utf8.RuneCountInString(text) > CannedTextMax:
		return Canned{}, invalid("the text of canned response %q is too long (at most %d characters)", shortcut, CannedTextMax)
	}
	c := Canned{Portal: portal, Shortcut: shortcut, Category: category, Text: text, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		// A category is spelled as it is in the portal already, so that
		// "billing" and "Billing" are one category.
		err = tx.QueryRowContext(ctx, `SELECT category FROM canned_responses WHERE portal_id = ? AND lower(category) = lower(?) LIMIT 1`,
			pid, category).Scan(&c.Category)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var deptID any // NULL: every department
		if department != "" {
			d, err := s.department(ctx, tx, portal, department)
			if err != nil {
				return err
			}
			deptID, c.Department = d.ID, d.Name
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO canned_responses (portal_id, department_id, shortcut, shortcut_key, category, text, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, deptID, shortcut, shortcutKey(shortcut), c.Category, text, millis(c.CreatedAt)).Scan(&c.ID)
		if isUnique(err) {
			return exists("canned response %q already exists %s", shortcut, cannedScope(portal, c.Department))
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, c.CreatedAt, portal, actor, "canned.add", shortcut,
			fmt.Sprintf("department=%q category=%q", c.Department, c.Category))
	})
	if err != nil {
		return Canned{}, wrap("add canned response", err)
	}
	return c, nil
}

// Canned response queries. ?1 is the portal's id, ?2 the department's id
// or 0 for none; COALESCE(department_id, 0) is the expression of the index
// canned_responses_key, so that these are index searches.
const (
	cannedColumns = `c.id, COALESCE(d.name, ''), c.shortcut, c.category, c.text, c.created_at
	FROM canned_responses c LEFT JOIN departments d ON d.id = c.department_id`

	// The department's responses and the portal-wide ones it does not
	// override.
	cannedForQuery = `SELECT ` + cannedColumns + `
	WHERE c.portal_id = ?1 AND COALESCE(c.department_id, 0) IN (0, ?2)
		AND (c.department_id IS NOT NULL OR ?2 = 0 OR NOT EXISTS (SELECT 1 FROM canned_responses o
			WHERE o.portal_id = ?1 AND COALESCE(o.department_id, 0) = ?2 AND o.shortcut_key = c.shortcut_key))
	ORDER BY lower(c.category), c.category, c.shortcut_key`

	// The department's response first, else the portal-wide one.
	cannedByShortcutQuery = `SELECT ` + cannedColumns + `
	WHERE c.portal_id = ?1 AND COALESCE(c.department_id, 0) IN (0, ?2) AND c.shortcut_key = ?3
	ORDER BY c.department_id IS NULL LIMIT 1`

	// Portal-wide responses first, then by department.
	cannedListQuery = `SELECT ` + cannedColumns + `
	WHERE c.portal_id = ?1
	ORDER BY c.department_id IS NOT NULL, d.name_key, lower(c.category), c.category, c.shortcut_key`
)

// cannedDeptID resolves the department whose canned responses apply: 0
// for "" and for a department that does not exist (any more), since a
// chat keeps its department's name after the department is removed.
func cannedDeptID(ctx context.Context, q querier, portalID int64, department string) (int64, error) {
	if department == "" {
		return 0, nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM departments WHERE portal_id = ? AND name_key = ?`, portalID, deptKey(department)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

func scanCanned(row scanner, portal string) (Canned, error) {
	c := Canned{Portal: portal}
	var created int64
	err := row.Scan(&c.ID, &c.Department, &c.Shortcut, &c.Category, &c.Text, &created)
	c.CreatedAt = fromMillis(created)
	return c, err
}

func (s *Store) queryCanned(ctx context.Context, op, portal, q string, args ...any) ([]Canned, error) {
	scan := func(row scanner) (Canned, error) { return scanCanned(row, portal) }
	return queryAll(ctx, s.r, op, scan, q, args...)
}

// CannedFor lists the canned responses an agent can use in a chat of the
// department ("" for none): the department's own and the portal-wide ones
// it does not override, ordered by category, then shortcut. A department
// that does not exist has no responses of its own.
func (s *Store) CannedFor(ctx context.Context, portal, department string) ([]Canned, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list canned responses", err)
	}
	did, err := cannedDeptID(ctx, s.r, pid, department)
	if err != nil {
		return nil, wrap("list canned responses", err)
	}
	return s.queryCanned(ctx, "list canned responses", portal, cannedForQuery, pid, did)
}

// CannedByShortcut finds the canned response with the shortcut, ignoring
// case, for a chat of the department ("" for none): the department's own
// if it has one, else the portal-wide one.
func (s *Store) CannedByShortcut(ctx context.Context, portal, department, shortcut string) (Canned, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return Canned{}, wrap("get canned response", err)
	}
	did, err := cannedDeptID(ctx, s.r, pid, department)
	if err != nil {
		return Canned{}, wrap("get canned response", err)
	}
	c, err := scanCanned(s.r.QueryRowContext(ctx, cannedByShortcutQuery, pid, did, shortcutKey(shortcut)), portal)
	if errors.Is(err, sql.ErrNoRows) {
		return Canned{}, notFound("no canned response %q (#r lists them)", shortcut)
	}
	return c, wrap("get canned response", err)
}

// CannedList lists all of a portal's canned responses: the portal-wide
// ones first, then each department's, each by category and shortcut.
func (s *Store) CannedList(ctx context.Context, portal string) ([]Canned, error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list canned responses", err)
	}
	return s.queryCanned(ctx, "list canned responses", portal, cannedListQuery, pid)
}

// RemoveCanned deletes the canned response with the shortcut (ignoring
// case) of the department, or the portal-wide one for department "".
func (s *Store) RemoveCanned(ctx context.Context, portal, department, shortcut, actor string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		var did int64
		if department != "" {
			d, err := s.department(ctx, tx, portal, department)
			if err != nil {
				return err
			}
			did, department = d.ID, d.Name
		}
		var stored string
		err = tx.QueryRowContext(ctx, `DELETE FROM canned_responses
			WHERE portal_id = ? AND COALESCE(department_id, 0) = ? AND shortcut_key = ? RETURNING shortcut`,
			pid, did, shortcutKey(shortcut)).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("canned response %q does not exist %s (see: jabberdesk canned list %s)",
				shortcut, cannedScope(portal, department), portal)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "canned.remove", stored, fmt.Sprintf("department=%q", department))
	})
	return wrap("remove canned response", err)
}
