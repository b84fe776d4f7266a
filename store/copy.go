package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Copying a single node's SQLite database into PostgreSQL (jabberdesk
// migrate, docs/CLUSTER.md):
//
//   - The tables, their columns, primary keys and foreign keys are read
//     from both schemas (SQLite's sqlite_schema and pragmas,
//     PostgreSQL's information_schema), never from a list kept here: the
//     two must have the same tables with the same columns and primary
//     keys, or the copy is refused naming the difference.
//   - The source is read in one read transaction (one snapshot); the
//     target is written in one transaction, which first locks every
//     table and refuses a database that holds any row. Tables are copied
//     parents first, as the foreign keys of both schemas order them, with
//     PostgreSQL's COPY protocol; each identity column's sequence is then
//     set past its largest value.
//   - Before the commit every table is read back from PostgreSQL and
//     checked against what was read from SQLite: the number of rows and a
//     checksum of their values (see rowHash). A difference rolls the
//     transaction back: the target is left as it was.

// CopyOptions tune CopyTo. The zero value is usable.
type CopyOptions struct {
	// Progress, if not nil, is told how many rows of a table are copied
	// so far: every copyProgressRows rows and when the table is done.
	Progress func(table string, rows int64)
	// BeforeVerify, if not nil, runs inside the target's transaction once
	// every row is written, before the rows are read back and checked
	// (tests use it to see that a difference is caught).
	BeforeVerify func(ctx context.Context, tx pgx.Tx) error
}

// copyProgressRows is how often CopyOptions.Progress hears of a table
// being copied.
const copyProgressRows = 10000

// CopyReport is what CopyTo did: per table, in the order they were
// copied, the rows and checksums on both sides.
type CopyReport struct {
	From          string      `json:"from"`           // the SQLite file
	To            string      `json:"to"`             // the PostgreSQL URL, without its password
	SchemaVersion int         `json:"schema_version"` // the SQLite database's
	Tables        []TableCopy `json:"tables"`
	Rows          int64       `json:"rows"`      // rows read from SQLite, all tables
	Verified      bool        `json:"verified"`  // every table read back matched
	Committed     bool        `json:"committed"` // the target's transaction was committed
}

// TableCopy is one table of a CopyReport. The checksums are hex SHA-256
// (see rowHash); TargetRows and TargetChecksum are empty until the
// table is read back.
type TableCopy struct {
	Table          string `json:"table"`
	Rows           int64  `json:"rows"`
	Checksum       string `json:"checksum"`
	TargetRows     int64  `json:"target_rows"`
	TargetChecksum string `json:"target_checksum"`
	OK             bool   `json:"ok"`
}

// Errors of CopyTo that callers test for with errors.Is.
var (
	// ErrTargetNotEmpty: the PostgreSQL database already holds rows.
	ErrTargetNotEmpty = errors.New("the target database is not empty")
	// ErrCopyMismatch: a table read back from the target differs from
	// the source; nothing was committed.
	ErrCopyMismatch = errors.New("the copy differs from the source")
)

// OpenCopySource opens the SQLite file at path as it is, to be CopyTo's
// source: unlike Open it creates nothing and migrates nothing, and a
// database whose schema is not this binary's latest is refused.
func OpenCopySource(path string, opts Options) (*Store, error) {
	if IsPostgresURL(path) {
		return nil, fmt.Errorf("store: copy from %s: the source must be an SQLite file", redactURL(path))
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store: copy from %s: no such file", path)
		}
		return nil, fmt.Errorf("store: copy from %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("store: copy from %s: %w", path, err)
	}
	v, err := sqliteDialect{}.schemaVersion(context.Background(), db)
	_ = db.Close() // read-only: nothing to lose
	if err != nil {
		return nil, fmt.Errorf("store: copy from %s: %w", path, err)
	}
	if err := checkSourceVersion(path, v); err != nil {
		return nil, err
	}
	return Open(path, opts)
}

