package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// A field is one configuration key. The list in fields drives decoding,
// defaults, validation, Keys and Example: adding a key means adding a field
// to Config and one row here (and regenerating config.example.toml, see
// config_test.go).
type field struct {
	key  string // full dotted key, e.g. "limits.stanza_size"
	help string // what the key does; Example wraps it into comments
	val  value
}

// fields returns every configuration key, in documentation order. Keys of a
// table are listed together; tables appear in the order of their first key.
func fields() []field {
	return []field{
		{
			key:  "domain",
			help: "The XMPP domain this server is responsible for. Accounts are addressed as name@domain.",
			val:  lowerStr(func(c *Config) *string { return &c.Domain }, "localhost", domainName()),
		},
		{
			key:  "data_dir",
			help: "Directory where the server keeps its state, such as its database and generated certificate. A relative path is resolved against the directory containing this file.",
			val:  filePath(func(c *Config) *string { return &c.DataDir }, "data", notEmpty()),
		},
		{
			key:  "log_level",
			help: "Least severe log messages that are written.",
			val:  enum(func(c *Config) *string { return &c.LogLevel }, "info", "debug", "info", "warn", "error"),
		},
		{
			key:  "log_format",
			help: "Format of log lines: text for people, json for log collectors.",
			val:  enum(func(c *Config) *string { return &c.LogFormat }, "text", "text", "json"),
		},

		{
			key:  "store.url",
			help: `The database. "" keeps it in the SQLite file jabberdesk.db in data_dir, which suits one server. A postgres:// URL (postgres://USER@HOST:5432/DATABASE?sslmode=verify-full) names a PostgreSQL database, which several servers can share (docs/CLUSTER.md); it must exist, and init or serve creates the tables in it. Rather than a password in the URL, give it in $PGPASSWORD or ~/.pgpass; a password in the URL is never printed. "jabberdesk migrate" copies an SQLite installation into an empty PostgreSQL database.`,
			val:  str(func(c *Config) *string { return &c.Store.URL }, "", storeURL()),
		},

		{
			key:  "xmpp.listen_starttls",
			help: "Address for client connections that start unencrypted and upgrade with STARTTLS.",
			val:  str(func(c *Config) *string { return &c.XMPP.ListenStartTLS }, ":6222", listenAddr("6222")),
		},
		{
			key:  "xmpp.listen_tls",
			help: "Address for client connections that use TLS from the first byte (direct TLS, XEP-0368).",
			val:  str(func(c *Config) *string { return &c.XMPP.ListenTLS }, ":6223", listenAddr("6223")),
		},
		{
			key:  "xmpp.public_host",
			help: "Host name that agents' clients connect to, as printed on their client setup cards.",
			val:  lowerStr(func(c *Config) *string { return &c.XMPP.PublicHost }, "", hostName("the same as domain")),
		},
		{
			key:  "xmpp.cert_file",
			help: `PEM file with the TLS certificate chain. Set both cert_file and key_file to use your own certificate, or leave both empty to use a self-signed certificate generated under data_dir/tls/. A list of files, one per key type, such as ["ecdsa.pem", "rsa.pem"], serves those certificates side by side: each client is given the best one it supports (ECDSA handshakes cost the server far less CPU than RSA ones; clients that support only RSA still get RSA). A relative path is resolved against the directory containing this file.`,
			val:  filePaths(func(c *Config) *[]string { return &c.XMPP.CertFiles }, MaxCertPairs),
		},
		{
			key:  "xmpp.key_file",
			help: "PEM file with the private key for cert_file; with a list of certificates, a list of their keys in the same order. A relative path is resolved against the directory containing this file.",
			val:  filePaths(func(c *Config) *[]string { return &c.XMPP.KeyFiles }, MaxCertPairs),
		},

		{
			key:  "xmpp.acme",
			help: "Get the TLS certificate from an ACME certificate authority (Let's Encrypt by default) for domain and public_host, and renew it, without manual work. The authority checks that this server answers for the names with the HTTP-01 challenge, on http.listen, which must therefore be reachable on port 80 of those names (listen on :80, or forward port 80 to it). Certificates are kept under data_dir/acme. Leave cert_file and key_file empty.",
			val:  boolean(func(c *Config) *bool { return &c.XMPP.ACME }, false),
		},
		{
			key:  "xmpp.acme_email",
			help: "Contact address given to the ACME certificate authority, for notices about the certificates (optional).",
			val:  str(func(c *Config) *string { return &c.XMPP.ACMEEmail }, ""),
		},
		{
			key:  "xmpp.acme_directory",
			help: "Directory URL of the ACME certificate authority. The default is Let's Encrypt's production service; its staging service is https://acme-staging-v02.api.letsencrypt.org/directory.",
			val:  str(func(c *Config) *string { return &c.XMPP.ACMEDirectory }, "https://acme-v02.api.letsencrypt.org/directory", httpURL()),
		},

		{
			key:  "xmpp.resume_timeout",
			help: "How long a session whose connection dropped waits for its client to resume it (XEP-0198 stream management). Meanwhile the agent stays online and what is sent to them is kept; after it, unacknowledged messages go to their other devices or to offline storage. 0s turns resumption off.",
			val:  duration(func(c *Config) *time.Duration { return &c.XMPP.ResumeTimeout }, 5*time.Minute, atLeastDuration(0)),
		},
		{
			key:  "xmpp.ping_interval",
			help: "A session silent this long gets a ping (XEP-0199); one that does not answer within half of it is taken for dead and closed. 0s turns the pings off.",
			val:  duration(func(c *Config) *time.Duration { return &c.XMPP.PingInterval }, 2*time.Minute, atLeastDuration(0)),
		},

		{
			key:  "auth.scram_iterations",
			help: "PBKDF2 iteration count used for SCRAM when a password is set. Higher values make stolen password hashes harder to crack but cost more CPU at every login.",
			val:  integer(func(c *Config) *int { return &c.Auth.ScramIterations }, 4096, "", between(4096, 1000000)),
		},
		{
			key:  "auth.login_failures_per_ip",
			help: "Failed logins allowed from one IP address (an IPv6 /64) within login_failure_window before further attempts from that address are spaced out: each waits for a turn, twice as long after every further failure, up to 16 seconds; attempts under way count too, so parallel connections gain nothing, and an attempt that would wait more than 20 seconds is refused without a password check.",
			val:  integer(func(c *Config) *int { return &c.Auth.LoginFailuresPerIP }, 5, "", atLeast(1)),
		},
		{
			key:  "auth.login_failures_per_account",
			help: "Failed logins allowed on one account, from anywhere, within login_failure_window before further attempts on it are spaced out the same way. Never a lock-out: the agent's sign-ins from an address it has used before (in the last 90 days) are not slowed down.",
			val:  integer(func(c *Config) *int { return &c.Auth.LoginFailuresPerAccount }, 10, "", atLeast(1)),
		},
		{
			key:  "auth.login_failure_window",
			help: "Time over which login_failures_per_ip and login_failures_per_account are counted.",
			val:  duration(func(c *Config) *time.Duration { return &c.Auth.LoginFailureWindow }, 5*time.Minute, positive()),
		},

		{
			key:  "limits.stanza_size",
			help: "Largest stanza, in bytes, a client may send after authenticating.",
			val:  integer(func(c *Config) *int { return &c.Limits.StanzaSize }, 262144, "bytes", between(4096, 16777216)),
		},
		{
			key:  "limits.stanza_size_preauth",
			help: "Largest stanza, in bytes, a client may send before authenticating.",
			val:  integer(func(c *Config) *int { return &c.Limits.StanzaSizePreAuth }, 8192, "bytes", between(1024, 65536)),
		},
		{
			key:  "limits.max_depth",
			help: "Deepest nesting of elements allowed within one stanza.",
			val:  integer(func(c *Config) *int { return &c.Limits.MaxDepth }, 32, "", between(4, 256)),
		},
		{
			key:  "limits.auth_timeout",
			help: "Time after which a connection that has not authenticated is closed.",
			val:  duration(func(c *Config) *time.Duration { return &c.Limits.AuthTimeout }, 30*time.Second, positive()),
		},
		{
			key:  "limits.connections_per_ip",
			help: "Most simultaneous connections from one IP address; 0 means unlimited.",
			val:  integer(func(c *Config) *int { return &c.Limits.ConnectionsPerIP }, 64, "", atLeast(0)),
		},
		{
			key:  "limits.stanza_rate",
			help: "Stanzas per second one session may send, on average; 0 means unlimited.",
			val:  number(func(c *Config) *float64 { return &c.Limits.StanzaRate }, 200, atLeast(0.0)),
		},
		{
			key:  "limits.stanza_burst",
			help: "Stanzas one session may send in a quick burst before stanza_rate applies.",
			val:  integer(func(c *Config) *int { return &c.Limits.StanzaBurst }, 400, "", atLeast(1)),
		},
		{
			key:  "limits.visitor_request_rate",
			help: "Requests about chats (messages, typing, event streams, departments) one client address may make per second, on average; more get 429 with Retry-After.",
			val:  number(func(c *Config) *float64 { return &c.Limits.VisitorRequestRate }, 10, atLeast(0.1)),
		},
		{
			key:  "limits.visitor_request_burst",
			help: "Requests one client address may make at once before visitor_request_rate applies.",
			val:  integer(func(c *Config) *int { return &c.Limits.VisitorRequestBurst }, 60, "", atLeast(1)),
		},
		{
			key:  "limits.visitor_message_rate",
			help: "Messages one chat's visitor may send per second, on average; more get 429 with Retry-After (the widget sends them again then).",
			val:  number(func(c *Config) *float64 { return &c.Limits.VisitorMessageRate }, 1, atLeast(0.01)),
		},
		{
			key:  "limits.visitor_message_burst",
			help: "Messages one chat's visitor may send at once before visitor_message_rate applies.",
			val:  integer(func(c *Config) *int { return &c.Limits.VisitorMessageBurst }, 10, "", atLeast(1)),
		},
		{
			key:  "limits.visitor_typing_rate",
			help: "Typing notifications one chat's visitor may send per second, on average (the widget sends at most one every 3 seconds); more get 429.",
			val:  number(func(c *Config) *float64 { return &c.Limits.VisitorTypingRate }, 1, atLeast(0.01)),
		},
		{
			key:  "limits.visitor_typing_burst",
			help: "Typing notifications one chat's visitor may send at once before visitor_typing_rate applies.",
			val:  integer(func(c *Config) *int { return &c.Limits.VisitorTypingBurst }, 5, "", atLeast(1)),
		},
		{
			key:  "http.listen",
			help: "Address of the visitor API and the chat widget (HTTP). Put a TLS-terminating reverse proxy in front of it on the internet.",
			val:  str(func(c *Config) *string { return &c.HTTP.Listen }, ":8080", listenAddr("8080")),
		},
		{
			key:  "http.public_url",
			help: "URL at which visitors reach the visitor API, used in the widget snippet and printed links; empty means http://PUBLIC_HOST:PORT.",
			val:  str(func(c *Config) *string { return &c.HTTP.PublicURL }, "", httpURL()),
		},
		{
			key:  "http.trusted_proxies",
			help: "Reverse proxies whose X-Forwarded-For header is believed for the client's address, and X-Forwarded-Proto for whether the browser used HTTPS (the supervisor console's cookie is then Secure). Requests from anyone else are taken at their connection's address.",
			val:  prefixList(func(c *Config) *[]netip.Prefix { return &c.HTTP.TrustedProxies }, []netip.Prefix{}),
		},
		{
			key:  "http.max_body",
			help: "Largest request body, in bytes, the visitor API accepts (413 beyond).",
			val:  integer(func(c *Config) *int { return &c.HTTP.MaxBody }, 16384, "bytes", between(1024, 1048576)),
		},
		{
			key:  "http.chat_rate",
			help: "Chats one client address may start per minute, on average (429 beyond).",
			val:  number(func(c *Config) *float64 { return &c.HTTP.ChatRate }, 6, atLeast(0.1)),
		},
		{
			key:  "http.chat_burst",
			help: "Chats one client address may start at once before chat_rate applies.",
			val:  integer(func(c *Config) *int { return &c.HTTP.ChatBurst }, 5, "", atLeast(1)),
		},
		{
			key:  "http.request_timeout",
			help: "Time to read one request, header and body, and half the time to answer it. A client that sends more slowly is cut off (file uploads and downloads get more time by their size, see min_transfer_rate; WebSockets and long polls have their own).",
			val:  duration(func(c *Config) *time.Duration { return &c.HTTP.RequestTimeout }, 20*time.Second, positive()),
		},
		{
			key:  "http.idle_timeout",
			help: "How long a kept-alive connection may wait for its next request.",
			val:  duration(func(c *Config) *time.Duration { return &c.HTTP.IdleTimeout }, 60*time.Second, positive()),
		},
		{
			key:  "http.min_transfer_rate",
			help: "Bytes per second a file upload or download must keep up: it may take request_timeout plus its size at this rate.",
			val:  integer64(func(c *Config) *int64 { return &c.HTTP.MinTransferRate }, 16<<10, "bytes per second", 1024),
		},
		{
			key:  "http.connections_per_ip",
			help: "Most simultaneous connections from one client address (an IPv6 /64); more get 429 and are closed. Trusted proxies are not counted (their clients are, per request, by streams_per_ip).",
			val:  integer(func(c *Config) *int { return &c.HTTP.ConnectionsPerIP }, 64, "", atLeast(1)),
		},
		{
			key:  "http.streams_per_ip",
			help: "Most open event streams (WebSockets and long polls) from one client address; more get 429.",
			val:  integer(func(c *Config) *int { return &c.HTTP.StreamsPerIP }, 16, "", atLeast(1)),
		},
		{
			key:  "http.streams_per_chat",
			help: "Most open event streams of one chat (a visitor's browser tabs); more get 429.",
			val:  integer(func(c *Config) *int { return &c.HTTP.StreamsPerChat }, 8, "", atLeast(1)),
		},
		{
			key:  "http.geoip_file",
			help: "MaxMind GeoIP2 or GeoLite2 Country/City database used to record visitors' countries; empty means countries are recorded as unknown. A relative path is resolved against the directory containing this file.",
			val:  filePath(func(c *Config) *string { return &c.HTTP.GeoIPFile }, ""),
		},
		{
			key:  "http.console",
			help: "Serve the supervisor console at /console/ on this listener: supervisors and admins sign in with their XMPP name and password (docs/CONSOLE.md). Put it behind HTTPS.",
			val:  boolean(func(c *Config) *bool { return &c.HTTP.Console }, true),
		},

		{
			key:  "uploads.dir",
			help: "Where the files of chats are kept. \"\" is data_dir/uploads. Several servers sharing a PostgreSQL database (docs/CLUSTER.md) must share this directory too (NFS or another shared filesystem), so that each serves the files the others stored. A relative path is resolved against the directory containing this file.",
			val:  filePath(func(c *Config) *string { return &c.Uploads.Dir }, ""),
		},
		{
			key:  "uploads.max_file_size",
			help: "Largest file, in bytes, an agent may upload (XEP-0363 HTTP File Upload), a visitor may attach, or of a channel customer's that is fetched. Files are kept under data_dir/uploads and served by the HTTP listener.",
			val:  integer64(func(c *Config) *int64 { return &c.Uploads.MaxFileSize }, 10<<20, "bytes", 1024),
		},
		{
			key:  "uploads.quota_per_agent",
			help: "Bytes one agent may have uploaded in all; the files of one web chat, and those of one channel customer, may take as much.",
			val:  integer64(func(c *Config) *int64 { return &c.Uploads.QuotaPerAgent }, 1<<30, "bytes", 1024),
		},
		{
			key:  "uploads.allowed_types",
			help: `Media types agents may upload, visitors attach and customers' files have, such as "image/*" or "application/pdf"; an empty list allows any (programs, web pages and SVG images from visitors and customers are refused whatever this says).`,
			val:  stringList(func(c *Config) *[]string { return &c.Uploads.AllowedTypes }, []string{}, `media types (like "image/*" or "application/pdf")`, mediaType),
		},

		{
			key:  "cluster.nats",
			help: "NATS server(s) with JetStream that the servers of a cluster talk through (docs/CLUSTER.md), comma-separated, like \"nats://nats1.example.com:4222,nats://nats2.example.com:4222\". \"\" runs a single server. A cluster also needs store.url (PostgreSQL) and a shared uploads.dir.",
			val:  str(func(c *Config) *string { return &c.Cluster.NATS }, "", natsURLs()),
		},
		{
			key:  "cluster.node",
			help: "This server's name in the cluster: unique, letters, digits, - and _. \"\" is the host name.",
			val:  str(func(c *Config) *string { return &c.Cluster.Node }, "", nodeName()),
		},
		{
			key:  "cluster.takeover",
			help: "A server silent this long is taken for dead: the others take over its chats and forget its sessions. Shorter means faster recovery and more risk of mistaking a long pause for a death.",
			val:  duration(func(c *Config) *time.Duration { return &c.Cluster.Takeover }, 10*time.Second, atLeastDuration(2*time.Second)),
		},

		{
			key:  "admin.listen",
			help: "Address of the operators' endpoints: /healthz, Prometheus /metrics and Go profiling under /debug/pprof/. Keep it on localhost or a private network; \"\" disables them.",
			val:  str(func(c *Config) *string { return &c.Admin.Listen }, "127.0.0.1:6280", listenAddr("6280")),
		},

		{
			key:  "chats.queue_timeout",
			help: "A visitor chat that nobody accepts within this time is missed.",
			val:  duration(func(c *Config) *time.Duration { return &c.Chats.QueueTimeout }, 120*time.Second, positive()),
		},
		{
			key:  "chats.offer_timeout",
			help: "In round-robin departments, an offer not answered within this time moves on to the next agent.",
			val:  duration(func(c *Config) *time.Duration { return &c.Chats.OfferTimeout }, 30*time.Second, positive()),
		},
		{
			key:  "chats.visitor_grace",
			help: "A chat ends when its visitor has been gone (no open widget) this long.",
			val:  duration(func(c *Config) *time.Duration { return &c.Chats.VisitorGrace }, 60*time.Second, positive()),
		},
		{
			key:  "chats.missed_text",
			help: "What a visitor is told when nobody could take their chat.",
			val:  str(func(c *Config) *string { return &c.Chats.MissedText }, "Sorry, nobody could answer your chat right now. Please try again later.", notEmpty()),
		},

		{
			key:  "roster.colleagues",
			help: `Who is in an agent's roster, and so sees their presence: "portal" puts every agent of the portal in every roster; "departments" puts in an agent's roster the agents sharing a department with them, the portal's admins and, for supervisors, the other supervisors and the agents without a department (an agent without a department sees the supervisors and admins); "auto" gives portals of up to portal_wide_up_to agents portal-wide rosters and larger ones department rosters, so that signing in costs an agent the size of their roster, not of the portal (docs/AGENTS.md §3.1).`,
			val:  enum(func(c *Config) *string { return &c.Roster.Colleagues }, "auto", "auto", "portal", "departments"),
		},
		{
			key:  "roster.portal_wide_up_to",
			help: `With colleagues = "auto": the largest portal, in agents, whose rosters are portal-wide; a portal with more has department rosters. Crossing it, by adding or removing agents, changes the rosters of the portal's online agents at once.`,
			val:  integer(func(c *Config) *int { return &c.Roster.PortalWideUpTo }, 200, "agents", atLeast(1)),
		},

		{
			key:  "limits.outbox_size",
			help: "Stanzas queued for delivery to one session before it is considered too slow and disconnected (the presences answering its sign-in, one per colleague online, count as one).",
			val:  integer(func(c *Config) *int { return &c.Limits.OutboxSize }, 4096, "", atLeast(16)),
		},
	}
}

