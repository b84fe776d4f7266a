package config

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", false, "rewrite config.example.toml from Example()")

const exampleFile = "../../config.example.toml"

// TestExampleFileUpToDate keeps config.example.toml identical to Example().
// After changing fields(), run: go test ./internal/config -run ExampleFile -update
func TestExampleFileUpToDate(t *testing.T) {
	want := Example()
	if *update {
		if err := os.WriteFile(exampleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config.example.toml differs from Example(); regenerate it with\n\tgo test ./internal/config -run ExampleFile -update")
	}
}

func TestExampleLoadsAsDefault(t *testing.T) {
	c, err := Load(exampleFile, true)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "data"); c.DataDir != want {
		t.Errorf("DataDir = %q, want %q", c.DataDir, want)
	}
	if c.Path != exampleFile {
		t.Errorf("Path = %q, want %q", c.Path, exampleFile)
	}
	def := Default()
	c.DataDir, c.Path = def.DataDir, def.Path
	if !reflect.DeepEqual(*c, *def) {
		t.Errorf("example config differs from Default():\n got %+v\nwant %+v", *c, *def)
	}
}

// TestExampleDocumentsEveryKey checks that the example file sets exactly the
// keys in Keys(), each after a comment.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	var flatten func(prefix string, m map[string]any)
	flatten = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				flatten(prefix+k+".", sub)
			} else {
				inFile[prefix+k] = true
			}
		}
	}
	flatten("", doc)

	known := map[string]bool{}
	for _, k := range Keys() {
		known[k.Key] = true
		if !inFile[k.Key] {
			t.Errorf("key %s is not in config.example.toml", k.Key)
		}
	}
	for k := range inFile {
		if !known[k] {
			t.Errorf("config.example.toml sets %s, which Keys() does not know", k)
		}
	}

	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf("config.example.toml:%d: %q has no comment above it", i+1, line)
		}
	}
}

func TestKeys(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys() {
		if seen[k.Key] {
			t.Errorf("key %s is defined twice", k.Key)
		}
		seen[k.Key] = true
		if k.Help == "" || k.Accepts == "" || k.Default == "" {
			t.Errorf("key %s: incomplete documentation %+v", k.Key, k)
		}
	}
	for k := range seen {
		for p := table(k); p != ""; p = table(p) {
			if seen[p] {
				t.Errorf("%s is both a key and the table of %s", p, k)
			}
		}
	}
	if len(seen) != len(fields()) {
		t.Errorf("Keys() has %d keys, fields() %d", len(seen), len(fields()))
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Domain:    "localhost",
		DataDir:   filepath.Join(wd, "data"),
		LogLevel:  "info",
		LogFormat: "text",
		XMPP: XMPP{ListenStartTLS: ":6222", ListenTLS: ":6223", ResumeTimeout: 5 * time.Minute, PingInterval: 2 * time.Minute,
			ACMEDirectory: "https://acme-v02.api.letsencrypt.org/directory"},
		Auth: Auth{ScramIterations: 4096, LoginFailuresPerIP: 5, LoginFailuresPerAccount: 10, LoginFailureWindow: 5 * time.Minute},
		Limits: Limits{
			StanzaSize:        262144,
			StanzaSizePreAuth: 8192,
			MaxDepth:          32,
			AuthTimeout:       30 * time.Second,
			ConnectionsPerIP:  64,
			StanzaRate:        200,
			StanzaBurst:       400,
			OutboxSize:        4096,

			VisitorRequestRate:  10,
			VisitorRequestBurst: 60,
			VisitorMessageRate:  1,
			VisitorMessageBurst: 10,
			VisitorTypingRate:   1,
			VisitorTypingBurst:  5,
		},
		HTTP: HTTP{Listen: ":8080", TrustedProxies: []netip.Prefix{}, MaxBody: 16384, ChatRate: 6, ChatBurst: 5, Console: true,
			RequestTimeout: 20 * time.Second, IdleTimeout: time.Minute, MinTransferRate: 16 << 10,
			ConnectionsPerIP: 64, StreamsPerIP: 16, StreamsPerChat: 8},
		Uploads: Uploads{MaxFileSize: 10 << 20, QuotaPerAgent: 1 << 30, AllowedTypes: []string{}},
		Cluster: Cluster{Takeover: 10 * time.Second},
		Admin:   Admin{Listen: "127.0.0.1:6280"},
		Chats: Chats{QueueTimeout: 2 * time.Minute, OfferTimeout: 30 * time.Second, VisitorGrace: time.Minute,
			MissedText: "Sorry, nobody could answer your chat right now. Please try again later."},
		Roster: Roster{Colleagues: "auto", PortalWideUpTo: 200},
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", *c, want)
	}
	if got := c.PublicHostName(); got != "localhost" {
		t.Errorf("PublicHostName() = %q, want localhost", got)
	}
	cert, key, generated := c.CertPaths()
	if cert != filepath.Join(wd, "data", "tls", "cert.pem") || key != filepath.Join(wd, "data", "tls", "key.pem") || !generated {
		t.Errorf("CertPaths() = %q, %q, %v", cert, key, generated)
	}
}

func TestEmptyFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "jabberdesk.toml")
	for _, data := range []string{"", "# nothing but a comment\n\n"} {
		c, err := Parse([]byte(data), file)
		if err != nil {
			t.Fatalf("Parse(%q): %v", data, err)
		}
		want := *Default()
		want.DataDir = filepath.Join(dir, "data")
		want.Path = file
		if !reflect.DeepEqual(*c, want) {
			t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", data, *c, want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "missing.toml")
	c, err := Load(file, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*c, *Default()) || c.Path != "" {
		t.Errorf("Load(missing, false) = %+v, want Default()", *c)
	}

	c, err = Load(file, true)
	if c != nil || err == nil {
		t.Fatalf("Load(missing, true) = %v, %v; want an error", c, err)
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not *Errors", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, file+": ") || !strings.Contains(msg, "jabberdesk init") {
		t.Errorf("error %q should name the file and mention jabberdesk init", msg)
	}
}

func TestLoadDirectory(t *testing.T) {
	_, err := Load(t.TempDir(), false)
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Problems) != 1 {
		t.Fatalf("Load(dir) error = %v, want one problem", err)
	}
}

func TestManyProblems(t *testing.T) {
	const data = `# line 1
domain = "help.example.com"
log_level = "verbose"
colour = "blue"

[xmpp]
listen_tls = "6223"
cert_file = "cert.pem"

[limits]
stanza_size = "big"
stanzasize = 1
max_depth = 1000
auth_timeout = "5 minutes"

[database]
url = "x"

[auth]
login_failure_window = 30
`
	_, err := Parse([]byte(data), "jabberdesk.toml")
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error = %v, want *Errors", err)
	}
	want := []struct {
		line int
		key  string
	}{
		{3, "log_level"},
		{4, "colour"},
		{7, "xmpp.listen_tls"},
		{8, "xmpp.cert_file"},
		{11, "limits.stanza_size"},
		{12, "limits.stanzasize"},
		{13, "limits.max_depth"},
		{14, "limits.auth_timeout"},
		{16, "database"},
		{20, "auth.login_failure_window"},
	}
	if len(errs.Problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(errs.Problems), len(want), err)
	}
	for i, p := range errs.Problems {
		if i >= len(want) {
			break
		}
		if p.File != "jabberdesk.toml" || p.Line != want[i].line || p.Key != want[i].key {
			t.Errorf("problem %d = %s:%d %s, want %s:%d %s", i, p.File, p.Line, p.Key, "jabberdesk.toml", want[i].line, want[i].key)
		}
	}

	lines := strings.Split(err.Error(), "\n")
	for _, msg := range []string{
		`jabberdesk.toml:3: log_level: "verbose" is not one of debug, info, warn, error`,
		`jabberdesk.toml:4: colour: unknown key (known top-level keys: data_dir, domain, log_format, log_level; tables: [admin], [auth], [chats], [cluster], [http], [limits], [roster], [store], [uploads], [xmpp])`,
		`jabberdesk.toml:7: xmpp.listen_tls: "6223" is not a listen address (want host:port, like ":6223" or "127.0.0.1:6223", or "" to disable)`,
		`jabberdesk.toml:8: xmpp.cert_file: is set but xmpp.key_file is not (set both to use your own certificate, or neither to use a generated self-signed one)`,
		`jabberdesk.toml:11: limits.stanza_size: want an integer (bytes), got string "big"`,
		`jabberdesk.toml:12: limits.stanzasize: unknown key (known keys in [limits]: auth_timeout, connections_per_ip, max_depth, outbox_size, stanza_burst, stanza_rate, stanza_size, stanza_size_preauth, visitor_message_burst, visitor_message_rate, visitor_request_burst, visitor_request_rate, visitor_typing_burst, visitor_typing_rate)`,
		`jabberdesk.toml:13: limits.max_depth: 1000 is out of range (want 4 to 256)`,
		`jabberdesk.toml:14: limits.auth_timeout: "5 minutes" is not a duration (want a number and a unit: "ms", "s", "m" or "h", like "30s", "5m" or "1h30m")`,
		`jabberdesk.toml:16: database: unknown table (known top-level keys: data_dir, domain, log_format, log_level; tables: [admin], [auth], [chats], [cluster], [http], [limits], [roster], [store], [uploads], [xmpp])`,
		`jabberdesk.toml:20: auth.login_failure_window: want a duration (a string like "30s", "5m" or "1h30m"), got integer 30`,
	} {
		if !slices.Contains(lines, msg) {
			t.Errorf("missing problem\n\t%s\nin\n\t%s", msg, strings.Join(lines, "\n\t"))
		}
	}
}