// checkSourceVersion refuses a source database that is not at this
// binary's latest SQLite schema.
func checkSourceVersion(path string, v int) error {
	ms, err := migrations("sqlite")
	if err != nil {
		return fmt.Errorf("store: copy: %w", err)
	}
	switch latest := len(ms); {
	case v == 0:
		return fmt.Errorf("store: copy from %s: not a jabberdesk database (it has no schema version)", path)
	case v < latest:
		return fmt.Errorf("store: copy from %s: the database is at schema version %d and this jabberdesk's is %d; bring it up to date first by running this jabberdesk on it (jabberdesk init), then copy it", path, v, latest)
	case v > latest:
		return fmt.Errorf("store: copy from %s: the database is at schema version %d, newer than this jabberdesk knows (%d); copy it with the jabberdesk that wrote it", path, v, latest)
	}
	return nil
}

// CopyTo copies every row of src, an SQLite store at this binary's
// latest schema, into dst, an empty PostgreSQL store, in one transaction
// that is committed only once every table read back matches (see the
// comment at the top of this file). The report is returned with the
// error too, as far as the copy got: with ErrCopyMismatch it says which
// tables differ.
func CopyTo(ctx context.Context, src, dst *Store, opts CopyOptions) (*CopyReport, error) {
	rep := &CopyReport{From: src.Path(), To: dst.Path(), Tables: []TableCopy{}}
	if src.Engine() != "sqlite" || dst.Engine() != "postgres" {
		return rep, fmt.Errorf("store: copy: from SQLite to PostgreSQL only, not from %s to %s", src.Engine(), dst.Engine())
	}
	v, err := src.SchemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	if err := checkSourceVersion(src.Path(), v); err != nil {
		return rep, err
	}
	rep.SchemaVersion = v
	if have, err := dst.SchemaVersion(ctx); err != nil {
		return rep, err
	} else if want := dst.LatestSchemaVersion(); have != want {
		return rep, fmt.Errorf("store: copy to %s: its schema is at version %d, not this jabberdesk's %d", dst.Path(), have, want)
	}

	// One snapshot of the source: a read transaction holds it from its
	// first read to its end.
	stx, err := src.r.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("store: copy: read %s: %w", src.Path(), err)
	}
	defer func() { _ = stx.Rollback() }() // read only: nothing to keep
	srcSchema, err := readSQLiteSchema(ctx, stx)
	if err != nil {
		return rep, fmt.Errorf("store: copy: read the schema of %s: %w", src.Path(), err)
	}

	err = dst.withPgx(ctx, func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }() // after Commit, a no-op; else the error to report is the one that led here
		dstSchema, err := readPostgresSchema(ctx, tx)
		if err != nil {
			return fmt.Errorf("read the schema of %s: %w", dst.Path(), err)
		}
		tables, err := copyPlan(srcSchema, dstSchema)
		if err != nil {
			return err
		}
		if err := lockEmpty(ctx, tx, tables); err != nil {
			return err
		}
		for _, t := range tables {
			tc, err := copyTable(ctx, stx, tx, t, opts.Progress)
			if err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			rep.Tables = append(rep.Tables, tc)
			rep.Rows += tc.Rows
		}
		if err := resetIdentities(ctx, tx, tables); err != nil {
			return err
		}
		if opts.BeforeVerify != nil {
			if err := opts.BeforeVerify(ctx, tx); err != nil {
				return err
			}
		}
		var bad []string
		for i, t := range tables {
			n, sum, err := postgresChecksum(ctx, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: read back: %w", t.name, err)
			}
			tc := &rep.Tables[i]
			tc.TargetRows, tc.TargetChecksum = n, sum
			tc.OK = tc.Rows == n && tc.Checksum == sum
			switch {
			case tc.Rows != n:
				bad = append(bad, fmt.Sprintf("%s (%d rows copied, %d read back)", t.name, tc.Rows, n))
			case !tc.OK:
				bad = append(bad, t.name+" (checksums differ)")
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%w in %s; nothing was committed", ErrCopyMismatch, strings.Join(bad, ", "))
		}
		rep.Verified = true
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		rep.Committed = true
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("store: copy to %s: %w", dst.Path(), dst.storageFull(err))
	}
	return rep, nil
}

