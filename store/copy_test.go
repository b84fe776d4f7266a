package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"jabberdesk/internal/pgtest"
)

// copyStores is an SQLite store filled with chatFixture's portals and
// agents and an empty PostgreSQL one; it skips without a PostgreSQL
// server, and in the PostgreSQL pass (the copy runs from SQLite
// whatever the pass).
func copyStores(t *testing.T) (src, dst *Store, dstURL string) {
	t.Helper()
	if testEngine() == "postgres" {
		t.Skip("copies SQLite into PostgreSQL: runs in the SQLite pass")
	}
	dstURL = pgtest.New(t)
	src, err := Open(filepath.Join(t.TempDir(), "src.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	fillChatFixture(t, src)
	dst, err = Open(dstURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	return src, dst, dstURL
}

// fillCopyFixture adds a little of most kinds of rows to src.
func fillCopyFixture(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := mustChat(t, s, newChat("acme", "Ann", "ann@example.com"))
	if err := s.AddChatAgent(ctx, c.ID, "acme", "fiona.b", ChatRoleOwner, t0); err != nil {
		t.Fatal(err)
	}
	say(t, s, c.ID, "visitor_message", AuthorVisitor, "", "", "héllo ✓", t0)
	say(t, s, c.ID, "message", AuthorAgent, "fiona.b", "Fiona B", "hi", t0.Add(time.Second))
	for i := range 50 {
		pair(t, s, "george.w", "fiona.b", fmt.Sprintf("st-%d", i), fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if err := s.StoreOffline(ctx, "acme", "george.w", jidOf("fiona.b"), []byte("<message><body>later</body></message>")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVCard(ctx, "acme", "fiona.b", VCard{Nickname: "Fi", PhotoType: "image/png", Photo: []byte{0x89, 'P', 'N', 'G', 0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Block(ctx, "acme", "fiona.b", []string{"spam@example.com", "Ärger@example.com", "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPortalSetting(ctx, "acme", "team_name", "Acme team", "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConsoleSession(ctx, consoleSession("fiona.b", "copied", t0), consoleLimits, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
}

func TestCopyToPostgres(t *testing.T) {
	src, dst, dstURL := copyStores(t)
	fillCopyFixture(t, src)
	ctx := context.Background()
	var heard []string
	rep, err := CopyTo(ctx, src, dst, CopyOptions{Progress: func(table string, rows int64) { heard = append(heard, table) }})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified || !rep.Committed || rep.SchemaVersion != src.LatestSchemaVersion() || rep.From != src.Path() || rep.To != dst.Path() {
		t.Errorf("report %+v", rep)
	}
	rows := map[string]int64{}
	var total int64
	for i, tc := range rep.Tables {
		if !tc.OK || tc.Rows != tc.TargetRows || tc.Checksum != tc.TargetChecksum || len(tc.Checksum) != 64 {
			t.Errorf("table %+v", tc)
		}
		rows[tc.Table] = tc.Rows
		total += tc.Rows
		if tc.Table == "agents" && !slices.ContainsFunc(rep.Tables[:i], func(p TableCopy) bool { return p.Table == "portals" }) {
			t.Error("agents copied before portals")
		}
	}
	if total != rep.Rows || rows["portals"] != 2 || rows["agents"] != 3 || rows["agent_credentials"] != 6 || rows["archive"] != 50 ||
		rows["chat_events"] != 2 || rows["blocklist"] != 3 || rows["vcards"] != 1 || rows["offline_messages"] != 1 ||
		rows["console_sessions"] != 1 {
		t.Errorf("rows %v", rows)
	}
	if len(heard) != len(rep.Tables) {
		t.Errorf("progress heard of %d tables, %d copied", len(heard), len(rep.Tables))
	}
	if _, ok := rows["schema_version"]; ok {
		t.Error("schema_version copied")
	}

	// What the store reads back on PostgreSQL.
	ps, err := dst.Portals(ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "acme" {
		t.Errorf("portals %v %v", ps, err)
	}
	copied := consoleSession("fiona.b", "copied", time.Time{})
	if cs, err := dst.ConsoleSession(ctx, copied.Key); err != nil || cs.Agent != "fiona.b" || !bytes.Equal(cs.Cred, copied.Cred) || cs.CSRF != copied.CSRF {
		t.Errorf("console session %+v %v", cs, err)
	}
	// The sequences go on after the largest id copied.
	conn, err := pgx.Connect(ctx, dstURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var maxID, next int64
	if err := conn.QueryRow(ctx, `SELECT max(id) FROM archive`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('archive', 'id'))`).Scan(&next); err != nil || next != maxID+1 {
		t.Errorf("next archive id %d, largest copied %d (%v)", next, maxID, err)
	}
	if err := conn.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('board_posts', 'id'))`).Scan(&next); err != nil || next != 1 {
		t.Errorf("next board post id %d in an empty table (%v)", next, err)
	}
	var photo []byte
	if err := conn.QueryRow(ctx, `SELECT photo FROM vcards`).Scan(&photo); err != nil || string(photo) != "\x89PNG\x00\x01\x02" {
		t.Errorf("photo %q %v", photo, err)
	}

	// Once is enough.
	if _, err := CopyTo(ctx, src, dst, CopyOptions{}); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "portals") {
		t.Errorf("a second copy: %v", err)
	}
}

// A difference seen when the copy is read back is reported per table and
// nothing is committed.
func TestCopyMismatchRollsBack(t *testing.T) {
	src, dst, dstURL := copyStores(t)
	ctx := context.Background()
	rep, err := CopyTo(ctx, src, dst, CopyOptions{BeforeVerify: func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE agents SET display_name = 'Mallory' WHERE username = 'george.w'`)
		return err
	}})
	if !errors.Is(err, ErrCopyMismatch) || !strings.Contains(err.Error(), "agents (checksums differ)") || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("error %v", err)
	}
	if rep.Committed || rep.Verified {
		t.Errorf("report %+v", rep)
	}
	for _, tc := range rep.Tables {
		if tc.OK != (tc.Table != "agents") || tc.TargetChecksum == "" {
			t.Errorf("table %+v", tc)
		}
	}
	conn, err := pgx.Connect(ctx, dstURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM portals`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d portals left after a failed copy (%v)", n, err)
	}
	// A row missing is counted as such.
	_, err = CopyTo(ctx, src, dst, CopyOptions{BeforeVerify: func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)`)
		return err
	}})
	if !errors.Is(err, ErrCopyMismatch) || !strings.Contains(err.Error(), "audit_log (") || !strings.Contains(err.Error(), "read back)") {
		t.Errorf("error %v", err)
	}
	// And the target is still fit for a copy.
	if _, err := CopyTo(ctx, src, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// The copy refuses what it cannot copy faithfully, saying what.
func TestCopyRefusals(t *testing.T) {
	src, dst, _ := copyStores(t)
	ctx := context.Background()

	// A schema that differs.
	if _, err := src.w.ExecContext(ctx, `ALTER TABLE portals ADD COLUMN colour TEXT`); err != nil {
		t.Fatal(err)
	}
	_, err := CopyTo(ctx, src, dst, CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), "column portals.colour is in the SQLite database but not in PostgreSQL's schema") {
		t.Errorf("extra column: %v", err)
	}
	if _, err := src.w.ExecContext(ctx, `ALTER TABLE portals DROP COLUMN colour`); err != nil {
		t.Fatal(err)
	}
	if _, err := src.w.ExecContext(ctx, `CREATE TABLE extra (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyTo(ctx, src, dst, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "table extra is in the SQLite database but not in PostgreSQL's schema") {
		t.Errorf("extra table: %v", err)
	}
	if _, err := src.w.ExecContext(ctx, `DROP TABLE extra`); err != nil {
		t.Fatal(err)
	}

	// Text PostgreSQL cannot hold is named by table, row and column.
	if _, err := src.w.ExecContext(ctx, `UPDATE agents SET display_name = 'G' || char(0) || 'W' WHERE username = 'george.w'`); err != nil {
		t.Fatal(err)
	}
	_, err = CopyTo(ctx, src, dst, CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), "table agents: row 2 (id=2): column display_name: text with a NUL character, which PostgreSQL cannot store") {
		t.Errorf("NUL: %v", err)
	}
	if _, err := src.w.ExecContext(ctx, `UPDATE agents SET display_name = 'George W' WHERE username = 'george.w'`); err != nil {
		t.Fatal(err)
	}
	// An integer column holding text.
	if _, err := src.w.ExecContext(ctx, `UPDATE agents SET max_chats = 'many' WHERE username = 'george.w'`); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyTo(ctx, src, dst, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "column max_chats: want an integer, got text") {
		t.Errorf("text in an integer column: %v", err)
	}
	if _, err := src.w.ExecContext(ctx, `UPDATE agents SET max_chats = 5`); err != nil {
		t.Fatal(err)
	}

	// Only from SQLite to PostgreSQL.
	if _, err := CopyTo(ctx, dst, src, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "from SQLite to PostgreSQL only") {
		t.Errorf("backwards: %v", err)
	}
	// Nothing above left a row behind.
	if _, err := CopyTo(ctx, src, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// OpenCopySource takes a database as it is: one of an older schema is
// sent to be brought up to date first, and nothing is created.
func TestOpenCopySource(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	if _, err := OpenCopySource(filepath.Join(dir, "none.db"), Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "jd.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	latest := s.LatestSchemaVersion()
	if _, err := s.w.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, latest-1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	want := fmt.Sprintf("at schema version %d and this jabberdesk's is %d; bring it up to date first", latest-1, latest)
	if _, err := OpenCopySource(path, Options{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("older schema: %v", err)
	}
	// Up to date again (Open would run the last migration).
	setSchemaVersion(t, path, latest)
	s, err = OpenCopySource(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenCopySource("postgres://db.example.com/jd", Options{}); err == nil || !strings.Contains(err.Error(), "must be an SQLite file") {
		t.Errorf("a URL: %v", err)
	}
}

// The order of the copy follows the foreign keys of both schemas; a
// cycle is refused.
func TestCopyPlan(t *testing.T) {
	table := func(name string, refs ...string) *schemaTable {
		return &schemaTable{name: name, cols: []string{"id"}, kinds: map[string]valueKind{"id": kindInt}, key: []string{"id"}, refs: refs}
	}
	schema := func(ts ...*schemaTable) map[string]*schemaTable {
		m := map[string]*schemaTable{}
		for _, t := range ts {
			m[t.name] = t
		}
		return m
	}
	src := schema(table("a", "c"), table("b"), table("c"), table("d", "d"))
	dst := schema(table("a"), table("b", "d"), table("c"), table("d"))
	plan, err := copyPlan(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plan {
		names = append(names, p.name)
	}
	if got := strings.Join(names, " "); got != "c a d b" {
		t.Errorf("order %s", got)
	}
	_, err = copyPlan(schema(table("a", "b"), table("b", "a")), schema(table("a"), table("b")))
	if err == nil || !strings.Contains(err.Error(), "form a cycle") {
		t.Errorf("cycle: %v", err)
	}
	other := schema(table("a"), table("b"), table("c"), table("d"))
	other["b"].key = []string{"id", "x"}
	other["b"].cols = append(other["b"].cols, "x")
	_, err = copyPlan(src, other)
	if err == nil || !strings.Contains(err.Error(), "column b.x is in PostgreSQL's schema but not in the SQLite database") ||
		!strings.Contains(err.Error(), "table b has the primary key (id) in the SQLite database but (id, x) in PostgreSQL's schema") {
		t.Errorf("differences: %v", err)
	}
}

// The checksum tells apart what a careless encoding would not.
func TestRowHash(t *testing.T) {
	sum := func(rows ...[]any) string {
		h := newRowHash()
		for _, r := range rows {
			h.row(r)
		}
		return h.sum()
	}
	same := [][2]string{
		{sum([]any{"ab", "c"}), sum([]any{"ab", "c"})},
		{sum([]any{"ab"}, []any{"c"}), sum([]any{"ab", "c"})}, // the columns of a table are fixed: rows need no separator
	}
	for _, p := range same {
		if p[0] != p[1] {
			t.Error("the same values differ")
		}
	}
	differ := [][2][]any{
		{{"ab", "c"}, {"a", "bc"}},
		{{"a"}, {[]byte("a")}},
		{{nil}, {""}},
		{{nil}, {[]byte{}}},
		{{int64(0)}, {nil}},
		{{int64(1)}, {"1"}},
		{{int64(-1)}, {int64(1)}},
	}
	for _, p := range differ {
		if sum(p[0]) == sum(p[1]) {
			t.Errorf("%v and %v have the same checksum", p[0], p[1])
		}
	}
	// The encoding is the one documented on rowHash.
	want := sha256.Sum256([]byte("i\x00\x00\x00\x00\x00\x00\x01\x02" +
		"t\x00\x00\x00\x00\x00\x00\x00\x02é" +
		"b\x00\x00\x00\x00\x00\x00\x00\x01\x00" +
		"n"))
	if got := sum([]any{int64(258), "é", []byte{0}, nil}); got != hex.EncodeToString(want[:]) {
		t.Errorf("checksum %s, want %x", got, want)
	}
}

// BenchmarkCopyTo copies an SQLite store with b.N archive rows (and a
// chat event for every ten) and reports rows per second.
func BenchmarkCopyTo(b *testing.B) {
	if testEngine() == "postgres" || pgtest.ServerURL() == "" {
		b.Skipf("needs %s, in the SQLite pass", pgtest.Env)
	}
	src, err := Open(filepath.Join(b.TempDir(), "src.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	ctx := fillChatFixture(b, src)
	c := mustChat(b, src, newChat("acme", "Ann", ""))
	n := b.N
	tx, err := src.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("a message of a usual length ", 3)
	for i := range n {
		stanza := fmt.Sprintf("<message from='acme|george.w@example.com' to='acme|fiona.b@example.com' id='st-%d' type='chat'><body>%s</body></message>", i, body)
		if _, err := tx.ExecContext(ctx, `INSERT INTO archive (portal_id, from_id, to_id, from_jid, to_jid, stanza_id, body, stanza, at) VALUES (1, 1, NULL, '', 'acme|george.w@example.com', ?, ?, ?, ?)`,
			fmt.Sprintf("st-%d", i), body, []byte(stanza), int64(1772359200000+i)); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO chat_events (chat_id, seq, at, type, author_kind, text) VALUES (?, ?, ?, 'message', 'visitor', ?)`,
				c.ID, i+1, int64(1772359200000+i), body); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	dst, err := Open(pgtest.New(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	b.ResetTimer()
	start := time.Now()
	rep, err := CopyTo(ctx, src, dst, CopyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rep.Rows)/time.Since(start).Seconds(), "rows/s")
}

// setSchemaVersion marks the SQLite file at path as being at schema
// version v, without migrating.
func setSchemaVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite3", sqliteDSN(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		t.Fatal(err)
	}
}