// TestRosterProblems: the roster's keys are checked like the others, and
// every problem is reported at once with its key and line.
func TestRosterProblems(t *testing.T) {
	const data = "[roster]\ncolleagues = \"team\"\nportal_wide_up_to = 0\ndepartments = true\n"
	_, err := Parse([]byte(data), "jabberdesk.toml")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, msg := range []string{
		`jabberdesk.toml:2: roster.colleagues: "team" is not one of auto, portal, departments`,
		`jabberdesk.toml:3: roster.portal_wide_up_to: 0 is too small (want 1 or more)`,
		`jabberdesk.toml:4: roster.departments: unknown key (known keys in [roster]: colleagues, portal_wide_up_to)`,
	} {
		if !slices.Contains(lines, msg) {
			t.Errorf("missing problem\n\t%s\nin\n\t%s", msg, strings.Join(lines, "\n\t"))
		}
	}
	c, err := Parse([]byte("[roster]\ncolleagues = \"departments\"\nportal_wide_up_to = 50\n"), "jabberdesk.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Roster != (Roster{Colleagues: "departments", PortalWideUpTo: 50}) {
		t.Errorf("Roster = %+v", c.Roster)
	}
}

func TestSyntaxError(t *testing.T) {
	const data = "domain = \"a\"\n\n[limits]\nstanza_size = \n"
	_, err := Parse([]byte(data), "conf/jabberdesk.toml")
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Problems) != 1 {
		t.Fatalf("Parse error = %v, want one problem", err)
	}
	if p := errs.Problems[0]; p.Line != 4 || !strings.HasPrefix(err.Error(), "conf/jabberdesk.toml:4: invalid TOML: ") {
		t.Errorf("syntax error = %q (line %d), want conf/jabberdesk.toml:4: invalid TOML: ...", err, p.Line)
	}

	_, err = Parse([]byte("domain = \"a\"\ndomain = \"b\"\n"), "dup.toml")
	if err == nil || !strings.HasPrefix(err.Error(), "dup.toml:2: ") {
		t.Errorf("duplicate key error = %v, want dup.toml:2: ...", err)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "etc", "jabberdesk.toml")
	if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "abs", "key.pem")
	data := "data_dir = \"../state\"\n[xmpp]\ncert_file = \"tls/cert.pem\"\nkey_file = " + strconv.Quote(abs) + "\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "state"); c.DataDir != want {
		t.Errorf("DataDir = %q, want %q", c.DataDir, want)
	}
	cert, key, generated := c.CertPaths()
	if want := filepath.Join(dir, "etc", "tls", "cert.pem"); cert != want || key != abs || generated {
		t.Errorf("CertPaths() = %q, %q, %v; want %q, %q, false", cert, key, generated, want, abs)
	}

	// Lists: each path resolved; a problem found later is reported on the
	// key's line.
	data = "[xmpp]\ncert_file = [\"ecdsa.pem\", \"/rsa.pem\"]\nkey_file = [\"ecdsa.key\", \"/rsa.key\"]\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(file, true); err != nil {
		t.Fatal(err)
	}
	certs, keys, _ := c.CertPairs()
	etc := filepath.Dir(file)
	if !slices.Equal(certs, []string{filepath.Join(etc, "ecdsa.pem"), "/rsa.pem"}) || !slices.Equal(keys, []string{filepath.Join(etc, "ecdsa.key"), "/rsa.key"}) {
		t.Errorf("CertPairs() = %q, %q", certs, keys)
	}
	err = c.KeyError("xmpp.key_file", "does not fit")
	if want := file + ":3: xmpp.key_file: does not fit"; err == nil || err.Error() != want {
		t.Errorf("KeyError = %v, want %s", err, want)
	}
}

