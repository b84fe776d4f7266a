package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"jabberdesk/internal/pgtest"
	"jabberdesk/store"
)

// fillForMigrate puts some of every kind of row in the installation's
// SQLite store, through the store's API: portals, departments, agents
// with passwords, chats with their events, agents, offers, notes and
// ratings, tickets, contacts, accounts, canned responses, blocks,
// offline messages, the archive, the board, vCards, private XML, block
// lists, PEP items, sign-in addresses, a console session, upload slots,
// an IM channel with a customer's chat, its queue and a template.
func fillForMigrate(t *testing.T, dir string) {
	t.Helper()
	st := openStore(t, dir)
	defer st.Close()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	_, err := st.AddPortal(ctx, "globex", "test")
	must(err)
	for _, d := range []string{"Sales", "Support"} {
		_, err := st.AddDepartment(ctx, "acme", d, "", "", "test")
		must(err)
	}
	for _, a := range []store.NewAgent{
		{Portal: "acme", Username: "fiona.b", DisplayName: "Fiona B", Email: "fiona@acme.example", Role: store.RoleSupervisor, Departments: []string{"Sales", "Support"}},
		{Portal: "acme", Username: "george.w", DisplayName: "George W", Email: "george@acme.example", Departments: []string{"Support"}},
		{Portal: "globex", Username: "henry.k", DisplayName: "Henry K", Email: "henry@globex.example"},
	} {
		a.Password = "correct horse " + a.Username
		_, err := st.AddAgent(ctx, a, "test")
		must(err)
	}
	must(st.SetPortalSetting(ctx, "acme", "team_name", "Acme support", "test"))
	_, err = st.AddCanned(ctx, "acme", "", "hi", "General", "Hello, how can I help?", "test")
	must(err)
	_, err = st.AddAccount(ctx, store.Account{Portal: "acme", Name: "Initech", SLAName: "Gold", ResponseHours: 4}, "test")
	must(err)
	_, err = st.AddContact(ctx, store.Contact{Portal: "acme", Name: "Peter G", Email: "peter@initech.example", Account: "Initech"}, "test")
	must(err)
	tk, err := st.CreateTicket(ctx, store.NewTicket{Portal: "acme", Subject: "TPS reports", Email: "peter@initech.example", Channel: store.TicketChannelCLI})
	must(err)
	must(st.AddTicketNote(ctx, "acme", tk.Number, "fiona.b", "Called back"))

	// A web chat, live then over.
	h := sha256.Sum256([]byte("token"))
	c, err := st.CreateChat(ctx, store.NewChat{Portal: "acme", PublicID: "pub-1", TokenHash: h[:], Name: "Ann", Email: "ann@example.com",
		Department: "Sales", Question: "Where is my parcel?", IP: "192.0.2.7", UserAgent: "Mozilla/5.0", Browser: "Firefox", OS: "Linux", Country: "DE", Language: "de"})
	must(err)
	offer, err := st.AddOffer(ctx, c.ID, "acme", "fiona.b", "chat", sec(1))
	must(err)
	must(st.AnswerOffer(ctx, offer, "accepted", sec(2)))
	must(st.AddChatAgent(ctx, c.ID, "acme", "fiona.b", store.ChatRoleOwner, sec(2)))
	for i, text := range []string{"Hello?", "Hi Ann, one moment ✓", "Danke schön"} {
		kind, author := store.AuthorVisitor, ""
		if i == 1 {
			kind, author = store.AuthorAgent, "fiona.b"
		}
		_, err := st.AppendChatEvent(ctx, c.ID, store.ChatEvent{Type: "message", AuthorKind: kind, Author: author, AuthorName: "x", Text: text, At: sec(3 + i), Visible: true})
		must(err)
	}
	_, err = st.AddVisitorNote(ctx, c.ID, "fiona.b", "Fiona B", "Regular customer")
	must(err)
	must(st.SetChatStatus(ctx, c.ID, store.ChatEnded, sec(60), "agent"))
	must(st.FlagChat(ctx, c.ID, "no email"))
	_, err = st.CreateTicket(ctx, store.NewTicket{Portal: "acme", ChatID: c.ID, Transcript: "Ann: Hello?"})
	must(err)
	_, err = st.BlockIP(ctx, "acme", "198.51.100.9", "spam", "fiona.b", c.ID)
	must(err)
	// Chats of the past, with a rating.
	_, err = st.ImportChats(ctx, "acme", []store.HistoricChat{{
		Visitor: "Bob", Email: "bob@example.com", Department: "support", Question: "Refund?", Status: store.ChatEnded, EndReason: "agent",
		CreatedAt: sec(100), OfferedAt: sec(101), AcceptedAt: sec(105), EndedAt: sec(300),
		Agents: []store.HistoricAgent{{Username: "george.w", Role: store.ChatRoleOwner, JoinedAt: sec(105), LeftAt: sec(300)}},
		Offers: []store.HistoricOffer{{Username: "george.w", Kind: "chat", Answer: "accepted", OfferedAt: sec(101), AnsweredAt: sec(105)}},
		Events: []store.HistoricEvent{{At: sec(102), Type: "message", AuthorKind: store.AuthorVisitor, Text: "Refund?"},
			{At: sec(110), Type: "message", AuthorKind: store.AuthorAgent, Author: "george.w", AuthorName: "George W", Text: "Done"}},
		Stars: 5, Comment: "quick",
	}})
	must(err)

	// What the XMPP server keeps for agents.
	jid := func(u string) string { return "acme|" + u + "@chat.example.com" }
	for i := range 300 {
		body := fmt.Sprintf("message %d", i)
		stanza := fmt.Sprintf("<message from='%s' to='%s' id='m%d' type='chat'><body>%s</body></message>", jid("george.w"), jid("fiona.b"), i, body)
		must(st.ArchivePair(ctx, "acme", "george.w", "fiona.b", jid("george.w"), jid("fiona.b"), fmt.Sprintf("m%d", i), body, []byte(stanza), sec(400+i)))
	}
	must(st.StoreOffline(ctx, "acme", "george.w", jid("fiona.b"), []byte("<message><body>while you were away</body></message>")))
	_, err = st.HoldOffline(ctx, "acme", "george.w", jid("fiona.b"), []byte("<message><body>held</body></message>"), "session-1")
	must(err)
	_, err = st.AddBoardPost(ctx, "acme", "fiona.b", "Fiona B", "Team meeting at 3")
	must(err)
	must(st.SetBoardSeen(ctx, "acme", "george.w", sec(500)))
	must(st.SetVCard(ctx, "acme", "fiona.b", store.VCard{Nickname: "Fi", PhotoType: "image/png", Photo: []byte("\x89PNG\r\n\x1a\n\x00\x00")}))
	must(st.SetPrivateXML(ctx, "acme", "fiona.b", "storage:bookmarks", "storage", []byte("<storage xmlns='storage:bookmarks'/>")))
	must(st.Block(ctx, "acme", "fiona.b", []string{"spam@example.com", "Zed@example.com", "ärger@example.com"}))
	must(st.PublishPEP(ctx, "acme", "fiona.b", store.PEPItem{Node: "urn:xmpp:avatar:metadata", ID: "abc", Payload: []byte("<metadata xmlns='urn:xmpp:avatar:metadata'/>"), Access: "presence", PublishedAt: sec(600)}, 1))
	must(st.RememberSignInAddress(ctx, "acme", "fiona.b", "192.0.2.0/24", sec(700)))
	key, cred := sha256.Sum256([]byte("console session id")), sha256.Sum256([]byte("stored key"))
	must(st.CreateConsoleSession(ctx, store.ConsoleSession{Key: key[:], Portal: "acme", Agent: "fiona.b", Cred: cred[:], CSRF: "csrf-token", Born: sec(750)},
		store.ConsoleSessionLimits{Idle: time.Minute, MaxAge: time.Hour, PerAgent: 1, Max: 1}, "192.0.2.7"))
	slot, err := st.CreateUploadSlot(ctx, "acme", "fiona.b", "report.pdf", 1234, "application/pdf", store.UploadLimits{MaxFileSize: 1 << 20, QuotaPerAgent: 1 << 30})
	must(err)
	must(st.MarkUploaded(ctx, slot.ID, sec(800)))

	// An IM channel: a customer's message, their chat, a reply queued, a
	// template.
	ch, err := st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "wa", Type: store.ChannelWhatsApp, Department: "Sales", Secrets: map[string]string{"token": "t0k3n"}}, "test")
	must(err)
	_, err = st.AddTemplate(ctx, "acme", "wa", store.Template{Name: "hello", Language: "en", Body: "Hello {{1}}", Status: store.TemplateApproved}, "test")
	must(err)
	in, _, err := st.StoreInbound(ctx, ch.ID, store.InboundMessage{ProviderMessageID: "wamid.1", CustomerID: "4915112345678", Name: "Carl", Text: "Hallo", At: sec(900)})
	must(err)
	cc, err := st.CreateChat(ctx, store.NewChat{Portal: "acme", PublicID: "pub-2", TokenHash: h[:], Name: "Carl", Question: "Hallo", ChannelID: ch.ID, CustomerID: in.Customer.ID, InboundID: in.ID})
	must(err)
	_, err = st.EnqueueOutbound(ctx, store.Outbound{ChannelID: ch.ID, CustomerID: in.Customer.ID, ChatID: cc.ID, Payload: store.OutboundPayload{Text: "Hi Carl"}})
	must(err)
}

