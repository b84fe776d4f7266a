package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"jabberdesk/internal/control"
	"jabberdesk/internal/tlsutil"
	"jabberdesk/store"
)

// result is what one run of the CLI did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line in-process with the configuration file of dir.
func cli(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--config", filepath.Join(dir, "jabberdesk.toml")}, args...)
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// ok runs the command line and fails the test unless it succeeds.
func ok(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := cli(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("jabberdesk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// okJSON runs the command line with --json and decodes its output into v.
func okJSON(t *testing.T, dir string, v any, args ...string) {
	t.Helper()
	out := ok(t, dir, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("jabberdesk %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs the command line and checks its exit status and that stderr
// contains want.
func fails(t *testing.T, dir string, code int, want string, args ...string) result {
	t.Helper()
	r := cli(t, dir, "", args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Errorf("jabberdesk %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	return r
}

// setup initialises an installation for chat.example.com with a portal
// "acme" in a temporary directory.
func setup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ok(t, dir, "init", "--domain", "chat.example.com")
	ok(t, dir, "portal", "add", "acme")
	return dir
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "data", "jabberdesk.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := ok(t, dir, "init", "--domain", "Chat.Example.com")
	for _, want := range []string{"Wrote configuration", "Created the database", "Created a self-signed certificate", "portal add NAME", "serve"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	cfgFile := filepath.Join(dir, "jabberdesk.toml")
	cfgData, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfgData), `domain = "chat.example.com"`) || !strings.Contains(string(cfgData), "config.example.toml") {
		t.Errorf("config file:\n%s", cfgData)
	}
	for _, f := range []string{"data/jabberdesk.db", "data/tls/cert.pem", "data/tls/key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not create %s: %v", f, err)
		}
	}
	cert, _ := os.ReadFile(filepath.Join(dir, "data/tls/cert.pem"))

	// Again: nothing is replaced.
	out = ok(t, dir, "init", "--domain", "other.example.com")
	if !strings.Contains(out, "Kept the existing configuration") || strings.Contains(out, "Created") {
		t.Errorf("second init output:\n%s", out)
	}
	if again, _ := os.ReadFile(cfgFile); !bytes.Equal(again, cfgData) {
		t.Error("second init changed the config file")
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "data/tls/cert.pem")); !bytes.Equal(again, cert) {
		t.Error("second init replaced the certificate")
	}

	// A new domain in the file: the certificate is made again, with a word
	// for agents who accepted the old one.
	os.WriteFile(cfgFile, bytes.Replace(cfgData, []byte(`"chat.example.com"`), []byte(`"help.example.com"`), 1), 0o644)
	out = ok(t, dir, "init")
	if !strings.Contains(out, "as the old one does not name help.example.com") || !strings.Contains(out, "jabberdesk agent settings") {
		t.Errorf("init after a domain change:\n%s", out)
	}
	os.WriteFile(cfgFile, cfgData, 0o644)
	fails(t, dir, 2, "--domain: ", "init", "--config", filepath.Join(dir, "new.toml"), "--domain", "not a domain")
	if _, err := os.Stat(filepath.Join(dir, "new.toml")); err == nil {
		t.Error("init wrote a config file with a bad domain")
	}
}

func TestNoDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "jabberdesk.toml"), nil, 0o644)
	fails(t, dir, 1, "run 'jabberdesk init' first", "portal", "list")
	fails(t, t.TempDir(), 1, "does not exist", "portal", "list") // explicit --config must exist
}

func TestPortals(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	var ps []map[string]any
	okJSON(t, dir, &ps, "portal", "list")
	if len(ps) != 1 || ps[0]["name"] != "acme" || ps[0]["department_count"] != 1.0 || ps[0]["agent_count"] != 0.0 {
		t.Errorf("portal list --json = %v", ps)
	}
	var p portalDetail
	okJSON(t, dir, &p, "portal", "show", "acme")
	if p.Name != "acme" || len(p.Departments) != 1 || p.Departments[0].Name != "Sales" || p.CreatedAt.IsZero() {
		t.Errorf("portal show --json = %+v", p)
	}
	if out := ok(t, dir, "portal", "show", "acme"); !strings.Contains(out, "Sales") {
		t.Errorf("portal show:\n%s", out)
	}
	fails(t, dir, 1, `portal "acme" already exists`, "portal", "add", "acme")
	fails(t, dir, 1, "add --yes to confirm", "portal", "remove", "acme")
	fails(t, dir, 1, `portal "nope" does not exist`, "portal", "remove", "nope", "--yes")
	ok(t, dir, "portal", "remove", "acme", "--yes")
	okJSON(t, dir, &ps, "portal", "list")
	if len(ps) != 0 {
		t.Errorf("portal list after remove = %v", ps)
	}
}

func TestDepartments(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	ok(t, dir, "dept", "add", "acme", "Tech Support", "--desk-mode", "choose", "--routing", "round-robin")
	var ds []deptRow
	okJSON(t, dir, &ds, "dept", "list", "acme")
	if len(ds) != 2 || ds[1].Name != "Tech Support" || ds[1].DeskMode != store.DeskChoose || ds[1].Routing != store.RoutingRoundRobin {
		t.Fatalf("dept list --json = %+v", ds)
	}
	var d store.Department
	okJSON(t, dir, &d, "dept", "set", "acme", "sales", "--name", "Sales EU", "--desk-mode", "view")
	if d.Name != "Sales EU" || d.DeskMode != store.DeskView || d.Routing != store.RoutingBroadcast {
		t.Errorf("dept set --json = %+v", d)
	}
	fails(t, dir, 2, "give at least one of --name, --desk-mode, --routing", "dept", "set", "acme", "Sales EU")
	fails(t, dir, 2, `--desk-mode: desk mode "some" is not one of`, "dept", "add", "acme", "X", "--desk-mode", "some")
	ok(t, dir, "dept", "remove", "acme", "Sales EU")
	fails(t, dir, 1, `department "Sales EU" does not exist in portal "acme"`, "dept", "remove", "acme", "Sales EU")
	okJSON(t, dir, &ds, "dept", "list", "acme")
	if len(ds) != 1 {
		t.Errorf("dept list after remove = %+v", ds)
	}
}

func TestAgents(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	ok(t, dir, "dept", "add", "acme", "Support")
	out := ok(t, dir, "agent", "add", "acme", "fiona.b", "--email", "fiona@acme.example", "--name", "Fiona B",
		"--role", "supervisor", "--dept", "Sales", "--dept", "support")
	if !strings.Contains(out, "Password (shown once): ") || !strings.Contains(out, "acme|fiona.b@chat.example.com") {
		t.Errorf("agent add output:\n%s", out)
	}
	pw := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "Password (shown once): ", 2)[1], "\n", 2)[0])
	if len(pw) != 16 {
		t.Errorf("generated password %q is not 16 characters", pw)
	}
	checkPassword(t, dir, "fiona.b", pw)

	var a agentView
	okJSON(t, dir, &a, "agent", "show", "acme", "Fiona.B")
	if a.Username != "fiona.b" || a.DisplayName != "Fiona B" || a.Role != store.RoleSupervisor ||
		strings.Join(a.Departments, ",") != "Sales,Support" || a.MaxChats != 5 || a.JID != "acme|fiona.b@chat.example.com" {
		t.Errorf("agent show --json = %+v", a)
	}
	okJSON(t, dir, &a, "agent", "set", "acme", "fiona.b", "--dept", "Sales", "--max-chats", "8", "--email", "fb@acme.example")
	if strings.Join(a.Departments, ",") != "Sales" || a.MaxChats != 8 || a.Email != "fb@acme.example" {
		t.Errorf("agent set --json = %+v", a)
	}
	okJSON(t, dir, &a, "agent", "set", "acme", "fiona.b", "--clear-depts")
	if a.Departments == nil || len(a.Departments) != 0 {
		t.Errorf("agent set --clear-depts: departments %#v, want []", a.Departments)
	}
	fails(t, dir, 2, "nothing to change", "agent", "set", "acme", "fiona.b")
	fails(t, dir, 2, "exclude each other", "agent", "set", "acme", "fiona.b", "--dept", "Sales", "--clear-depts")

	var as []agentView
	okJSON(t, dir, &as, "agent", "list", "acme")
	if len(as) != 1 || as[0].Username != "fiona.b" {
		t.Errorf("agent list --json = %+v", as)
	}
	if out := ok(t, dir, "agent", "list", "acme"); !strings.Contains(out, "USERNAME") || !strings.Contains(out, "fiona.b") {
		t.Errorf("agent list:\n%s", out)
	}
	ok(t, dir, "agent", "remove", "acme", "fiona.b")
	fails(t, dir, 1, `agent "fiona.b" does not exist in portal "acme"`, "agent", "show", "acme", "fiona.b")
}

