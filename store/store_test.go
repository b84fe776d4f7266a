package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/pgtest"
)

// testEngine is the engine the store's tests run on: SQLite, or
// PostgreSQL when JABBERDESK_TEST_STORE=postgres (make test runs the
// package a second time so, when pgtest.Env names a server).
func testEngine() string {
	if os.Getenv("JABBERDESK_TEST_STORE") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// testAddr is a new, empty database of the test engine.
func testAddr(t testing.TB) string {
	t.Helper()
	if testEngine() == "postgres" {
		if pgtest.ServerURL() == "" {
			t.Fatalf("JABBERDESK_TEST_STORE=postgres needs %s", pgtest.Env)
		}
		return pgtest.New(t)
	}
	return filepath.Join(t.TempDir(), "jd.db")
}

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(testAddr(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sqliteOnly skips a test about SQLite's file when the tests run on
// PostgreSQL.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if testEngine() != "sqlite" {
		t.Skip("about the SQLite file: run in the SQLite pass")
	}
}

func TestPostgresEngine(t *testing.T) {
	if testEngine() == "sqlite" {
		if pgtest.ServerURL() == "" {
			t.Skipf("the store's tests ran on SQLite only: set %s to a PostgreSQL server (make test then runs them on PostgreSQL too)", pgtest.Env)
		}
		t.Skip("the PostgreSQL pass is a second run with JABBERDESK_TEST_STORE=postgres")
	}
	s := openTest(t)
	if s.Engine() != "postgres" {
		t.Fatalf("engine %q", s.Engine())
	}
	if strings.Contains(s.Path(), "password") {
		t.Fatal("path shows the password")
	}
}

func TestMigrationsEmptyAndUpToDate(t *testing.T) {
	path := testAddr(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != s.LatestSchemaVersion() || v < 1 {
		t.Fatalf("schema version %d, %v; want %d", v, err, s.LatestSchemaVersion())
	}
	if _, err := s.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Opening an up-to-date database applies nothing and keeps the data.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v2, _ := s.SchemaVersion(ctx); v2 != v {
		t.Fatalf("version changed from %d to %d", v, v2)
	}
	if _, err := s.Portal(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if s.Engine() != "sqlite" {
		return
	}
	var mode string
	s.w.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
	var fk int
	s.r.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Error("foreign keys are off on the read pool")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := testAddr(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.tx(context.Background(), func(tx *sql.Tx) error { return s.d.setSchemaVersion(context.Background(), tx, 999) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("got %v, want an error about a newer schema", err)
	}
}

func TestValidateUsername(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"fiona.b", ""},
		{"Fiona_B.2026", ""},
		{"ab", `username "ab" is too short (6 to 30 characters)`},
		{strings.Repeat("a", 31), `is too long (6 to 30 characters)`},
		{"fiona b", `has a character that is not allowed: ' '`},
		{"fiona-b", `has a character that is not allowed: '-'`},
		{"fiöna.b", `has a character that is not allowed: 'ö'`},
		{"board", "too short"},
		{"v-1042", "not allowed"},
	} {
		err := ValidateUsername(tc.name)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: unexpected %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.name, err, tc.want)
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Errorf("%q: error is not ErrInvalid", tc.name)
		}
	}
}

func TestValidatePortalName(t *testing.T) {
	for name, ok := range map[string]bool{"acme": true, "a1": true, "my-shop": true, "Acme": false, "-x": false, "a": false, strings.Repeat("a", 31): false, "a_b": false} {
		if err := ValidatePortalName(name); (err == nil) != ok {
			t.Errorf("%q: got %v", name, err)
		}
	}
}

func TestAgentLifecycle(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPortal(ctx, "acme", "test"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate portal: %v", err)
	}
	if _, err := s.AddDepartment(ctx, "acme", "Sales", "", "", "test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAgent(ctx, NewAgent{Portal: "acme", Username: "Fiona.B", DisplayName: "Fiona B", Email: "fiona@acme.example",
		Departments: []string{"sales"}, Password: "correct horse"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != RoleAgent || a.MaxChats != DefaultMaxChats || len(a.Departments) != 1 || a.Departments[0] != "Sales" {
		t.Fatalf("unexpected agent %+v", a)
	}
	// Usernames are unique ignoring case.
	_, err = s.AddAgent(ctx, NewAgent{Portal: "acme", Username: "fiona.b", Email: "other@acme.example", Password: "12345678"}, "test")
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `is taken in portal "acme"`) {
		t.Fatalf("duplicate username: %v", err)
	}
	if err := s.CheckUsername(ctx, "acme", "FIONA.B"); !errors.Is(err, ErrExists) {
		t.Fatalf("check-username: %v", err)
	}
	if err := s.CheckUsername(ctx, "", "george.w"); err != nil {
		t.Fatalf("check-username free: %v", err)
	}
	// Unknown department is refused with a hint.
	_, err = s.AddAgent(ctx, NewAgent{Portal: "acme", Username: "george.w", Email: "g@acme.example", Departments: []string{"Nope"}, Password: "12345678"}, "test")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "jabberdesk dept add") {
		t.Fatalf("unknown department: %v", err)
	}

	got, creds, err := s.Login(ctx, "acme", "FIONA.b")
	if err != nil || got.ID != a.ID || len(creds) != 2 {
		t.Fatalf("login: %+v %d %v", got, len(creds), err)
	}
	for _, c := range creds {
		if c.Iterations < 4096 || len(c.Salt) < 16 {
			t.Errorf("%s: weak parameters %+v", c.Mechanism, c)
		}
		if !c.VerifyPassword("correct horse") || c.VerifyPassword("wrong horse") {
			t.Errorf("%s: password check broken", c.Mechanism)
		}
	}
	if _, _, err := s.Login(ctx, "acme", "nobody.here"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown login: %v", err)
	}
	if _, _, err := s.Login(ctx, "other", "fiona.b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown portal login: %v", err)
	}

	if err := s.SetPassword(ctx, "acme", "fiona.b", "new password", "test"); err != nil {
		t.Fatal(err)
	}
	_, creds, _ = s.Login(ctx, "acme", "fiona.b")
	if !creds[0].VerifyPassword("new password") {
		t.Fatal("password not changed")
	}

	name, role := "Fiona Brown", RoleSupervisor
	a, err = s.UpdateAgent(ctx, "acme", "fiona.b", AgentUpdate{DisplayName: &name, Role: &role, Departments: &[]string{}}, "test")
	if err != nil || a.DisplayName != name || a.Role != role || len(a.Departments) != 0 {
		t.Fatalf("update: %+v %v", a, err)
	}
	if err := s.RemoveAgent(ctx, "acme", "fiona.b", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Agent(ctx, "acme", "fiona.b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after remove: %v", err)
	}
	entries, err := s.Audit(ctx, "acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	want := "agent.remove agent.set agent.passwd agent.add dept.add portal.add"
	if strings.Join(actions, " ") != want {
		t.Fatalf("audit actions %q, want %q", actions, want)
	}
}

