package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresDialect: a pool of connections through pgx's database/sql
// driver (the store's code is written against database/sql, and its
// statement cache prepares each query once per connection), used for
// reads and writes alike. Every write transaction runs SERIALIZABLE, so
// that what SQLite's single writer guarantees — a counter read and
// bumped, a row checked then inserted — holds when several nodes write
// at once; a transaction that lost to a concurrent one is run again
// (Store.tx). The schema version is the row of schema_version.
type postgresDialect struct{}

func (postgresDialect) engine() string { return "postgres" }

func (postgresDialect) schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return 0, err
	}
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v)
	return int(v.Int64), err
}

func (postgresDialect) setSchemaVersion(ctx context.Context, tx *sql.Tx, v int) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v)
	return err
}

func (postgresDialect) txOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
}

// PostgreSQL's error codes (Appendix A of its manual).
const (
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgUniqueViolation      = "23505"
	pgDiskFull             = "53100"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func (postgresDialect) retryable(err error) bool {
	c := pgCode(err)
	return c == pgSerializationFailure || c == pgDeadlockDetected
}

func (postgresDialect) unique(err error) bool { return pgCode(err) == pgUniqueViolation }

func (postgresDialect) full(err error) bool { return pgCode(err) == pgDiskFull }

// unavailable reports whether err says that the server cannot be reached
// or takes no connections for now: a failed connection, a connection
// ended by a shutdown or restart, or a login refused.
func (postgresDialect) unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	c := pgCode(err)
	switch {
	case strings.HasPrefix(c, "08"), // connection exception
		c == "57P01", c == "57P02", c == "57P03", // admin or crash shutdown, cannot connect now
		c == "28000", c == "28P01": // login refused
		return true
	}
	return errors.Is(err, driver.ErrBadConn)
}

// openPostgres connects to the database at url (postgres://...). Both
// returned handles are the same pool.
func openPostgres(url string, opts Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	n := opts.ReadConns
	if n <= 0 {
		n = 4 * runtime.GOMAXPROCS(0)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// rebindConnector gives database/sql connections that take the store's
// SQLite-style queries: `?` and `?N` placeholders become `$N`, a Go
// bool argument is stored as 0 or 1 (the schema keeps flags in integer
// columns, as SQLite does), and a NUL in a text argument, which
// PostgreSQL's text cannot hold, is stored as U+FFFD (no client can show
// it either: XML forbids it).
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return rebindConn{conn.(*stdlib.Conn)}, nil
}

type rebindConn struct{ *stdlib.Conn }

func (c rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), rebind(query))
}

func (c rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), flagArgs(args))
}

func (c rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), flagArgs(args))
}

// CheckNamedValue turns bools into 0 and 1 for prepared statements too.
func (c rebindConn) CheckNamedValue(nv *driver.NamedValue) error {
	nv.Value = flagArgs([]driver.NamedValue{*nv})[0].Value
	return nil
}

func flagArgs(args []driver.NamedValue) []driver.NamedValue {
	for i := range args {
		if b, ok := args[i].Value.(bool); ok {
			args[i].Value = boolInt(b)
		}
		if s, ok := args[i].Value.(string); ok && strings.IndexByte(s, 0) >= 0 {
			args[i].Value = strings.ReplaceAll(s, "\x00", "\uFFFD")
		}
	}
	return args
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rebind rewrites SQLite's placeholders as PostgreSQL's: `?N` is `$N`,
// and a bare `?` is one more than the largest number used before it
// (SQLite's rule). Quoted strings, quoted names and comments are left
// alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	most := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; c {
		case '\'', '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				j := strings.IndexByte(q[i:], '\n')
				if j < 0 {
					j = len(q) - i
				}
				b.WriteString(q[i : i+j])
				i += j - 1
				continue
			}
			b.WriteByte(c)
		case '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := most + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j]) // digits only: cannot fail
			}
			most = max(most, n)
			fmt.Fprintf(&b, "$%d", n)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