// checkPassword fails unless the agent of portal acme has password pw.
func checkPassword(t *testing.T, dir, username, pw string) {
	t.Helper()
	_, creds, err := openStore(t, dir).Login(context.Background(), "acme", username)
	if err != nil || len(creds) == 0 {
		t.Fatalf("Login(%s): %v", username, err)
	}
	for _, c := range creds {
		if !c.VerifyPassword(pw) {
			t.Errorf("%s: the password does not verify for %s", username, c.Mechanism)
		}
	}
}

func TestAgentAddErrors(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	r := cli(t, dir, "", "agent", "add", "demo", "ab", "--email", "x@y.z")
	if r.code != 1 || r.stderr != `jabberdesk: agent add: username "ab" is too short (6 to 30 characters)`+"\n" {
		t.Errorf("agent add with a short name: exit %d, stderr %q", r.code, r.stderr)
	}
	r = fails(t, dir, 2, "jabberdesk: agent add: want 2 arguments (PORTAL USERNAME), got 1\n", "agent", "add", "acme")
	if !strings.Contains(r.stderr, "Run 'jabberdesk agent add --help' for usage.") {
		t.Errorf("usage error without a hint: %q", r.stderr)
	}
	fails(t, dir, 2, "unknown flag: --bogus", "agent", "add", "acme", "george.m", "--email", "g@acme.example", "--bogus")
	fails(t, dir, 2, "--email is required", "agent", "add", "acme", "george.m")
	fails(t, dir, 2, `--role: role "boss" is not one of`, "agent", "add", "acme", "george.m", "--email", "g@acme.example", "--role", "boss")
	fails(t, dir, 2, `--max-chats: "many" is not a whole number`, "agent", "add", "acme", "george.m", "--email", "g@acme.example", "--max-chats", "many")
	fails(t, dir, 2, `unknown command "ad" for "jabberdesk agent"`, "agent", "ad")
	fails(t, dir, 2, `unknown command "agnet" for "jabberdesk"`, "agnet")
	fails(t, dir, 2, "takes no arguments", "portal", "list", "acme")
	// Passwords are never accepted on the command line.
	fails(t, dir, 2, "unknown flag: --password", "agent", "add", "acme", "george.m", "--email", "g@acme.example", "--password", "secret123")
	fails(t, dir, 1, `department "Nope" does not exist in portal "acme"`, "agent", "add", "acme", "george.m", "--email", "g@acme.example", "--dept", "Nope")
}

