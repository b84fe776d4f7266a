package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// DefaultMaxChats is the number of visitor chats an agent holds at once
// unless set otherwise.
const DefaultMaxChats = 5

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// Agent is a support agent who signs in as PORTAL|USERNAME@DOMAIN.
type Agent struct {
	ID          int64     `json:"-"`
	Portal      string    `json:"portal"`
	Username    string    `json:"username"`
	DisplayName string    `json:"name"`
	Email       string    `json:"email"`
	Role        Role      `json:"role"`
	Departments []string  `json:"departments"`
	MaxChats    int       `json:"max_chats"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Key is the case-folded username used in JIDs.
func (a Agent) Key() string { return UsernameKey(a.Username) }

// NewAgent is what AddAgent needs.
type NewAgent struct {
	Portal      string
	Username    string
	DisplayName string // defaults to Username
	Email       string
	Role        Role // defaults to RoleAgent
	Departments []string
	MaxChats    int // 0: DefaultMaxChats
	Password    string
}

// AgentUpdate changes the fields that are not nil.
type AgentUpdate struct {
	DisplayName *string
	Email       *string
	Role        *Role
	Departments *[]string
	MaxChats    *int
}

// ValidatePassword checks the password rule.
func ValidatePassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return invalid("password is too short (at least %d characters)", MinPasswordLength)
	}
	if strings.ContainsAny(pw, "\x00\r\n") {
		return invalid("password must not contain NUL or line breaks")
	}
	return nil
}

// CheckUsername says whether name can be used for a new agent: nil if it
// can, else a UserError saying exactly why not. With portal == "" it checks
// every portal.
func (s *Store) CheckUsername(ctx context.Context, portal, name string) error {
	if err := ValidateUsername(name); err != nil {
		return err
	}
	q := `SELECT p.name FROM agents a JOIN portals p ON p.id = a.portal_id WHERE a.username_key = ?`
	args := []any{UsernameKey(name)}
	if portal != "" {
		if _, err := portalID(ctx, s.r, portal); err != nil {
			return err
		}
		q += ` AND p.name = ?`
		args = append(args, portal)
	}
	var in string
	err := s.r.QueryRowContext(ctx, q+` ORDER BY p.name LIMIT 1`, args...).Scan(&in)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return wrap("check username", err)
	}
	return exists("username %q is taken in portal %q (usernames are unique per portal, ignoring case)", name, in)
}

// check validates a new agent (username, email, password, role, maximum
// of chats) and fills in the defaults: the email as ValidateEmail
// normalizes it, the display name trimmed (the username if empty), the
// role RoleAgent, DefaultMaxChats. AddAgent and AddAgentsBulk check
// agents alike.
func (n *NewAgent) check() error {
	if err := ValidateUsername(n.Username); err != nil {
		return err
	}
	email, err := ValidateEmail(n.Email)
	if err != nil {
		return err
	}
	n.Email = email
	if err := ValidatePassword(n.Password); err != nil {
		return err
	}
	if n.DisplayName = strings.TrimSpace(n.DisplayName); n.DisplayName == "" {
		n.DisplayName = n.Username
	}
	if n.Role == "" {
		n.Role = RoleAgent
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return err
	}
	if n.MaxChats == 0 {
		n.MaxChats = DefaultMaxChats
	}
	if n.MaxChats < 0 {
		return invalid("max chats must be 0 or more")
	}
	return nil
}

// AddAgent creates an agent with credentials derived from the password.
func (s *Store) AddAgent(ctx context.Context, n NewAgent, actor string) (Agent, error) {
	if err := n.check(); err != nil {
		return Agent{}, err
	}
	creds := deriveCredentials(n.Password, s.iterations)
	now := s.now().UTC().Truncate(time.Millisecond)
	a := Agent{Portal: n.Portal, Username: n.Username, DisplayName: n.DisplayName, Email: n.Email, Role: n.Role,
		MaxChats: n.MaxChats, CreatedAt: now, UpdatedAt: now}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, n.Portal)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO agents
			(portal_id, username, username_key, display_name, email, email_key, role, max_chats, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, a.Username, a.Key(), a.DisplayName, a.Email, strings.ToLower(a.Email), a.Role, a.MaxChats, millis(now), millis(now)).Scan(&a.ID)
		if isUnique(err) {
			if strings.Contains(err.Error(), "email") {
				return exists("email %q is already used by another agent of portal %q", a.Email, n.Portal)
			}
			return exists("username %q is taken in portal %q (usernames are unique per portal, ignoring case)", n.Username, n.Portal)
		}
		if err != nil {
			return err
		}
		if a.Departments, err = setAgentDepartments(ctx, tx, pid, a.ID, n.Departments, n.Portal); err != nil {
			return err
		}
		if err := putCredentials(ctx, tx, a.ID, creds); err != nil {
			return err
		}
		return audit(ctx, tx, now, n.Portal, actor, "agent.add", a.Username,
			fmt.Sprintf("name=%q email=%s role=%s departments=%s", a.DisplayName, a.Email, a.Role, strings.Join(a.Departments, ",")))
	})
	if err != nil {
		return Agent{}, wrap("add agent", err)
	}
	return a, nil
}

// setAgentDepartments replaces the agent's departments with names, which
// must exist in the portal; it returns their stored names, sorted.
func setAgentDepartments(ctx context.Context, tx *sql.Tx, portalID, agentID int64, names []string, portal string) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_departments WHERE agent_id = ?`, agentID); err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		var id int64
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM departments WHERE portal_id = ? AND name_key = ?`, portalID, deptKey(name)).Scan(&id, &stored)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("department %q does not exist in portal %q (create it with: jabberdesk dept add %s %q)", name, portal, portal, name)
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_departments (agent_id, department_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, agentID, id); err != nil {
			return nil, err
		}
		out = append(out, stored)
	}
	sort.Strings(out)
	return dedupe(out), nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

const agentColumns = `a.id, p.name, a.username, a.display_name, a.email, a.role, a.max_chats, a.created_at, a.updated_at,
	COALESCE((SELECT group_concat(d.name, '` + "\x1f" + `' ORDER BY d.name) FROM agent_departments ad JOIN departments d ON d.id = ad.department_id
		WHERE ad.agent_id = a.id), '')`

func scanAgent(row scanner) (Agent, error) {
	var a Agent
	var created, updated int64
	var depts string
	err := row.Scan(&a.ID, &a.Portal, &a.Username, &a.DisplayName, &a.Email, &a.Role, &a.MaxChats, &created, &updated, &depts)
	a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
	a.Departments = []string{}
	if depts != "" {
		a.Departments = strings.Split(depts, "\x1f")
	}
	return a, err
}

// Agent looks an agent up by username, case-insensitively.
func (s *Store) Agent(ctx context.Context, portal, username string) (Agent, error) {
	return s.agent(ctx, s.r, portal, username)
}

func (s *Store) agent(ctx context.Context, q querier, portal, username string) (Agent, error) {
	a, err := scanAgent(q.QueryRowContext(ctx,
		`SELECT `+agentColumns+` FROM agents a JOIN portals p ON p.id = a.portal_id WHERE p.name = ? AND a.username_key = ?`,
		portal, UsernameKey(username)))
	if errors.Is(err, sql.ErrNoRows) {
		if _, perr := portalID(ctx, q, portal); perr != nil {
			return Agent{}, perr
		}
		return Agent{}, notFound("agent %q does not exist in portal %q (see: jabberdesk agent list %s)", username, portal, portal)
	}
	return a, wrap("get agent", err)
}

// AgentByEmail looks an agent up by email, case-insensitively.
func (s *Store) AgentByEmail(ctx context.Context, portal, email string) (Agent, error) {
	a, err := scanAgent(s.r.QueryRowContext(ctx,
		`SELECT `+agentColumns+` FROM agents a JOIN portals p ON p.id = a.portal_id WHERE p.name = ? AND a.email_key = ?`,
		portal, strings.ToLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, notFound("no agent of portal %q has the email %q", portal, email)
	}
	return a, wrap("get agent by email", err)
}

// Agents lists a portal's agents by username.
func (s *Store) Agents(ctx context.Context, portal string) ([]Agent, error) {
	if _, err := portalID(ctx, s.r, portal); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+agentColumns+` FROM agents a JOIN portals p ON p.id = a.portal_id WHERE p.name = ? ORDER BY a.username_key`, portal)
	if err != nil {
		return nil, wrap("list agents", err)
	}
	defer release(rows)
	var as []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, wrap("list agents", err)
		}
		as = append(as, a)
	}
	return as, wrap("list agents", rows.Err())
}

// UpdateAgent changes an agent's details.
func (s *Store) UpdateAgent(ctx context.Context, portal, username string, u AgentUpdate, actor string) (Agent, error) {
	var a Agent
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = s.agent(ctx, tx, portal, username)
		if err != nil {
			return err
		}
		var changes []string
		if u.DisplayName != nil {
			name := strings.TrimSpace(*u.DisplayName)
			if name == "" {
				return invalid("display name must not be empty")
			}
			a.DisplayName = name
			changes = append(changes, fmt.Sprintf("name=%q", name))
		}
		if u.Email != nil {
			if a.Email, err = ValidateEmail(*u.Email); err != nil {
				return err
			}
			changes = append(changes, "email="+a.Email)
		}
		if u.Role != nil {
			if _, err := ParseRole(string(*u.Role)); err != nil {
				return err
			}
			a.Role = *u.Role
			changes = append(changes, "role="+string(a.Role))
		}
		if u.MaxChats != nil {
			if *u.MaxChats < 0 {
				return invalid("max chats must be 0 or more")
			}
			a.MaxChats = *u.MaxChats
			changes = append(changes, fmt.Sprintf("max_chats=%d", a.MaxChats))
		}
		a.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		_, err = tx.ExecContext(ctx, `UPDATE agents SET display_name = ?, email = ?, email_key = ?, role = ?, max_chats = ?, updated_at = ? WHERE id = ?`,
			a.DisplayName, a.Email, strings.ToLower(a.Email), a.Role, a.MaxChats, millis(a.UpdatedAt), a.ID)
		if isUnique(err) {
			return exists("email %q is already used by another agent of portal %q", a.Email, portal)
		}
		if err != nil {
			return err
		}
		if u.Departments != nil {
			var pid int64
			if pid, err = portalID(ctx, tx, portal); err != nil {
				return err
			}
			if a.Departments, err = setAgentDepartments(ctx, tx, pid, a.ID, *u.Departments, portal); err != nil {
				return err
			}
			changes = append(changes, "departments="+strings.Join(a.Departments, ","))
		}
		return audit(ctx, tx, a.UpdatedAt, portal, actor, "agent.set", a.Username, strings.Join(changes, " "))
	})
	if err != nil {
		return Agent{}, wrap("update agent", err)
	}
	return a, nil
}

// RemoveAgent deletes an agent.
func (s *Store) RemoveAgent(ctx context.Context, portal, username, actor string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.agent(ctx, tx, portal, username)
		if err != nil {
			return err
		}
		// Their archive goes with them; a message to or from a colleague
		// stays in the colleague's (the foreign key forgets this side).
		if _, err := tx.ExecContext(ctx, `DELETE FROM archive WHERE from_id = ? AND to_id IS NULL OR to_id = ? AND from_id IS NULL`, a.ID, a.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE id = ?`, a.ID); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "agent.remove", a.Username, "")
	})
	return wrap("remove agent", err)
}

// SetPassword replaces an agent's credentials.
func (s *Store) SetPassword(ctx context.Context, portal, username, password, actor string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	creds := deriveCredentials(password, s.iterations)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.agent(ctx, tx, portal, username)
		if err != nil {
			return err
		}
		if err := putCredentials(ctx, tx, a.ID, creds); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "agent.passwd", a.Username, "")
	})
	return wrap("set password", err)
}
