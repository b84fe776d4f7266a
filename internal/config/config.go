// Package config loads the jabberdesk server configuration from a TOML file.
//
// Loading is strict: unknown keys and tables, values of the wrong type and
// invalid values are all errors, and every problem in a file is reported at
// once, each with its file name, line and full dotted key. Every key has a
// default, so an empty file is a working configuration.
//
// The keys are defined in one table (see fields in schema.go), which drives
// decoding, defaults, validation, Keys and Example.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Config is the server configuration. See config.example.toml, Keys or
// Example for what each field means; the TOML key is given next to each
// field.
type Config struct {
	Domain    string // domain; lowercase
	DataDir   string // data_dir; absolute unless the working directory is unknown
	LogLevel  string // log_level: debug, info, warn or error
	LogFormat string // log_format: text or json

	Store   Store   // [store]
	XMPP    XMPP    // [xmpp]
	Auth    Auth    // [auth]
	Limits  Limits  // [limits]
	HTTP    HTTP    // [http]
	Uploads Uploads // [uploads]
	Cluster Cluster // [cluster]
	Admin   Admin   // [admin]
	Chats   Chats   // [chats]
	Roster  Roster  // [roster]

	// Path is the file the configuration was loaded from, "" for defaults.
	Path string
}

// Store is the [store] table: where the database is.
type Store struct {
	// URL is "" for the SQLite file jabberdesk.db in DataDir, or the
	// postgres:// (or postgresql://) URL of a PostgreSQL database. It may
	// hold a password: print it with RedactedURL.
	URL string // url
}

// RedactedURL is the store's URL without its password, fit to print
// ("" when the store is the SQLite file).
func (s Store) RedactedURL() string {
	return redactURL(s.URL)
}

// XMPP is the [xmpp] table.
type XMPP struct {
	ListenStartTLS string        // listen_starttls; "" disables the listener
	ListenTLS      string        // listen_tls; "" disables the listener
	PublicHost     string        // public_host; "" means Domain, see PublicHostName
	CertFiles      []string      // cert_file: one path or a list; none means generated, see CertPaths
	KeyFiles       []string      // key_file: the keys of CertFiles, by position
	ACME           bool          // acme: certificates from an ACME authority
	ACMEEmail      string        // acme_email
	ACMEDirectory  string        // acme_directory, a URL
	ResumeTimeout  time.Duration // resume_timeout; 0 disables stream resumption
	PingInterval   time.Duration // ping_interval; 0 disables server pings
}

// Admin is the [admin] table: health, metrics and profiling endpoints.
type Admin struct {
	Listen string // listen; "" disables them
}

// Cluster is the [cluster] table: several servers on one PostgreSQL
// database and NATS.
type Cluster struct {
	NATS     string        // nats; "" for a single server
	Node     string        // node; "" for the host name
	Takeover time.Duration // takeover
}

// Uploads is the [uploads] table: HTTP file upload for agents (XEP-0363).
type Uploads struct {
	Dir           string   // dir; "" for data_dir/uploads
	MaxFileSize   int64    // max_file_size, bytes
	QuotaPerAgent int64    // quota_per_agent, bytes
	AllowedTypes  []string // allowed_types; empty means any
}

// HTTP is the [http] table: the visitor API and widget.
type HTTP struct {
	Listen         string         // listen; "" disables the visitor API
	PublicURL      string         // public_url; "" means http://public_host:port
	TrustedProxies []netip.Prefix // trusted_proxies
	MaxBody        int            // max_body, in bytes
	ChatRate       float64        // chat_rate, chats per minute per address
	ChatBurst      int            // chat_burst
	GeoIPFile      string         // geoip_file; "" means countries are "unknown"
	Console        bool           // console: serve the supervisor console at /console/

	RequestTimeout   time.Duration // request_timeout
	IdleTimeout      time.Duration // idle_timeout
	MinTransferRate  int64         // min_transfer_rate, bytes per second
	ConnectionsPerIP int           // connections_per_ip
	StreamsPerIP     int           // streams_per_ip
	StreamsPerChat   int           // streams_per_chat
}

// Chats is the [chats] table: routing and timeouts of visitor chats.
type Chats struct {
	QueueTimeout time.Duration // queue_timeout
	OfferTimeout time.Duration // offer_timeout
	VisitorGrace time.Duration // visitor_grace
	MissedText   string        // missed_text
}

// Roster is the [roster] table: whose colleagues are whom.
type Roster struct {
	Colleagues     string // colleagues: auto, portal or departments
	PortalWideUpTo int    // portal_wide_up_to, agents
}

// Auth is the [auth] table.
type Auth struct {
	ScramIterations         int           // scram_iterations
	LoginFailuresPerIP      int           // login_failures_per_ip
	LoginFailuresPerAccount int           // login_failures_per_account
	LoginFailureWindow      time.Duration // login_failure_window
}