func TestPasswordStdin(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	r := cli(t, dir, "correct horse battery\r\nignored\n", "agent", "add", "acme", "george.m", "--email", "g@acme.example", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("agent add --password-stdin: exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "Password (shown once)") || strings.Contains(r.stdout, "correct horse") {
		t.Errorf("agent add --password-stdin printed a password:\n%s", r.stdout)
	}
	checkPassword(t, dir, "george.m", "correct horse battery")

	r = cli(t, dir, "another one\n", "agent", "passwd", "acme", "george.m", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("agent passwd --password-stdin: exit %d: %s", r.code, r.stderr)
	}
	checkPassword(t, dir, "george.m", "another one")

	if r := cli(t, dir, "", "agent", "passwd", "acme", "george.m", "--password-stdin"); r.code != 1 || !strings.Contains(r.stderr, "standard input is empty") {
		t.Errorf("passwd with empty stdin: exit %d, %q", r.code, r.stderr)
	}
	if r := cli(t, dir, "short\n", "agent", "passwd", "acme", "george.m", "--password-stdin"); r.code != 1 || !strings.Contains(r.stderr, "password is too short") {
		t.Errorf("passwd with a short password: exit %d, %q", r.code, r.stderr)
	}

	var v map[string]string
	okJSON(t, dir, &v, "agent", "passwd", "acme", "george.m")
	if len(v["password"]) != 16 {
		t.Fatalf("agent passwd --json = %v", v)
	}
	checkPassword(t, dir, "george.m", v["password"])
}

func TestCheckUsername(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "agent", "add", "acme", "fiona.b", "--email", "fiona@acme.example")
	if out := ok(t, dir, "agent", "check-username", "george.m"); out != `username "george.m" is available`+"\n" {
		t.Errorf("check-username of a free name: %q", out)
	}
	fails(t, dir, 1, `jabberdesk: agent check-username: username "ab" is too short (6 to 30 characters)`, "agent", "check-username", "ab")
	fails(t, dir, 1, `username "george-m" has a character that is not allowed: '-'`, "agent", "check-username", "george-m")
	fails(t, dir, 1, `username "Fiona.B" is taken in portal "acme"`, "agent", "check-username", "Fiona.B")
	fails(t, dir, 1, `username "Fiona.B" is taken in portal "acme"`, "agent", "check-username", "Fiona.B", "--portal", "acme")
	ok(t, dir, "portal", "add", "beta")
	ok(t, dir, "agent", "check-username", "fiona.b", "--portal", "beta")
	// The portal first, like every agent command.
	ok(t, dir, "agent", "check-username", "beta", "fiona.b")
	fails(t, dir, 1, `username "Fiona.B" is taken in portal "acme"`, "agent", "check-username", "acme", "Fiona.B")
	fails(t, dir, 2, "disagree", "agent", "check-username", "acme", "fiona.b", "--portal", "beta")
	fails(t, dir, 2, "want PORTAL NAME", "agent", "check-username")
}

