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
		agents[i].Portal = portal
		if err := agents[i].check(); err != nil {
			return 0, err
		}
	}
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return 0, err
	}
	todo, err := s.newUsernames(ctx, pid, agents)
	if err != nil {
		return 0, wrap("add agents", err)
	}
	if len(todo) == 0 {
		return 0, nil
	}
	creds, err := s.deriveInParallel(ctx, agents, todo)
	if err != nil {
		return 0, err
	}
	if actor == "" {
		actor = "cli"
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	created := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		b, err := prepareBulkAdd(ctx, tx, pid, portal, actor, now)
		if err != nil {
			return err
		}
		defer b.close()
		for _, i := range todo {
			added, err := b.add(ctx, agents[i], creds[i])
			if err != nil {
				return err
			}
			if added {
				created++
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap("add agents", err)
	}
	return created, nil
}

// newUsernames returns the indexes of the agents whose usernames the
// portal does not have yet, a username listed twice once: only new agents
// are worth the PBKDF2 work.
func (s *Store) newUsernames(ctx context.Context, portalID int64, agents []NewAgent) ([]int, error) {
	existing := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, `SELECT username_key FROM agents WHERE portal_id = ?`, portalID)
	if err != nil {
		return nil, err
	}
	defer release(rows)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		existing[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var todo []int
	for i, n := range agents {
		k := UsernameKey(n.Username)
		if !existing[k] {
			existing[k] = true
			todo = append(todo, i)
		}
	}
	return todo, nil
}

// deriveInParallel derives the credentials of the agents at the indexes
// todo over GOMAXPROCS workers; the result is indexed as agents. It stops
// early when ctx ends, with ctx's error.
func (s *Store) deriveInParallel(ctx context.Context, agents []NewAgent, todo []int) ([][]Credential, error) {
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
		return nil, err
	}
	return creds, nil
}

// bulkAdd inserts agents of one portal in one transaction, with statements
// prepared once and each department looked up once.
type bulkAdd struct {
	tx            *sql.Tx
	portalID      int64
	portal, actor string
	now           time.Time

	insAgent, insDept, insCred, insAudit *sql.Stmt

	deptIDs   map[string]int64  // by department key
	deptNames map[string]string // stored names, by department key
}

func prepareBulkAdd(ctx context.Context, tx *sql.Tx, portalID int64, portal, actor string, now time.Time) (*bulkAdd, error) {
	b := &bulkAdd{tx: tx, portalID: portalID, portal: portal, actor: actor, now: now,
		deptIDs: map[string]int64{}, deptNames: map[string]string{}}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&b.insAgent, `INSERT INTO agents
			(portal_id, username, username_key, display_name, email, email_key, role, max_chats, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (portal_id, username_key) DO NOTHING RETURNING id`},
		{&b.insDept, `INSERT INTO agent_departments (agent_id, department_id) VALUES (?, ?) ON CONFLICT DO NOTHING`},
		{&b.insCred, `INSERT INTO agent_credentials
			(agent_id, mechanism, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent_id, mechanism) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
			stored_key = excluded.stored_key, server_key = excluded.server_key`},
		{&b.insAudit, `INSERT INTO audit_log (at, portal, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`},
	} {
		st, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			b.close()
			return nil, err
		}
		*p.stmt = st
	}
	return b, nil
}

func (b *bulkAdd) close() {
	for _, st := range []*sql.Stmt{b.insAgent, b.insDept, b.insCred, b.insAudit} {
		if st != nil {
			release(st)
		}
	}
}

// add inserts one checked agent with its departments, credentials and
// audit row. It reports false for an agent whose username was taken
// meanwhile; an email another agent of the portal has is an error.
func (b *bulkAdd) add(ctx context.Context, n NewAgent, creds []Credential) (bool, error) {
	ms := millis(b.now)
	var id int64
	err := b.insAgent.QueryRowContext(ctx, b.portalID, n.Username, UsernameKey(n.Username), n.DisplayName, n.Email,
		strings.ToLower(n.Email), n.Role, n.MaxChats, ms, ms).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // the username is taken: left as it is
	}
	if isUnique(err) {
		return false, exists("email %q is already used by another agent of portal %q", n.Email, b.portal)
	}
	if err != nil {
		return false, err
	}
	depts, err := b.departments(ctx, id, n.Departments)
	if err != nil {
		return false, err
	}
	for _, c := range creds {
		if _, err := b.insCred.ExecContext(ctx, id, c.Mechanism, c.Salt, c.Iterations, c.StoredKey, c.ServerKey); err != nil {
			return false, err
		}
	}
	detail := fmt.Sprintf("name=%q email=%s role=%s departments=%s (bulk)", n.DisplayName, n.Email, n.Role, strings.Join(depts, ","))
	if _, err := b.insAudit.ExecContext(ctx, ms, b.portal, b.actor, "agent.add", n.Username, detail); err != nil {
		return false, err
	}
	return true, nil
}

// departments puts the agent in the departments named, which must exist
// in the portal, and returns their stored names in the order given.
func (b *bulkAdd) departments(ctx context.Context, agentID int64, names []string) ([]string, error) {
	var out []string
	for _, name := range names {
		key := deptKey(name)
		did, ok := b.deptIDs[key]
		if !ok {
			var stored string
			err := b.tx.QueryRowContext(ctx, `SELECT id, name FROM departments WHERE portal_id = ? AND name_key = ?`, b.portalID, key).Scan(&did, &stored)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, notFound("department %q does not exist in portal %q (create it with: jabberdesk dept add %s %q)", name, b.portal, b.portal, name)
			}
			if err != nil {
				return nil, err
			}
			b.deptIDs[key], b.deptNames[key] = did, stored
		}
		if _, err := b.insDept.ExecContext(ctx, agentID, did); err != nil {
			return nil, err
		}
		out = append(out, b.deptNames[key])
	}
	return out, nil
}