// withPgx runs f on one connection of a PostgreSQL store's pool, as
// pgx's own connection (for COPY and a transaction of pgx's).
func (s *Store) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer release(c)
	return c.Raw(func(dc any) error {
		rc, ok := dc.(rebindConn)
		if !ok {
			return fmt.Errorf("not a PostgreSQL connection (%T)", dc)
		}
		return f(rc.Conn.Conn())
	})
}

// A valueKind is how the copy reads, writes and checksums a column: by
// the PostgreSQL column's type.
type valueKind byte

const (
	kindInt   valueKind = 'i' // bigint, integer, smallint
	kindText  valueKind = 't' // text, varchar
	kindBytes valueKind = 'b' // bytea
)

// postgresKind is the kind of a PostgreSQL column type
// (information_schema's data_type).
func postgresKind(dataType string) (valueKind, bool) {
	switch dataType {
	case "bigint", "integer", "smallint":
		return kindInt, true
	case "text", "character varying":
		return kindText, true
	case "bytea":
		return kindBytes, true
	}
	return 0, false
}

// A schemaTable is one table as a schema describes it.
type schemaTable struct {
	name     string
	cols     []string             // in the schema's order
	kinds    map[string]valueKind // PostgreSQL only
	key      []string             // primary key columns, in key order
	refs     []string             // tables its foreign keys reference
	identity []string             // identity columns (PostgreSQL only)
}

// readSQLiteSchema reads the tables of an SQLite database (those of
// SQLite itself left out).
func readSQLiteSchema(ctx context.Context, tx *sql.Tx) (map[string]*schemaTable, error) {
	names, err := queryStrings(ctx, tx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	tables := map[string]*schemaTable{}
	for _, name := range names {
		t := &schemaTable{name: name}
		rows, err := tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			return nil, err
		}
		type keyCol struct {
			name string
			pos  int
		}
		var key []keyCol
		for rows.Next() {
			var col string
			var pk int
			if err := rows.Scan(&col, &pk); err != nil {
				release(rows)
				return nil, err
			}
			t.cols = append(t.cols, col)
			if pk > 0 {
				key = append(key, keyCol{col, pk})
			}
		}
		release(rows)
		if err := rows.Err(); err != nil {
			return nil, err
		}
		slices.SortFunc(key, func(a, b keyCol) int { return cmp.Compare(a.pos, b.pos) })
		for _, k := range key {
			t.key = append(t.key, k.name)
		}
		t.refs, err = queryStrings(ctx, tx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, name)
		if err != nil {
			return nil, err
		}
		tables[name] = t
	}
	return tables, nil
}