// A bad store URL is reported with its file, line and key, and without
// its password; a good one is printed without it.
func TestStoreURL(t *testing.T) {
	_, err := Parse([]byte("domain = \"chat.example.com\"\n\n[store]\nurl = \"mysql://jd:s3cret@db.example.com/jd\"\n"), "jd.toml")
	if err == nil || !strings.HasPrefix(err.Error(), `jd.toml:4: store.url: "mysql://jd:xxxxx@db.example.com/jd" is not a postgres:// URL`) {
		t.Errorf("error = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Error("the error shows the password")
	}
	_, err = Parse([]byte("[store]\nurl = \"postgres://jd:s3cret@db example/%zz\"\n"), "jd.toml")
	if err == nil || !strings.Contains(err.Error(), "jd.toml:2: store.url: the value is not a URL") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error = %v", err)
	}
	c, err := Parse([]byte("[store]\nurl = \"postgres://jd:s3cret@db.example.com/jd\"\n"), "jd.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Store.RedactedURL(); got != "postgres://jd:xxxxx@db.example.com/jd" {
		t.Errorf("RedactedURL() = %q", got)
	}
}

// TestValues checks single keys: each case is a TOML snippet and either the
// expected problem (without file and line) or a check on the result.
func TestValues(t *testing.T) {
	tests := []struct {
		toml  string
		want  string // expected error; "" for none
		check func(*Config) bool
	}{
		{toml: `domain = "Help.Example.COM"`, check: func(c *Config) bool {
			return c.Domain == "help.example.com" && c.PublicHostName() == "help.example.com"
		}},
		{toml: `domain = "https://help.example.com"`, want: `domain: "https://help.example.com" is not a domain name (want a DNS name like "help.example.com": letters, digits, '-' and '.', without scheme, port, '@' or '/')`},
		{toml: `domain = "HTTPS://X"`, want: `domain: "HTTPS://X" is not a domain name`},
		{toml: `domain = "example.com:5222"`, want: `is not a domain name`},
		{toml: `domain = "me@example.com"`, want: `is not a domain name`},
		{toml: `domain = "example.com/x"`, want: `is not a domain name`},
		{toml: `domain = "-x.com"`, want: `is not a domain name`},
		{toml: `domain = "a..b"`, want: `is not a domain name`},
		{toml: `domain = ""`, want: `is not a domain name`},
		{toml: `domain = 5`, want: `domain: want a string, got integer 5`},
		{toml: `data_dir = ""`, want: `data_dir: "" is not allowed (want a non-empty string)`},
		{toml: `log_format = "json"`, check: func(c *Config) bool { return c.LogFormat == "json" }},
		{toml: `log_format = "JSON"`, want: `log_format: "JSON" is not one of text, json`},
		{toml: "[xmpp]\nlisten_starttls = \"\"\nlisten_tls = \"[::1]:5223\"", check: func(c *Config) bool { return c.XMPP.ListenStartTLS == "" && c.XMPP.ListenTLS == "[::1]:5223" }},
		{toml: "[xmpp]\nlisten_starttls = \":65536\"", want: `xmpp.listen_starttls: ":65536" is not a listen address (want host:port, like ":6222" or "127.0.0.1:6222", or "" to disable)`},
		{toml: "[xmpp]\nlisten_starttls = \"0.0.0.0:xmpp\"", want: `is not a listen address`},
		{toml: "[xmpp]\nlisten_starttls = \":7000\"\nlisten_tls = \":7000\"", want: `xmpp.listen_tls: ":7000" is also used by xmpp.listen_starttls`},
		{toml: "[xmpp]\npublic_host = \"Chat.Example.com\"", check: func(c *Config) bool { return c.PublicHostName() == "chat.example.com" }},
		{toml: "[xmpp]\npublic_host = \"192.0.2.1\"", check: func(c *Config) bool { return c.PublicHostName() == "192.0.2.1" }},
		{toml: "[xmpp]\npublic_host = \"chat.example.com:5222\"", want: `xmpp.public_host: "chat.example.com:5222" is not a host name`},
		{toml: "[xmpp]\nkey_file = \"k.pem\"", want: `xmpp.key_file: is set but xmpp.cert_file is not`},
		{toml: "[xmpp]\ncert_file = \"\"\nkey_file = []", check: func(c *Config) bool { _, _, generated := c.CertPaths(); return generated }},
		{toml: "[xmpp]\ncert_file = [\"/e.pem\", \"/r.pem\"]\nkey_file = [\"/e.key\", \"/r.key\"]", check: func(c *Config) bool {
			certs, keys, generated := c.CertPairs()
			return !generated && slices.Equal(certs, []string{"/e.pem", "/r.pem"}) && slices.Equal(keys, []string{"/e.key", "/r.key"})
		}},
		{toml: "[xmpp]\ncert_file = [\"e.pem\", \"r.pem\"]\nkey_file = \"e.key\"", want: `xmpp.key_file: lists 1 files but xmpp.cert_file lists 2 (give each certificate its key, in the same order)`},
		{toml: "[xmpp]\ncert_file = [\"a\", \"b\", \"c\", \"d\"]\nkey_file = [\"a\", \"b\", \"c\", \"d\"]", want: `xmpp.cert_file: lists 4 files, too many (at most 3)`},
		{toml: "[xmpp]\ncert_file = [\"e.pem\", \"e.pem\"]\nkey_file = [\"e.key\", \"r.key\"]", want: `xmpp.cert_file: lists "e.pem" twice`},
		{toml: "[xmpp]\ncert_file = [\"e.pem\", \"\"]\nkey_file = [\"e.key\", \"r.key\"]", want: `xmpp.cert_file: want a path, or a list of up to 3 paths, got string "" in the list`},
		{toml: "[xmpp]\ncert_file = 5", want: `xmpp.cert_file: want a path, or a list of up to 3 paths, got integer 5`},
		{toml: "[auth]\nscram_iterations = 100", want: `auth.scram_iterations: 100 is out of range (want 4096 to 1000000)`},
		{toml: "[auth]\nlogin_failures_per_ip = 0", want: `auth.login_failures_per_ip: 0 is too small (want 1 or more)`},
		{toml: "[auth]\nlogin_failure_window = \"0s\"", want: `auth.login_failure_window: "0s" is too short (want more than 0)`},
		{toml: "[auth]\nlogin_failure_window = \"-1m\"", want: `auth.login_failure_window: "-1m" is too short`},
		{toml: "[auth]\nlogin_failure_window = \"1h30m\"", check: func(c *Config) bool { return c.Auth.LoginFailureWindow == 90*time.Minute }},
		{toml: "[limits]\nstanza_size = 4096.0", want: `limits.stanza_size: want an integer (bytes), got float 4096`},
		{toml: "[limits]\nstanza_size_preauth = 1023", want: `limits.stanza_size_preauth: 1023 is out of range (want 1024 to 65536)`},
		{toml: "[limits]\nconnections_per_ip = 0", check: func(c *Config) bool { return c.Limits.ConnectionsPerIP == 0 }},
		{toml: "[limits]\nconnections_per_ip = -1", want: `limits.connections_per_ip: -1 is too small (want 0 or more)`},
		{toml: "[limits]\nstanza_rate = 2.5", check: func(c *Config) bool { return c.Limits.StanzaRate == 2.5 }},
		{toml: "[limits]\nstanza_rate = 0", check: func(c *Config) bool { return c.Limits.StanzaRate == 0 }},
		{toml: "[limits]\nstanza_rate = -0.5", want: `limits.stanza_rate: -0.5 is too small (want 0 or more)`},
		{toml: "[limits]\nstanza_rate = inf", want: `limits.stanza_rate: +Inf is not a finite number`},
		{toml: "[limits]\nstanza_rate = \"fast\"", want: `limits.stanza_rate: want a number, got string "fast"`},
		{toml: "[limits]\nstanza_burst = 0", want: `limits.stanza_burst: 0 is too small (want 1 or more)`},
		{toml: "[limits]\noutbox_size = 15", want: `limits.outbox_size: 15 is too small (want 16 or more)`},
		{toml: "limits = 5", want: `limits: want a table, got integer 5`},
		{toml: "[[limits]]\nmax_depth = 8", want: `limits: want a table, got array`},
		{toml: "[log_level]\nx = 1", want: `log_level: want a string, got table`},
		{toml: "[limits.extra]\nx = 1", want: `limits.extra: unknown table (known keys in [limits]: `},
		{toml: "[xmpp]\ndomain = \"x\"", want: `xmpp.domain: unknown key (known keys in [xmpp]: acme, acme_directory, acme_email, cert_file, key_file, listen_starttls, listen_tls, ping_interval, public_host, resume_timeout); domain is a top-level key, which must come before the first [table] header`},
		{toml: "[auth]\nstanza_size = 5000", want: `; stanza_size belongs in [limits]`},
		{toml: "[xmpp]\nacme = \"yes\"", want: `xmpp.acme: want true or false, got string "yes"`},
		{toml: "[xmpp]\nacme = true\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"", want: `xmpp.acme: is true but xmpp.cert_file or xmpp.key_file is set too`},
		{toml: "[xmpp]\nacme = true\n[http]\nlisten = \"\"", want: `xmpp.acme: is true but http.listen is empty`},
		{toml: "[xmpp]\nacme = true\nacme_email = \"ops@example.com\"", check: func(c *Config) bool { return c.XMPP.ACME && c.XMPP.ACMEEmail == "ops@example.com" }},
		{toml: "[store]\nurl = \"postgres://jd@db.example.com:5432/jabberdesk?sslmode=verify-full\"", check: func(c *Config) bool {
			return c.Store.URL == "postgres://jd@db.example.com:5432/jabberdesk?sslmode=verify-full"
		}},
		{toml: "[store]\nurl = \"postgresql:///jabberdesk?host=/run/postgresql\"", check: func(c *Config) bool { return c.Store.URL == "postgresql:///jabberdesk?host=/run/postgresql" }},
		{toml: "[store]\nurl = \"\"", check: func(c *Config) bool { return c.Store.URL == "" }},
		{toml: "[store]\nurl = \"mysql://jd@db/jabberdesk\"", want: `store.url: "mysql://jd@db/jabberdesk" is not a postgres:// URL (want "" for the SQLite file in data_dir, or a PostgreSQL URL like`},
		{toml: "[store]\nurl = \"data/jabberdesk.db\"", want: `store.url: "data/jabberdesk.db" is not a postgres:// URL`},
		{toml: "[store]\nurl = 5", want: `store.url: want a string, got integer 5`},
		{toml: `"odd key" = 1`, want: `"odd key": unknown key`},
		// Dotted keys and inline tables decode like tables.
		{toml: "limits.max_depth = 8\nxmpp = { public_host = \"h.example\" }", check: func(c *Config) bool { return c.Limits.MaxDepth == 8 && c.XMPP.PublicHost == "h.example" }},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.toml), "t.toml")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s\n\tunexpected error: %v", tt.toml, err)
		case tt.want == "" && !tt.check(c):
			t.Errorf("%s\n\tcheck failed on %+v", tt.toml, *c)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s\n\terror = %v\n\twant  %s", tt.toml, err, tt.want)
		}
	}
}