// Limits is the [limits] table.
type Limits struct {
	StanzaSize        int           // stanza_size, in bytes
	StanzaSizePreAuth int           // stanza_size_preauth, in bytes
	MaxDepth          int           // max_depth
	AuthTimeout       time.Duration // auth_timeout
	ConnectionsPerIP  int           // connections_per_ip; 0 means unlimited
	StanzaRate        float64       // stanza_rate, per second; 0 means unlimited
	StanzaBurst       int           // stanza_burst
	OutboxSize        int           // outbox_size

	VisitorRequestRate  float64 // visitor_request_rate, per second per address
	VisitorRequestBurst int     // visitor_request_burst
	VisitorMessageRate  float64 // visitor_message_rate, per second per chat
	VisitorMessageBurst int     // visitor_message_burst
	VisitorTypingRate   float64 // visitor_typing_rate, per second per chat
	VisitorTypingBurst  int     // visitor_typing_burst
}

// PublicHostName returns the host name clients should connect to:
// xmpp.public_host, or the domain if that is empty.
func (c *Config) PublicHostName() string {
	if c.XMPP.PublicHost != "" {
		return c.XMPP.PublicHost
	}
	return c.Domain
}

// CertPaths returns the TLS certificate and key files. If none are
// configured, they are cert.pem and key.pem under DataDir/tls, and generated
// is true: the server creates a self-signed certificate there if needed.
// With several configured pairs they are the first; see CertPairs.
func (c *Config) CertPaths() (cert, key string, generated bool) {
	certs, keys, generated := c.CertPairs()
	return certs[0], keys[0], generated
}

// CertPairs returns every TLS certificate file and its key file, pairs by
// position: the configured ones (one to MaxCertPairs), or the generated
// pair of CertPaths.
func (c *Config) CertPairs() (certs, keys []string, generated bool) {
	if len(c.XMPP.CertFiles) > 0 {
		return c.XMPP.CertFiles, c.XMPP.KeyFiles, false
	}
	dir := filepath.Join(c.DataDir, "tls")
	return []string{filepath.Join(dir, "cert.pem")}, []string{filepath.Join(dir, "key.pem")}, true
}

// MaxCertPairs is how many certificates xmpp.cert_file may list: one per
// key type (ECDSA, RSA, Ed25519).
const MaxCertPairs = 3

// KeyError is a problem with the value of key that shows only once the
// configuration is in use, such as a file it names that cannot be used:
// an *Errors with the configuration file and the key's line, like those
// of Parse.
func (c *Config) KeyError(key, msg string) error {
	p := Problem{File: c.Path, Key: key, Msg: msg}
	if data, err := os.ReadFile(c.Path); c.Path != "" && err == nil {
		p.Line = keyLines(data)[lineKey(strings.Split(key, "."))]
	}
	return &Errors{Problems: []Problem{p}}
}

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string // as given to Parse or Load
	Line int    // 1-based; 0 if the problem is not about one line
	Key  string // full dotted key, e.g. "limits.stanza_size"; "" if none
	Msg  string
}

// String formats p as "file:line: key: msg", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is the error returned by Parse and Load: every problem found,
// sorted by line.
type Errors struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Default returns the default configuration, with DataDir resolved against
// the current directory.
func Default() *Config {
	schema := fields()
	c := defaults(schema)
	resolve(c, schema, workingDir())
	return c
}

// Load reads and parses the file at path. If the file does not exist, Load
// returns Default() when mustExist is false, and an error otherwise.
func Load(path string, mustExist bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !mustExist {
			return Default(), nil
		}
		return nil, &Errors{Problems: []Problem{{
			File: path,
			Msg:  "config file does not exist (run `jabberdesk init` to create one)",
		}}}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Errors{Problems: []Problem{{File: path, Msg: "cannot read config file: " + err.Error()}}}
	}
	return Parse(data, path)
}

// Parse parses a configuration file. file names the file in messages and
// sets Config.Path; relative paths in the configuration are resolved against
// its directory (the current directory if file is ""). Any error is an
// *Errors.
func Parse(data []byte, file string) (*Config, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		p := Problem{File: file, Msg: "invalid TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			p.Line, _ = de.Position()
		}
		return nil, &Errors{Problems: []Problem{p}}
	}

	schema := fields()
	d := &decoder{
		file:   file,
		fields: schema,
		lines:  keyLines(data),
		cfg:    defaults(schema),
	}
	d.table(schemaTree(schema), doc, nil)
	for _, check := range crossChecks() {
		check(d.cfg, func(key, msg string) {
			d.report(strings.Split(key, "."), msg)
		})
	}
	if len(d.problems) > 0 {
		slices.SortStableFunc(d.problems, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), strings.Compare(a.Key, b.Key))
		})
		return nil, &Errors{Problems: d.problems}
	}

	dir := workingDir()
	if file != "" {
		dir = filepath.Dir(file)
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}
	resolve(d.cfg, schema, dir)
	d.cfg.Path = file
	return d.cfg, nil
}

func defaults(schema []field) *Config {
	c := new(Config)
	for _, f := range schema {
		f.val.reset(c)
	}
	return c
}

func resolve(c *Config, schema []field, dir string) {
	for _, f := range schema {
		if f.val.resolve != nil {
			f.val.resolve(c, dir)
		}
	}
}

func workingDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	return dir
}