// readPostgresSchema reads the tables of the current schema of a
// PostgreSQL database, but for schema_version (the store's own record of
// its migrations, which SQLite keeps in PRAGMA user_version).
func readPostgresSchema(ctx context.Context, tx pgx.Tx) (map[string]*schemaTable, error) {
	tables := map[string]*schemaTable{}
	rows, err := tx.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		tables[n] = &schemaTable{name: n, kinds: map[string]valueKind{}}
	}
	type column struct{ table, name, dataType, identity string }
	rows, err = tx.Query(ctx, `SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.table, &c.name, &c.dataType, &c.identity)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		t := tables[c.table]
		if t == nil {
			continue // a view, or schema_version
		}
		k, ok := postgresKind(c.dataType)
		if !ok {
			return nil, fmt.Errorf("column %s.%s has the type %s, which the copy does not know", c.table, c.name, c.dataType)
		}
		t.cols = append(t.cols, c.name)
		t.kinds[c.name] = k
		if c.identity == "YES" {
			t.identity = append(t.identity, c.name)
		}
	}
	type pair struct{ table, other string }
	pairs := func(query string) ([]pair, error) {
		rows, err := tx.Query(ctx, query)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
			var p pair
			err := r.Scan(&p.table, &p.other)
			return p, err
		})
	}
	keys, err := pairs(`SELECT k.table_name, k.column_name
		FROM information_schema.table_constraints c
		JOIN information_schema.key_column_usage k
		  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name
		WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema()
		ORDER BY k.table_name, k.ordinal_position`)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if t := tables[k.table]; t != nil {
			t.key = append(t.key, k.other)
		}
	}
	refs, err := pairs(`SELECT DISTINCT c.table_name, u.table_name
		FROM information_schema.table_constraints c
		JOIN information_schema.constraint_table_usage u
		  ON u.constraint_schema = c.constraint_schema AND u.constraint_name = c.constraint_name
		WHERE c.constraint_type = 'FOREIGN KEY' AND c.table_schema = current_schema()`)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if t := tables[r.table]; t != nil {
			t.refs = append(t.refs, r.other)
		}
	}
	return tables, nil
}

// A plannedTable is one table to copy: its columns in PostgreSQL's order
// with their kinds, and its primary key.
type plannedTable struct {
	name     string
	cols     []string
	kinds    []valueKind
	key      []string
	identity []string
}

// copyPlan checks that the two schemas have the same tables, columns and
// primary keys, and orders the tables so that every table comes after
// those its foreign keys (in either schema) reference.
func copyPlan(src, dst map[string]*schemaTable) ([]plannedTable, error) {
	var problems []string
	for _, name := range sortedKeys(src) {
		if dst[name] == nil {
			problems = append(problems, fmt.Sprintf("table %s is in the SQLite database but not in PostgreSQL's schema", name))
		}
	}
	for _, name := range sortedKeys(dst) {
		s, d := src[name], dst[name]
		if s == nil {
			problems = append(problems, fmt.Sprintf("table %s is in PostgreSQL's schema but not in the SQLite database", name))
			continue
		}
		for _, c := range s.cols {
			if !slices.Contains(d.cols, c) {
				problems = append(problems, fmt.Sprintf("column %s.%s is in the SQLite database but not in PostgreSQL's schema", name, c))
			}
		}
		for _, c := range d.cols {
			if !slices.Contains(s.cols, c) {
				problems = append(problems, fmt.Sprintf("column %s.%s is in PostgreSQL's schema but not in the SQLite database", name, c))
			}
		}
		if !slices.Equal(s.key, d.key) {
			problems = append(problems, fmt.Sprintf("table %s has the primary key (%s) in the SQLite database but (%s) in PostgreSQL's schema",
				name, strings.Join(s.key, ", "), strings.Join(d.key, ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the schemas differ (is this jabberdesk's schema on both sides?):\n%s", strings.Join(problems, "\n"))
	}

	// Parents first: a depth-first walk of the references, tables in
	// name order so that the order is always the same.
	var order []plannedTable
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("the foreign keys of tables %s form a cycle: no order copies them", strings.Join(append(path, name), " → "))
		case 2:
			return nil
		}
		state[name] = 1
		d := dst[name]
		refs := slices.Concat(src[name].refs, d.refs)
		slices.Sort(refs)
		for _, r := range slices.Compact(refs) {
			if r == name || dst[r] == nil {
				continue // a row referring to its own table; or a table of neither schema, which the checks above name
			}
			if err := visit(r, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		pt := plannedTable{name: name, cols: d.cols, key: d.key, identity: d.identity}
		for _, c := range d.cols {
			pt.kinds = append(pt.kinds, d.kinds[c])
		}
		if len(pt.key) == 0 {
			pt.key = d.cols // no primary key: every column orders the rows
		}
		order = append(order, pt)
		return nil
	}
	for _, name := range sortedKeys(dst) {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lockEmpty locks every table of the target against writes until the
// transaction ends, then refuses it if any holds a row.
func lockEmpty(ctx context.Context, tx pgx.Tx, tables []plannedTable) error {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = pgx.Identifier{t.name}.Sanitize()
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the tables: %w", err)
	}
	var full []string
	for i, t := range tables {
		var has bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+names[i]+`)`).Scan(&has); err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		if has {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: it has rows in %s; copy into a new, empty database", ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// copyTable copies one table's rows, in primary key order, and returns
// their number and checksum.
func copyTable(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t plannedTable, progress func(string, int64)) (TableCopy, error) {
	rows, err := stx.QueryContext(ctx, selectInOrder(t, sqliteIdent, "BINARY", ""))
	if err != nil {
		return TableCopy{}, fmt.Errorf("read: %w", err)
	}
	defer release(rows)
	src := &sqliteSource{rows: rows, t: t, hash: newRowHash(), progress: progress}
	src.scan = make([]any, len(t.cols))
	src.ptrs = make([]any, len(t.cols))
	for i := range src.scan {
		src.ptrs[i] = &src.scan[i]
	}
	src.vals = make([]any, len(t.cols))
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src)
	if src.err != nil {
		return TableCopy{}, src.err // what stopped the copy, rather than the COPY's word for it
	}
	if err != nil {
		return TableCopy{}, err
	}
	if n != src.n {
		return TableCopy{}, fmt.Errorf("%d rows read, %d written", src.n, n)
	}
	if progress != nil {
		progress(t.name, n)
	}
	return TableCopy{Table: t.name, Rows: n, Checksum: src.hash.sum()}, nil
}

// selectInOrder is the query that reads a table's columns in primary key
// order. Text keys are compared byte by byte on both engines (collation,
// BINARY on SQLite, "C" on PostgreSQL); nullsFirst is what puts NULLs
// where SQLite does, for tables without a key.
func selectInOrder(t plannedTable, ident func(string) string, collation, nullsFirst string) string {
	cols := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i] = ident(c)
	}
	order := make([]string, len(t.key))
	for i, k := range t.key {
		order[i] = ident(k)
		if t.kinds[slices.Index(t.cols, k)] == kindText {
			order[i] += " COLLATE " + collation
		}
		order[i] += nullsFirst
	}
	return `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + ident(t.name) + ` ORDER BY ` + strings.Join(order, ", ")
}

func sqliteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func postgresIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// sqliteSource feeds COPY with a table's rows read from SQLite, each
// value converted to its PostgreSQL column's kind and added to the
// checksum as it goes.
type sqliteSource struct {
	rows     *sql.Rows
	t        plannedTable
	scan     []any // as SQLite gives them
	ptrs     []any // to scan's elements
	vals     []any // as PostgreSQL takes them
	hash     *rowHash
	n        int64
	err      error
	progress func(string, int64)
}

func (s *sqliteSource) Next() bool {
	if s.err != nil || !s.rows.Next() {
		return false
	}
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = err
		return false
	}
	s.n++
	for i, k := range s.t.kinds {
		v, err := k.fromSQLite(s.scan[i])
		if err != nil {
			s.err = fmt.Errorf("row %d (%s): column %s: %w", s.n, s.keyText(), s.t.cols[i], err)
			return false
		}
		s.vals[i] = v
	}
	s.hash.row(s.vals)
	if s.progress != nil && s.n%copyProgressRows == 0 {
		s.progress(s.t.name, s.n)
	}
	return true
}

func (s *sqliteSource) Values() ([]any, error) { return s.vals, nil }

func (s *sqliteSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// keyText names the current row by its primary key, for messages.
func (s *sqliteSource) keyText() string {
	parts := make([]string, len(s.t.key))
	for i, k := range s.t.key {
		v := s.scan[slices.Index(s.t.cols, k)]
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		parts[i] = fmt.Sprintf("%s=%v", k, v)
	}
	return strings.Join(parts, ", ")
}

// fromSQLite converts a value as SQLite gives it (int64, float64,
// string, []byte or nil) to what PostgreSQL stores in a column of kind
// k: int64, string or []byte, or nil. A value the column cannot hold is
// an error, never something changed to fit.
func (k valueKind) fromSQLite(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
		return nil, fmt.Errorf("want an integer, got %s", sqliteTypeOf(v))
	case kindText:
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		default:
			return nil, fmt.Errorf("want text, got %s", sqliteTypeOf(v))
		}
		if !utf8.ValidString(s) {
			return nil, errors.New("text that is not UTF-8, which PostgreSQL cannot store")
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, errors.New("text with a NUL character, which PostgreSQL cannot store")
		}
		return s, nil
	case kindBytes:
		switch v := v.(type) {
		case []byte:
			return v, nil
		case string: // text in a BLOB column: the same bytes
			return []byte(v), nil
		}
		return nil, fmt.Errorf("want bytes, got %s", sqliteTypeOf(v))
	}
	return nil, fmt.Errorf("unknown kind %q", k)
}

