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