// tableHelp describes each table in Example. A table without an entry gets
// no comment.
func tableHelp() map[string]string {
	return map[string]string{
		"store":   "Where jabberdesk keeps its state.",
		"xmpp":    "XMPP client listeners and TLS.",
		"auth":    "Authentication and login throttling.",
		"limits":  "Limits that protect the server from misbehaving or overeager clients.",
		"http":    "The visitor API and the chat widget.",
		"uploads": "The files of chats: agents' uploads (XEP-0363), visitors' attachments and channel customers' files.",
		"cluster": "Several servers sharing one PostgreSQL database and a NATS server (docs/CLUSTER.md).",
		"admin":   "Health, metrics and profiling endpoints for operators.",
		"chats":   "Routing and timeouts of visitor chats.",
		"roster":  "Agents' rosters: who sees whom.",
	}
}

// crossChecks are checks that involve more than one key. They run after
// every key has been decoded, and report problems against a key (whose line
// is looked up in the file).
func crossChecks() []func(c *Config, report func(key, msg string)) {
	return []func(*Config, func(string, string)){
		func(c *Config, report func(key, msg string)) {
			const suffix = "(set both to use your own certificate, or neither to use a generated self-signed one)"
			certs, keys := c.XMPP.CertFiles, c.XMPP.KeyFiles
			switch {
			case len(certs) > 0 && len(keys) == 0:
				report("xmpp.cert_file", "is set but xmpp.key_file is not "+suffix)
			case len(certs) == 0 && len(keys) > 0:
				report("xmpp.key_file", "is set but xmpp.cert_file is not "+suffix)
			case len(certs) != len(keys):
				report("xmpp.key_file", fmt.Sprintf("lists %d files but xmpp.cert_file lists %d (give each certificate its key, in the same order)", len(keys), len(certs)))
			}
			for _, f := range []struct {
				key   string
				paths []string
			}{{"xmpp.cert_file", certs}, {"xmpp.key_file", keys}} {
				for i, p := range f.paths {
					if slices.Contains(f.paths[:i], p) {
						report(f.key, fmt.Sprintf("lists %q twice", p))
					}
				}
			}
		},
		func(c *Config, report func(key, msg string)) {
			switch {
			case c.XMPP.ACME && (len(c.XMPP.CertFiles) > 0 || len(c.XMPP.KeyFiles) > 0):
				report("xmpp.acme", "is true but xmpp.cert_file or xmpp.key_file is set too (ACME brings its own certificate: leave them empty, or turn acme off)")
			case c.XMPP.ACME && c.HTTP.Listen == "":
				report("xmpp.acme", "is true but http.listen is empty: the ACME authority checks the names over HTTP on that listener")
			}
		},
		func(c *Config, report func(key, msg string)) {
			// Port 0 asks the system for a free port: never a clash.
			if c.XMPP.ListenTLS != "" && c.XMPP.ListenTLS == c.XMPP.ListenStartTLS && !strings.HasSuffix(c.XMPP.ListenTLS, ":0") {
				report("xmpp.listen_tls", fmt.Sprintf("%q is also used by xmpp.listen_starttls (use different ports, or \"\" to disable one)", c.XMPP.ListenTLS))
			}
		},
		func(c *Config, report func(key, msg string)) {
			if c.Cluster.NATS != "" && c.Store.URL == "" {
				report("cluster.nats", "is set but store.url is not: the servers of a cluster share one PostgreSQL database (set store.url to it)")
			}
		},
	}
}