func TestProblemLines(t *testing.T) {
	const data = `log_level = "x"
limits.max_depth = 1
xmpp = { listen_tls = "bad",
  public_host = "a b" }
[auth]
"bad key" = 1
`
	_, err := Parse([]byte(data), "f.toml")
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error = %v, want *Errors", err)
	}
	got := map[string]int{}
	for _, p := range errs.Problems {
		got[p.Key] = p.Line
	}
	want := map[string]int{
		"log_level":        1,
		"limits.max_depth": 2,
		"xmpp.listen_tls":  3,
		"xmpp.public_host": 4,
		`auth."bad key"`:   6,
	}
	if !maps.Equal(got, want) {
		t.Errorf("problem lines = %v, want %v\n%v", got, want, err)
	}
	if !slices.IsSortedFunc(errs.Problems, func(a, b Problem) int { return a.Line - b.Line }) {
		t.Errorf("problems not sorted by line:\n%v", err)
	}
}

func TestProblemString(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{"f.toml", 3, "a.b", "bad"}, "f.toml:3: a.b: bad"},
		{Problem{"f.toml", 0, "", "missing"}, "f.toml: missing"},
		{Problem{"", 2, "k", "bad"}, "line 2: k: bad"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	e := &Errors{Problems: []Problem{{"f", 1, "a", "x"}, {"f", 2, "b", "y"}}}
	if got, want := e.Error(), "f:1: a: x\nf:2: b: y"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestReadmeListsEveryLimit keeps the README's limits table complete:
// every key that bounds what a client may cost is in it.
func TestReadmeListsEveryLimit(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	notLimits := map[string]bool{"auth.scram_iterations": true, "http.listen": true, "http.public_url": true,
		"http.trusted_proxies": true, "http.geoip_file": true, "http.console": true, "uploads.allowed_types": true, "uploads.dir": true}
	for _, k := range Keys() {
		table, _, _ := strings.Cut(k.Key, ".")
		limitish := table == "limits" || table == "auth" || table == "http" || table == "uploads" || k.Key == "xmpp.resume_timeout"
		if limitish && !notLimits[k.Key] && !strings.Contains(string(readme), "`"+k.Key+"`") {
			t.Errorf("README.md's limits table does not list %s (default %s)", k.Key, k.Default)
		}
	}
}