func sqliteTypeOf(v any) string {
	switch v := v.(type) {
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the real number %v", v)
	case string:
		return "text"
	case []byte:
		return "a blob"
	}
	return fmt.Sprintf("%T", v)
}

// postgresChecksum reads a table back from PostgreSQL in primary key
// order and returns its number of rows and checksum.
func postgresChecksum(ctx context.Context, tx pgx.Tx, t plannedTable) (int64, string, error) {
	rows, err := tx.Query(ctx, selectInOrder(t, postgresIdent, `"C"`, " NULLS FIRST"))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	h := newRowHash()
	vals := make([]any, len(t.cols))
	var n int64
	for rows.Next() {
		got, err := rows.Values()
		if err != nil {
			return 0, "", err
		}
		for i, v := range got {
			switch x := v.(type) {
			case int16:
				v = int64(x)
			case int32:
				v = int64(x)
			case nil, int64, string, []byte:
			default:
				return 0, "", fmt.Errorf("column %s: unexpected %T", t.cols[i], v)
			}
			vals[i] = v
		}
		h.row(vals)
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	return n, h.sum(), nil
}

// resetIdentities sets each identity column's sequence so that the next
// row the store adds gets one more than the largest value copied (1 in
// an empty table).
func resetIdentities(ctx context.Context, tx pgx.Tx, tables []plannedTable) error {
	for _, t := range tables {
		for _, c := range t.identity {
			q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(max(%s), 0) + 1, false) FROM %s`,
				postgresIdent(c), postgresIdent(t.name))
			if _, err := tx.Exec(ctx, q, postgresIdent(t.name), c); err != nil {
				return fmt.Errorf("table %s: set the sequence of %s: %w", t.name, c, err)
			}
		}
	}
	return nil
}

// rowHash is a table's checksum: SHA-256 over its rows in primary key
// order, each value of a row in the order of the PostgreSQL table's
// columns, each value encoded the same way whichever engine it was read
// from:
//
//	NULL     'n'
//	integer  'i' and the value as 8 bytes, big-endian two's complement
//	text     't', the length in bytes as 8 bytes big-endian, the UTF-8 bytes
//	bytes    'b', the length as 8 bytes big-endian, the bytes
//
// A value is text or bytes by its PostgreSQL column's type (so that
// text SQLite keeps in a BLOB column counts as bytes on both sides).
// Every value says its own length, so rows need no separator.
type rowHash struct {
	h   hash.Hash
	buf []byte
}

func newRowHash() *rowHash { return &rowHash{h: sha256.New()} }

// row adds one row of values: nil, int64, string or []byte.
func (r *rowHash) row(vals []any) {
	b := r.buf[:0]
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
			b = append(b, 'n')
		case int64:
			b = append(b, 'i')
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		case string:
			b = append(b, 't')
			b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, 'b')
			b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("store: rowHash of %T", v)) // the callers convert every value first
		}
	}
	_, _ = r.h.Write(b) // a hash.Hash never fails to write
	r.buf = b
}

func (r *rowHash) sum() string { return hex.EncodeToString(r.h.Sum(nil)) }

// queryStrings is the first column of every row of a query.
func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer release(rows)
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