func TestPortalsAreSeparate(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, p := range []string{"acme", "globex"} {
		if _, err := s.AddPortal(ctx, p, "test"); err != nil {
			t.Fatal(err)
		}
	}
	// The same username and email may exist in two portals.
	for _, p := range []string{"acme", "globex"} {
		if _, err := s.AddAgent(ctx, NewAgent{Portal: p, Username: "fiona.b", Email: "f@example.com", Password: "12345678"}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	as, _ := s.Agents(ctx, "acme")
	if len(as) != 1 || as[0].Portal != "acme" {
		t.Fatalf("acme agents: %+v", as)
	}
	if err := s.RemovePortal(ctx, "globex", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Agents(ctx, "globex"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("agents of removed portal: %v", err)
	}
	if as, _ := s.Agents(ctx, "acme"); len(as) != 1 {
		t.Fatal("removing one portal touched another")
	}
}

func TestDepartments(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	s.AddPortal(ctx, "acme", "test")
	if _, err := s.AddDepartment(ctx, "acme", "Technical Support", DeskView, RoutingRoundRobin, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDepartment(ctx, "acme", "technical support", "", "", "test"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate department: %v", err)
	}
	if _, err := s.AddDepartment(ctx, "acme", "Bad", "sometimes", "", "test"); err == nil || !strings.Contains(err.Error(), "mapped, choose, view, none") {
		t.Fatalf("bad desk mode: %v", err)
	}
	mode := DeskNone
	d, err := s.UpdateDepartment(ctx, "acme", "TECHNICAL SUPPORT", DepartmentUpdate{DeskMode: &mode}, "test")
	if err != nil || d.DeskMode != DeskNone || d.Routing != RoutingRoundRobin {
		t.Fatalf("update: %+v %v", d, err)
	}
	if err := s.RemoveDepartment(ctx, "acme", "technical support", "test"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.Departments(ctx, "acme"); len(ds) != 0 {
		t.Fatalf("left: %+v", ds)
	}
}

func TestBoardPosts(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	s.AddPortal(ctx, "acme", "test")
	for _, body := range []string{"one", "two", "three"} {
		if _, err := s.AddBoardPost(ctx, "acme", "fiona.b", "Fiona", body); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := s.BoardPosts(ctx, "acme", 2)
	if err != nil || len(ps) != 2 || ps[0].Body != "two" || ps[1].Body != "three" {
		t.Fatalf("posts %+v %v", ps, err)
	}
}

func TestSignInAddresses(t *testing.T) {
	s, ctx := twoAgents(t)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	if ok, err := s.KnownSignInAddress(ctx, "acme", "fiona.b", "192.0.2.1"); ok || err != nil {
		t.Fatalf("before: %v %v", ok, err)
	}
	if err := s.RememberSignInAddress(ctx, "acme", "Fiona.B", "192.0.2.1", now); err != nil {
		t.Fatal(err)
	}
	if err := s.RememberSignInAddress(ctx, "acme", "fiona.b", "192.0.2.1", now); err != nil { // again: harmless
		t.Fatal(err)
	}
	if ok, err := s.KnownSignInAddress(ctx, "acme", "fiona.b", "192.0.2.1"); !ok || err != nil {
		t.Fatalf("after: %v %v", ok, err)
	}
	for _, other := range [][3]string{{"acme", "george.w", "192.0.2.1"}, {"acme", "fiona.b", "192.0.2.2"}, {"globex", "fiona.b", "192.0.2.1"}} {
		if ok, _ := s.KnownSignInAddress(ctx, other[0], other[1], other[2]); ok {
			t.Fatalf("%v is known", other)
		}
	}
	if err := s.RememberSignInAddress(ctx, "acme", "nobody", "192.0.2.1", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
	now = now.Add(91 * 24 * time.Hour)
	if ok, _ := s.KnownSignInAddress(ctx, "acme", "fiona.b", "192.0.2.1"); ok {
		t.Fatal("an address unused for 91 days is still known")
	}
}

// queryPlan is the steps of SQLite's plan for a query.
func queryPlan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}
