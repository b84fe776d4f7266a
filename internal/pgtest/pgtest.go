// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the server named by JABBERDESK_TEST_POSTGRES (a postgres://
// URL), dropped when the test ends. Without that variable the tests that
// need PostgreSQL skip, saying so.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable that names the server.
const Env = "JABBERDESK_TEST_POSTGRES"

// ServerURL is the server's URL, "" when none is configured.
func ServerURL() string { return os.Getenv(Env) }

// New makes an empty schema for t and returns a URL whose connections
// use it; it skips t when no server is configured and fails it when the
// server cannot be reached.
func New(t testing.TB) string {
	t.Helper()
	base := ServerURL()
	if base == "" {
		t.Skipf("%s is not set: this test needs a PostgreSQL server (make test with .ci/run's set-up)", Env)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	schema := "jdtest_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", Env, err)
	}
	defer func() { _ = conn.Close(ctx) }() // the schema is made or the test failed
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }() // the drop's outcome is logged
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return WithSchema(t, base, schema)
}

// WithSchema is base with its connections' search_path set to schema.
func WithSchema(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Outage is a database of a test's own, reached over TCP as a role of
// its own, whose logins can be refused and connections ended: what the
// server sees while PostgreSQL restarts.
type Outage struct {
	URL  string // postgres://ROLE:PASSWORD@127.0.0.1:PORT/DB?search_path=SCHEMA
	base string
	role string
}

// NewOutage is New with a role of the test's own (see Outage).
func NewOutage(t testing.TB) *Outage {
	t.Helper()
	base := ServerURL()
	if base == "" {
		t.Skipf("%s is not set: this test needs a PostgreSQL server (make test with .ci/run's set-up)", Env)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	name := "jdtest_" + hex.EncodeToString(b)
	password := hex.EncodeToString(b) + "pw"
	o := &Outage{base: base, role: name}
	var db, port string
	o.admin(t, func(ctx context.Context, conn *pgx.Conn) error {
		if err := conn.QueryRow(ctx, "SELECT current_database(), current_setting('port')").Scan(&db, &port); err != nil {
			return err
		}
		for _, q := range []string{
			"CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'",
			"CREATE SCHEMA " + name + " AUTHORIZATION " + name,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(func() {
		o.admin(t, func(ctx context.Context, conn *pgx.Conn) error {
			for _, q := range []string{
				"ALTER ROLE " + name + " NOLOGIN",
				"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + name + "'",
				"DROP SCHEMA " + name + " CASCADE",
				"DROP ROLE " + name,
			} {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Logf("pgtest: clean up %s: %v", name, err)
				}
			}
			return nil
		})
	})
	u := url.URL{Scheme: "postgres", User: url.UserPassword(name, password), Host: "127.0.0.1:" + port, Path: "/" + db}
	q := u.Query()
	q.Set("search_path", name)
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	o.URL = u.String()
	return o
}

// Down refuses the role's logins and ends its connections.
func (o *Outage) Down(t testing.TB) {
	t.Helper()
	o.admin(t, func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "ALTER ROLE "+o.role+" NOLOGIN"); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '"+o.role+"'")
		return err
	})
}

// Up takes the role's logins again.
func (o *Outage) Up(t testing.TB) {
	t.Helper()
	o.admin(t, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "ALTER ROLE "+o.role+" LOGIN")
		return err
	})
}

// admin runs f on a connection to the configured server.
func (o *Outage) admin(t testing.TB, f func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, o.base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", Env, err)
	}
	defer func() { _ = conn.Close(ctx) }() // what f did is its answer
	if err := f(ctx, conn); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}
