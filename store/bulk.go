package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AddAgentsBulk creates many agents of one portal at once, for load tests
// and imports: each is checked like AddAgent checks one, the credentials
// of all of them are derived in parallel over GOMAXPROCS workers, and
// they are inserted in one transaction, each with its audit row. Agents
// whose username the portal already has are skipped (their password is
// left alone); it returns how many were created. The portal and the
// departments named must exist.
func (s *Store) AddAgentsBulk(ctx context.Context, portal string, agents []NewAgent, actor string) (int, error) {
	for i := range agents {
		n := &agents[i]
		n.Portal = portal
		if err := ValidateUsername(n.Username); err != nil {
			return 0, err
		}
		email, err := ValidateEmail(n.Email)
		if err != nil {
			return 0, err
		}
		n.Email = email
		if err := ValidatePassword(n.Password); err != nil {
			return 0, err
		}
		if n.DisplayName = strings.TrimSpace(n.DisplayName); n.DisplayName == "" {
			n.DisplayName = n.Username
		}
		if n.Role == "" {
			n.Role = RoleAgent
		}
		if _, err := ParseRole(string(n.Role)); err != nil {
			return 0, err
		}
		if n.MaxChats == 0 {
			n.MaxChats = DefaultMaxChats
		}
		if n.MaxChats < 0 {
			return 0, invalid("max chats must be 0 or more")
		}
	}
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return 0, err
	}

	// Only new agents are worth the PBKDF2 work.
	existing := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, `SELECT username_key FROM agents WHERE portal_id = ?`, pid)
	if err != nil {
		return 0, wrap("add agents", err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			release(rows)
			return 0, wrap("add agents", err)
		}
		existing[k] = true
	}
	release(rows)
	if err := rows.Err(); err != nil {
		return 0, wrap("add agents", err)
	}
	var todo []int
	for i, n := range agents {
		k := UsernameKey(n.Username)
		if !existing[k] {
			existing[k] = true // a name listed twice is added once
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}

	creds := make([][]Credential, len(agents))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1) - 1)
				if j >= len(todo) || ctx.Err() != nil {
					return
				}
				i := todo[j]
				creds[i] = deriveCredentials(agents[i].Password, s.iterations)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	now := s.now().UTC().Truncate(time.Millisecond)
	created := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		insAgent, err := tx.PrepareContext(ctx, `INSERT INTO agents
			(portal_id, username, username_key, display_name, email, email_key, role, max_chats, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer release(insAgent)
		insDept, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO agent_departments (agent_id, department_id) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer release(insDept)
		insCred, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO agent_credentials
			(agent_id, mechanism, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer release(insCred)
		insAudit, err := tx.PrepareContext(ctx,
			`INSERT INTO audit_log (at, portal, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer release(insAudit)
		if actor == "" {
			actor = "cli"
		}
		deptIDs := map[string]int64{}
		deptNames := map[string]string{}
		for _, i := range todo {
			n := agents[i]
			res, err := insAgent.ExecContext(ctx, pid, n.Username, UsernameKey(n.Username), n.DisplayName, n.Email,
				strings.ToLower(n.Email), n.Role, n.MaxChats, millis(now), millis(now))
			if isUnique(err) {
				if strings.Contains(err.Error(), "email") {
					return exists("email %q is already used by another agent of portal %q", n.Email, portal)
				}
				continue // added meanwhile
			}
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			var depts []string
			for _, name := range n.Departments {
				key := deptKey(name)
				did, ok := deptIDs[key]
				if !ok {
					var stored string
					err := tx.QueryRowContext(ctx, `SELECT id, name FROM departments WHERE portal_id = ? AND name_key = ?`, pid, key).Scan(&did, &stored)
					if errors.Is(err, sql.ErrNoRows) {
						return notFound("department %q does not exist in portal %q (create it with: jabberdesk dept add %s %q)", name, portal, portal, name)
					}
					if err != nil {
						return err
					}
					deptIDs[key], deptNames[key] = did, stored
				}
				if _, err := insDept.ExecContext(ctx, id, did); err != nil {
					return err
				}
				depts = append(depts, deptNames[key])
			}
			for _, c := range creds[i] {
				if _, err := insCred.ExecContext(ctx, id, c.Mechanism, c.Salt, c.Iterations, c.StoredKey, c.ServerKey); err != nil {
					return err
				}
			}
			detail := fmt.Sprintf("name=%q email=%s role=%s departments=%s (bulk)", n.DisplayName, n.Email, n.Role, strings.Join(depts, ","))
			if _, err := insAudit.ExecContext(ctx, millis(now), portal, actor, "agent.add", n.Username, detail); err != nil {
				return err
			}
			created++
		}
		return nil
	})
	if err != nil {
		return 0, wrap("add agents", err)
	}
	return created, nil
}