func TestAgentSettings(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "agent", "add", "acme", "Fiona.B", "--email", "fiona@acme.example", "--name", "Fiona B")
	out := ok(t, dir, "agent", "settings", "acme", "fiona.b")
	for _, want := range []string{
		`acme|fiona.b@chat.example.com`, `acme\fiona.b@chat.example.com`,
		"Host           chat.example.com", "6222  (STARTTLS", "6223  (direct TLS",
		"phone or desktop", "agent passwd acme", "Android", "Conversations", "iOS", "Monal", "Gajim", "Dino", "Profanity",
		"Pidgin: protocol XMPP, Username acme|fiona.b, Domain chat.example.com",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("agent settings lacks %q:\n%s", want, out)
		}
	}
	var card setupCard
	okJSON(t, dir, &card, "agent", "settings", "acme", "fiona.b")
	if card.JID != "acme|fiona.b@chat.example.com" || card.JIDBackslash != `acme\fiona.b@chat.example.com` ||
		card.Host != "chat.example.com" || card.Port == nil || *card.Port != 6222 || card.TLSPort == nil || *card.TLSPort != 6223 ||
		!card.SelfSigned || len(card.Notes) != 4 {
		t.Errorf("agent settings --json = %+v", card)
	}
	// The certificate's fingerprints, and how each client pins it.
	fp, spki, err := tlsutil.Fingerprints(filepath.Join(dir, "data", "tls", "cert.pem"))
	if err != nil || card.Certificate.SHA256 != fp || card.Certificate.PublicKey != spki || card.Certificate.From != "self-signed" ||
		card.Certificate.URL != "http://chat.example.com:8080/certificate.pem" {
		t.Errorf("certificate %+v, want %s / %s (%v)", card.Certificate, fp, spki, err)
	}
	for _, want := range []string{fp, "ssl_fingerprint = SHA256:" + strings.ToLower(strings.ReplaceAll(fp, ":", "")), "ssl_ignore_checks = 1",
		"certificate = " + spki, "ca_cert_path = ", "/tls always"} {
		if !strings.Contains(out, want) {
			t.Errorf("agent settings lacks %q:\n%s", want, out)
		}
	}

	// A disabled listener is named as such, and public_host is the host.
	cfg := "domain = \"chat.example.com\"\ndata_dir = \"data\"\n[xmpp]\nlisten_tls = \"\"\npublic_host = \"xmpp.example.net\"\n"
	os.WriteFile(filepath.Join(dir, "jabberdesk.toml"), []byte(cfg), 0o644)
	out = ok(t, dir, "agent", "settings", "acme", "fiona.b")
	if !strings.Contains(out, "direct TLS listener is disabled") || !strings.Contains(out, "Host           xmpp.example.net") {
		t.Errorf("agent settings with listen_tls disabled:\n%s", out)
	}
	okJSON(t, dir, &card, "agent", "settings", "acme", "fiona.b")
	if card.TLSPort != nil || card.Port == nil {
		t.Errorf("agent settings --json with listen_tls disabled: port %v, tls_port %v", card.Port, card.TLSPort)
	}
}