// KeyDoc documents one configuration key.
type KeyDoc struct {
	Key     string // full dotted key, e.g. "limits.stanza_size"
	Default string // the default, as a TOML literal: "info" (with quotes), 4096
	Help    string // what the key does
	Accepts string // the accepted values
}

// Keys documents every configuration key, grouped by table in the order of
// config.example.toml.
func Keys() []KeyDoc {
	var docs []KeyDoc
	for _, g := range groups(fields()) {
		for _, f := range g.fields {
			docs = append(docs, KeyDoc{Key: f.key, Default: f.val.def, Help: f.help, Accepts: f.val.accepts})
		}
	}
	return docs
}

// Example returns a configuration file that documents every key and sets it
// to its default. config.example.toml holds a copy.
func Example() []byte {
	var b bytes.Buffer
	b.WriteString(`# jabberdesk configuration file.
#
# Every key is optional: each one below is set to its default value, so
# deleting a line changes nothing. Unknown keys and tables are errors, as are
# values of the wrong type or out of range; all problems are reported at
# once, with their line numbers. To check a file without starting the server,
# run
#
#     jabberdesk serve --check
#
# Durations are strings like "30s", "5m" or "1h30m".
`)
	help := tableHelp()
	for _, g := range groups(fields()) {
		if g.table != "" {
			b.WriteString("\n")
			writeComment(&b, help[g.table])
			fmt.Fprintf(&b, "[%s]\n", g.table)
		}
		for _, f := range g.fields {
			b.WriteString("\n")
			writeComment(&b, f.help)
			writeComment(&b, "Accepts "+f.val.accepts+".")
			fmt.Fprintf(&b, "%s = %s\n", leaf(f.key), f.val.def)
		}
	}
	return b.Bytes()
}

// A group is the fields of one table ("" for the top level).
type group struct {
	table  string
	fields []field
}

// groups splits fs by table, top level first, then tables in the order of
// their first field.
func groups(fs []field) []group {
	gs := []group{{table: ""}}
	index := map[string]int{"": 0}
	for _, f := range fs {
		t := table(f.key)
		i, ok := index[t]
		if !ok {
			i = len(gs)
			index[t] = i
			gs = append(gs, group{table: t})
		}
		gs[i].fields = append(gs[i].fields, f)
	}
	return gs
}

// table returns the table part of a dotted key: "limits" for
// "limits.stanza_size", "" for "domain".
func table(key string) string {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return ""
	}
	return key[:i]
}

// leaf returns the last part of a dotted key.
func leaf(key string) string {
	return key[strings.LastIndexByte(key, '.')+1:]
}

// writeComment writes text as "# " comment lines of at most 78 columns.
func writeComment(b *bytes.Buffer, text string) {
	const width = 78 - len("# ")
	line := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
			b.WriteString("# ")
		case line+1+len(word) > width:
			b.WriteString("\n# ")
			line = 0
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	if line > 0 {
		b.WriteByte('\n')
	}
}
