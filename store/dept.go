package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Department groups a portal's agents; chats are routed by department.
type Department struct {
	ID        int64     `json:"-"`
	Portal    string    `json:"portal"`
	Name      string    `json:"name"`
	DeskMode  DeskMode  `json:"desk_mode"`
	Routing   Routing   `json:"routing"`
	CreatedAt time.Time `json:"created_at"`
}

// DepartmentUpdate changes the fields that are not nil.
type DepartmentUpdate struct {
	Name     *string
	DeskMode *DeskMode
	Routing  *Routing
}

func deptKey(name string) string { return strings.ToLower(name) }

// AddDepartment creates a department. Empty mode and routing take the
// defaults (mapped, broadcast).
func (s *Store) AddDepartment(ctx context.Context, portal, name string, mode DeskMode, routing Routing, actor string) (Department, error) {
	if err := ValidateDepartmentName(name); err != nil {
		return Department{}, err
	}
	if mode == "" {
		mode = DeskMapped
	}
	if routing == "" {
		routing = RoutingBroadcast
	}
	if _, err := ParseDeskMode(string(mode)); err != nil {
		return Department{}, err
	}
	if _, err := ParseRouting(string(routing)); err != nil {
		return Department{}, err
	}
	d := Department{Portal: portal, Name: name, DeskMode: mode, Routing: routing, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := portalID(ctx, tx, portal)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx,
			`INSERT INTO departments (portal_id, name, name_key, desk_mode, routing, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			pid, name, deptKey(name), mode, routing, millis(d.CreatedAt)).Scan(&d.ID)
		if isUnique(err) {
			return exists("department %q already exists in portal %q", name, portal)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, d.CreatedAt, portal, actor, "dept.add", name, "desk_mode="+string(mode)+" routing="+string(routing))
	})
	if err != nil {
		return Department{}, wrap("add department", err)
	}
	return d, nil
}

const deptColumns = `d.id, p.name, d.name, d.desk_mode, d.routing, d.created_at`

func scanDept(row scanner) (Department, error) {
	var d Department
	var created int64
	err := row.Scan(&d.ID, &d.Portal, &d.Name, &d.DeskMode, &d.Routing, &created)
	d.CreatedAt = fromMillis(created)
	return d, err
}

// Department looks a department up by name, case-insensitively.
func (s *Store) Department(ctx context.Context, portal, name string) (Department, error) {
	return s.department(ctx, s.r, portal, name)
}

func (s *Store) department(ctx context.Context, q querier, portal, name string) (Department, error) {
	d, err := scanDept(q.QueryRowContext(ctx,
		`SELECT `+deptColumns+` FROM departments d JOIN portals p ON p.id = d.portal_id WHERE p.name = ? AND d.name_key = ?`,
		portal, deptKey(name)))
	if errors.Is(err, sql.ErrNoRows) {
		if _, perr := portalID(ctx, q, portal); perr != nil {
			return Department{}, perr
		}
		return Department{}, notFound("department %q does not exist in portal %q (see: jabberdesk dept list %s)", name, portal, portal)
	}
	return d, wrap("get department", err)
}

// Departments lists a portal's departments by name.
func (s *Store) Departments(ctx context.Context, portal string) ([]Department, error) {
	if _, err := portalID(ctx, s.r, portal); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+deptColumns+` FROM departments d JOIN portals p ON p.id = d.portal_id WHERE p.name = ? ORDER BY d.name_key`, portal)
	if err != nil {
		return nil, wrap("list departments", err)
	}
	defer release(rows)
	var ds []Department
	for rows.Next() {
		d, err := scanDept(rows)
		if err != nil {
			return nil, wrap("list departments", err)
		}
		ds = append(ds, d)
	}
	return ds, wrap("list departments", rows.Err())
}

// UpdateDepartment renames a department or changes its modes.
func (s *Store) UpdateDepartment(ctx context.Context, portal, name string, u DepartmentUpdate, actor string) (Department, error) {
	var d Department
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = s.department(ctx, tx, portal, name)
		if err != nil {
			return err
		}
		var changes []string
		if u.Name != nil && *u.Name != d.Name {
			if err := ValidateDepartmentName(*u.Name); err != nil {
				return err
			}
			changes = append(changes, "name="+*u.Name)
			d.Name = *u.Name
		}
		if u.DeskMode != nil {
			if _, err := ParseDeskMode(string(*u.DeskMode)); err != nil {
				return err
			}
			changes = append(changes, "desk_mode="+string(*u.DeskMode))
			d.DeskMode = *u.DeskMode
		}
		if u.Routing != nil {
			if _, err := ParseRouting(string(*u.Routing)); err != nil {
				return err
			}
			changes = append(changes, "routing="+string(*u.Routing))
			d.Routing = *u.Routing
		}
		_, err = tx.ExecContext(ctx, `UPDATE departments SET name = ?, name_key = ?, desk_mode = ?, routing = ? WHERE id = ?`,
			d.Name, deptKey(d.Name), d.DeskMode, d.Routing, d.ID)
		if isUnique(err) {
			return exists("department %q already exists in portal %q", d.Name, portal)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "dept.set", name, strings.Join(changes, " "))
	})
	if err != nil {
		return Department{}, wrap("update department", err)
	}
	return d, nil
}

// RemoveDepartment deletes a department; its agents stay, without it.
func (s *Store) RemoveDepartment(ctx context.Context, portal, name, actor string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		d, err := s.department(ctx, tx, portal, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM departments WHERE id = ?`, d.ID); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), portal, actor, "dept.remove", d.Name, "")
	})
	return wrap("remove department", err)
}