func TestServeCheck(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	if out := ok(t, dir, "serve", "--check"); out != "config OK: "+filepath.Join(dir, "jabberdesk.toml")+"\n" {
		t.Errorf("serve --check on a good config: %q", out)
	}
	bad := "domain = \"not a domain\"\nbogus = 1\n[xmpp]\nlisten_tls = \"nowhere\"\n"
	os.WriteFile(filepath.Join(dir, "jabberdesk.toml"), []byte(bad), 0o644)
	r := cli(t, dir, "", "serve", "--check")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("serve --check on a bad config: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, want := range []string{"jabberdesk: serve: 3 problems", "jabberdesk.toml:1: domain: ", "jabberdesk.toml:2: bogus: ", "jabberdesk.toml:4: xmpp.listen_tls: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("serve --check stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	fails(t, dir, 1, "does not exist", "serve", "--check", "--config", filepath.Join(dir, "missing.toml"))
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "jabberdesk.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	first, err := seedDemo(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := seedDemo(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Password != second[0].Password || first[1].Password != second[1].Password {
		t.Fatalf("passwords changed between runs: %+v, %+v", first, second)
	}
	file := demoPasswordsFile(dir)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "fiona.demo " + first[0].Password + "\ngeorge.demo " + first[1].Password + "\n"; string(data) != want {
		t.Errorf("passwords file = %q, want %q", data, want)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("passwords file mode %v, want 0600", fi.Mode().Perm())
	}
	fiona, err := st.Agent(ctx, "demo", "fiona.demo")
	if err != nil || fiona.Role != store.RoleSupervisor || strings.Join(fiona.Departments, ",") != "Sales,Support" {
		t.Errorf("fiona.demo = %+v, %v", fiona, err)
	}
	george, err := st.Agent(ctx, "demo", "george.demo")
	if err != nil || george.Role != store.RoleAgent || strings.Join(george.Departments, ",") != "Support" {
		t.Errorf("george.demo = %+v, %v", george, err)
	}
	for _, a := range second {
		verifyDemo(t, st, a.Username, a.Password)
	}

	// Without the file, the agents get new passwords, written down again.
	os.Remove(file)
	third, err := seedDemo(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	if third[0].Password == first[0].Password {
		t.Error("password not renewed after the passwords file was deleted")
	}
	for _, a := range third {
		verifyDemo(t, st, a.Username, a.Password)
	}
	if data, _ := os.ReadFile(file); !strings.Contains(string(data), third[1].Password) {
		t.Errorf("passwords file not rewritten: %q", data)
	}
}

func verifyDemo(t *testing.T, st *store.Store, username, pw string) {
	t.Helper()
	_, creds, err := st.Login(context.Background(), "demo", username)
	if err != nil || len(creds) == 0 || !creds[0].VerifyPassword(pw) {
		t.Errorf("%s: password %q does not work (%v)", username, pw, err)
	}
}

func TestNotifyRunningServer(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	var mu sync.Mutex
	var got []control.Event
	srv, err := control.Listen(control.SocketPath(filepath.Join(dir, "data")), func(_ context.Context, ev control.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()

	r := cli(t, dir, "", "agent", "add", "acme", "fiona.b", "--email", "fiona@acme.example")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("agent add: exit %d, stderr %q", r.code, r.stderr)
	}
	ok(t, dir, "dept", "add", "acme", "Sales")
	ok(t, dir, "portal", "remove", "acme", "--yes")
	mu.Lock()
	defer mu.Unlock()
	want := []control.Event{
		{Op: control.OpAgentsChanged, Portal: "acme"},
		{Op: control.OpDepartmentsChanged, Portal: "acme"},
		{Op: control.OpPortalRemoved, Portal: "acme"},
	}
	if len(got) != len(want) {
		t.Fatalf("server received %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNotifyFailureIsAWarning(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	srv, err := control.Listen(control.SocketPath(filepath.Join(dir, "data")), func(context.Context, control.Event) error {
		return context.DeadlineExceeded
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	r := cli(t, dir, "", "dept", "add", "acme", "Sales")
	if r.code != 0 || !strings.Contains(r.stderr, "jabberdesk: dept add: warning: the change is stored") {
		t.Errorf("dept add with a failing server: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := ok(t, dir, "version")
	if !strings.HasPrefix(out, "jabberdesk "+version) || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version: %q", out)
	}
	if got := ok(t, dir, "--version"); got != out {
		t.Errorf("--version %q, version %q", got, out)
	}
	var b buildInfo
	okJSON(t, dir, &b, "version")
	if b.Version != version || b.Go != runtime.Version() || b.Platform == "" {
		t.Errorf("version --json: %+v", b)
	}
}