// A tableNode is one table of the schema: its keys and sub-tables.
type tableNode struct {
	name   string // dotted name, "" for the top level
	fields map[string]field
	tables map[string]*tableNode
}

func schemaTree(schema []field) *tableNode {
	root := &tableNode{fields: map[string]field{}, tables: map[string]*tableNode{}}
	for _, f := range schema {
		t := root
		parts := strings.Split(f.key, ".")
		for i, name := range parts[:len(parts)-1] {
			sub, ok := t.tables[name]
			if !ok {
				sub = &tableNode{
					name:   strings.Join(parts[:i+1], "."),
					fields: map[string]field{},
					tables: map[string]*tableNode{},
				}
				t.tables[name] = sub
			}
			t = sub
		}
		t.fields[leaf(f.key)] = f
	}
	return root
}

// known lists the keys and tables of t, for "unknown key" messages.
func (t *tableNode) known() string {
	keys := slices.Sorted(maps.Keys(t.fields))
	var tables []string
	for _, name := range slices.Sorted(maps.Keys(t.tables)) {
		tables = append(tables, "["+t.tables[name].name+"]")
	}
	var s string
	if t.name == "" {
		s = "known top-level keys: "
	} else {
		s = "known keys in [" + t.name + "]: "
	}
	if len(keys) == 0 {
		s += "none"
	}
	s += strings.Join(keys, ", ")
	if len(tables) > 0 {
		s += "; tables: " + strings.Join(tables, ", ")
	}
	return s
}

type decoder struct {
	file     string
	fields   []field
	lines    map[string]int // see keyLines
	cfg      *Config
	problems []Problem
}

// table decodes the TOML table doc at path, described by t.
func (d *decoder) table(t *tableNode, doc map[string]any, path []string) {
	for name, raw := range doc {
		p := append(slices.Clip(path), name)
		if f, ok := t.fields[name]; ok {
			if err := f.val.decode(d.cfg, raw); err != nil {
				d.report(p, err.Error())
			}
			continue
		}
		if sub, ok := t.tables[name]; ok {
			m, ok := raw.(map[string]any)
			if !ok {
				d.report(p, "want a table, got "+describe(raw))
				continue
			}
			d.table(sub, m, p)
			continue
		}
		what := "key"
		if isTable(raw) {
			what = "table"
		}
		d.report(p, fmt.Sprintf("unknown %s (%s)%s", what, t.known(), d.hint(t, name)))
	}
}

// hint suggests where an unknown key of table t might belong.
func (d *decoder) hint(t *tableNode, name string) string {
	for _, f := range d.fields {
		if leaf(f.key) != name || table(f.key) == t.name {
			continue
		}
		if table(f.key) == "" {
			return fmt.Sprintf("; %s is a top-level key, which must come before the first [table] header", name)
		}
		return fmt.Sprintf("; %s belongs in [%s]", name, table(f.key))
	}
	return ""
}

func isTable(raw any) bool {
	switch v := raw.(type) {
	case map[string]any:
		return true
	case []any: // [[array of tables]]
		for _, e := range v {
			if _, ok := e.(map[string]any); !ok {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}

// report records a problem with the key at path, on the line of the key or,
// failing that, of its closest enclosing table.
func (d *decoder) report(path []string, msg string) {
	line := 0
	for n := len(path); n > 0 && line == 0; n-- {
		line = d.lines[lineKey(path[:n])]
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Key: displayKey(path), Msg: msg})
}

// lineKey joins the parts of a key unambiguously, for the map of lines.
func lineKey(path []string) string {
	return strings.Join(path, "\x00")
}

// displayKey joins the parts of a key with dots, quoting parts that are not
// bare TOML keys.
func displayKey(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = p
		if p == "" || strings.ContainsFunc(p, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, ".")
}

// keyLines maps every key and table header in data (see lineKey) to the
// line where it first appears. Dotted keys also define their prefixes.
// data must be valid TOML.
func keyLines(data []byte) map[string]int {
	var newlines []int
	for i, c := range data {
		if c == '\n' {
			newlines = append(newlines, i)
		}
	}
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	// record adds the lines of keys, relative to prefix, and returns the
	// full path.
	record := func(prefix []string, keys unstable.Iterator) []string {
		path := slices.Clone(prefix)
		line := 0
		for keys.Next() {
			k := keys.Node()
			if line == 0 {
				n, _ := slices.BinarySearch(newlines, int(k.Raw.Offset))
				line = n + 1
			}
			path = append(path, string(k.Data))
			if _, ok := lines[lineKey(path)]; !ok {
				lines[lineKey(path)] = line
			}
		}
		return path
	}
	var keyValue func(prefix []string, kv *unstable.Node)
	keyValue = func(prefix []string, kv *unstable.Node) {
		path := record(prefix, kv.Key())
		if v := kv.Value(); v.Kind == unstable.InlineTable {
			for it := v.Children(); it.Next(); {
				if it.Node().Kind == unstable.KeyValue {
					keyValue(path, it.Node())
				}
			}
		}
	}
	var current []string // the table of the last header
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			current = record(nil, e.Key())
		case unstable.KeyValue:
			keyValue(current, e)
		}
	}
	return lines
}