// migrateReport is what migrate --json prints.
type migrateReport struct {
	store.CopyReport
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
}

// pgCount counts the rows of a table of the PostgreSQL database at url.
func pgCount(t *testing.T, url, table string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	dir := setup(t)
	fillForMigrate(t, dir)

	var rep migrateReport
	okJSON(t, dir, &rep, "migrate", "--to", url)
	if !rep.Committed || !rep.Verified || rep.SchemaVersion == 0 || rep.From != filepath.Join(dir, "data", "jabberdesk.db") || rep.Rows == 0 || rep.Seconds <= 0 {
		t.Errorf("report %+v", rep.CopyReport)
	}
	rows := map[string]int64{}
	for _, tc := range rep.Tables {
		if !tc.OK || tc.Rows != tc.TargetRows || tc.Checksum != tc.TargetChecksum || len(tc.Checksum) != 64 {
			t.Errorf("table %+v", tc)
		}
		rows[tc.Table] = tc.Rows
	}
	// Every kind of row filled in is there; the fixture leaves empty
	// only agents' availability, which the server's presence log writes.
	var empty []string
	for table, n := range rows {
		if n == 0 {
			empty = append(empty, table)
		}
		if got := pgCount(t, url, table); got != n {
			t.Errorf("table %s: %d rows in PostgreSQL, %d copied", table, got, n)
		}
	}
	for table, n := range map[string]int64{"portals": 2, "agents": 3, "agent_credentials": 6, "departments": 2, "agent_departments": 3,
		"archive": 300, "chat_events": 5, "chats": 3, "chat_ratings": 1, "offline_messages": 2, "blocklist": 3,
		"upload_slots": 1, "channel_templates": 1, "channel_outbound": 1, "tickets": 2, "ticket_chats": 1, "console_sessions": 1} {
		if rows[table] != n {
			t.Errorf("table %s: %d rows copied, want %d", table, rows[table], n)
		}
	}
	slices.Sort(empty)
	if len(empty) > 1 {
		t.Errorf("tables left empty by the fixture: %v", empty)
	} else {
		t.Logf("tables the fixture leaves empty: %v", empty)
	}

	// The copy reads back through the store on PostgreSQL.
	dst, err := store.Open(url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	ctx := context.Background()
	ps, err := dst.Portals(ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "acme" || ps[1].Name != "globex" {
		t.Errorf("portals %v %v", ps, err)
	}
	a, creds, err := dst.Login(ctx, "acme", "fiona.b")
	if err != nil || a.Email != "fiona@acme.example" || a.Role != store.RoleSupervisor || len(a.Departments) != 2 || len(creds) != 2 {
		t.Errorf("login: %+v %+v %v", a, creds, err)
	}
	if tk, err := dst.Ticket(ctx, "acme", 1); err != nil || tk.Subject != "TPS reports" {
		t.Errorf("ticket: %+v %v", tk, err)
	}

	// The commands, with store.url naming the copy: what they add gets
	// new ids after the copied ones.
	cfg := filepath.Join(dir, "jabberdesk.toml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(data, "\n[store]\nurl = "+tomlString(url)+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, "portal", "add", "initech")
	ok(t, dir, "agent", "add", "acme", "ingrid.m", "--email", "ingrid@acme.example")
	var agents []map[string]any
	okJSON(t, dir, &agents, "agent", "list", "acme")
	if len(agents) != 3 || agents[0]["username"] != "fiona.b" || agents[2]["username"] != "ingrid.m" {
		t.Errorf("agent list on PostgreSQL: %v", agents)
	}

	// Once only: the target is not empty any more.
	r := fails(t, dir, 1, "the target database is not empty: it has rows in portals", "migrate", "--to", url)
	if r.stdout != "" {
		t.Errorf("a refused migrate printed %q", r.stdout)
	}
}

// A difference between the copy and the source is reported, table by
// table, and nothing is committed.
func TestMigrateMismatch(t *testing.T) {
	// Not parallel: it sets migrateBeforeVerify, which the other tests of
	// migrate must not see.
	url := pgtest.New(t)
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	migrateBeforeVerify = func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE departments SET name = 'Marketing'`)
		return err
	}
	t.Cleanup(func() { migrateBeforeVerify = nil })
	r := fails(t, dir, 1, "the copy differs from the source in departments (checksums differ); nothing was committed", "migrate", "--to", url)
	if !strings.Contains(r.stdout, "departments") || !strings.Contains(r.stdout, "NO") || !strings.Contains(r.stdout, "Nothing was committed") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if n := pgCount(t, url, "portals"); n != 0 {
		t.Errorf("%d portals in PostgreSQL after a failed copy", n)
	}
	migrateBeforeVerify = nil
	out := ok(t, dir, "migrate", "--to", url)
	if !strings.Contains(out, "every table read back matches") || strings.Contains(out, "NO") {
		t.Errorf("stdout:\n%s", out)
	}
}

// Migrate refuses what it should not copy, before it writes anything.
func TestMigrateRefusals(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	const secret = "s3cret-pw"
	fails(t, dir, 2, "give the PostgreSQL database with --to postgres://..., or set store.url", "migrate")
	r := fails(t, dir, 2, `--to: "mysql://jd:xxxxx@db.example.com/jd" is not a postgres:// URL`, "migrate", "--to", "mysql://jd:"+secret+"@db.example.com/jd")
	if strings.Contains(r.stderr+r.stdout, secret) {
		t.Error("the password was printed")
	}
	fails(t, dir, 2, "--from: migrate copies from an SQLite file", "migrate", "--from", "postgres://db.example.com/jd", "--to", "postgres://db.example.com/jd")
	fails(t, dir, 1, "no such file", "migrate", "--from", filepath.Join(dir, "none.db"), "--to", "postgres://db.example.com/jd")

	// An older schema is brought up to date by this binary first.
	older := filepath.Join(dir, "older.db")
	st, err := store.Open(older, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	latest := st.LatestSchemaVersion()
	st.Close()
	db, err := sql.Open("sqlite3", older)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", latest-1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	fails(t, dir, 1, fmt.Sprintf("at schema version %d and this jabberdesk's is %d; bring it up to date first by running this jabberdesk on it", latest-1, latest),
		"migrate", "--from", older, "--to", "postgres://db.example.com/jd")

	// A server running on the data directory.
	ln, err := net.Listen("unix", filepath.Join(dir, "data", "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fails(t, dir, 1, "a jabberdesk server is running on "+filepath.Join(dir, "data"), "migrate", "--to", "postgres://db.example.com/jd")
}

// A bad store.url is a configuration error of every command, with its
// line, and without its password.
func TestStoreURLConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jabberdesk.toml")
	if err := os.WriteFile(cfg, []byte("domain = \"chat.example.com\"\n\n[store]\nurl = \"mysql://jd:s3cret@db.example.com/jd\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"portal", "list"}, {"serve", "--check"}, {"init"}, {"migrate"}} {
		r := fails(t, dir, 1, cfg+`:4: store.url: "mysql://jd:xxxxx@db.example.com/jd" is not a postgres:// URL`, args...)
		if strings.Contains(r.stdout+r.stderr, "s3cret") {
			t.Errorf("%v printed the password", args)
		}
	}
}

// With store.url naming PostgreSQL, init makes the tables there and the
// other commands need them; the password is never printed.
func TestStoreURLPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jabberdesk.toml")
	withPassword := strings.Replace(url, "postgres://", "postgres://root:s3cret@", 1)
	if err := os.WriteFile(cfg, []byte("domain = \"chat.example.com\"\n\n[store]\nurl = "+tomlString(withPassword)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := fails(t, dir, 1, "no jabberdesk tables in the database postgres://root:xxxxx@", "portal", "list")
	if !strings.Contains(r.stderr, "run 'jabberdesk init' first") {
		t.Errorf("stderr %q", r.stderr)
	}
	out := ok(t, dir, "init")
	if !strings.Contains(out, "Created the tables in the PostgreSQL database postgres://root:xxxxx@") || strings.Contains(out, "s3cret") {
		t.Errorf("init:\n%s", out)
	}
	if out := ok(t, dir, "init"); !strings.Contains(out, "is ready") || strings.Contains(out, "s3cret") {
		t.Errorf("init again:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "jabberdesk.db")); err == nil {
		t.Error("an SQLite file was made though store.url names PostgreSQL")
	}
	if n := pgCount(t, url, "portals"); n != 0 {
		t.Errorf("%d portals", n)
	}
}
