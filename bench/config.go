package bench

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"jabberdesk/address"

	"mellium.im/sasl"
)

// Config is what a run does. Zero values of the optional phases skip
// them; Defaults fills in the rest.
type Config struct {
	Server    string // host:port of the XMPP listener; several comma-separated: agent i signs in to the (i mod n)-th
	DirectTLS bool   // TLS from the first byte instead of STARTTLS
	Domain    string // the XMPP domain, also the TLS server name
	Verify    bool   // verify the server's certificate
	RootCAs   *x509.CertPool

	Agents      int
	Account     string // account format: "acme|agent%d" or "agent%d@example.com"
	Password    string // password format; "%d" is optional
	First       int    // the number of the first account
	Mechanism   string // SCRAM-SHA-256 or PLAIN
	Concurrency int    // logins in flight
	// PortalSize spreads the accounts over portals of that many agents
	// (0: all in the portal of Account); DepartmentSize puts provisioned
	// agents in departments of that many (portals.go).
	PortalSize     int
	DepartmentSize int

	Messages time.Duration // the message phase; 0 skips it
	Rate     float64       // total messages per second; 0: window mode
	Window   int           // messages in flight per sender in window mode
	Drain    time.Duration // how long to wait for messages still under way

	Idle time.Duration // hold the sessions this long
	// PIDs are the servers' processes, for CPU and RSS, summed over them
	// (and given per process when there are several); none: not measured.
	PIDs []int

	Visitors        int    // visitor chats; 0 skips the phase
	HTTP            string // base URL of the visitor API; several comma-separated: chat i goes through the (i mod n)-th
	Portal          string // default: Account up to "|"
	Department      string
	VisitorMessages int           // messages each way per chat
	Commands        time.Duration // the #info phase; 0 skips it

	Timeout time.Duration // bound on one login, one reply, one HTTP call

	// Progress, when set, gets a line as each phase starts and ends.
	Progress io.Writer
}

// Defaults of the flags of `jabberdesk bench`.
const (
	DefaultServer          = "127.0.0.1:6222"
	DefaultDomain          = "localhost"
	DefaultAgents          = 100
	DefaultAccount         = "acme|agent%d"
	DefaultPassword        = "password%d"
	DefaultMechanism       = "SCRAM-SHA-256"
	DefaultConcurrency     = 50
	DefaultWindow          = 8
	DefaultHTTP            = "http://127.0.0.1:8080"
	DefaultVisitorMessages = 10
	DefaultDrain           = 5 * time.Second
	DefaultTimeout         = 30 * time.Second
)

// Defaults fills in what is unset.
func (c *Config) Defaults() {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Server, DefaultServer)
	set(&c.Domain, DefaultDomain)
	set(&c.Account, DefaultAccount)
	set(&c.Password, DefaultPassword)
	set(&c.Mechanism, DefaultMechanism)
	set(&c.HTTP, DefaultHTTP)
	if c.Portal == "" {
		c.Portal = c.AccountPortal()
	}
	if c.Agents == 0 {
		c.Agents = DefaultAgents
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.VisitorMessages == 0 {
		c.VisitorMessages = DefaultVisitorMessages
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Check reports what is wrong with a configuration (after Defaults).
func (c *Config) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Agents < 1 {
		bad("--agents must be 1 or more")
	}
	if c.Agents > 1 && !strings.Contains(c.Account, "%d") {
		bad("--account %q has no %%d: every agent needs its own account", c.Account)
	}
	if strings.Count(c.Account, "%") != strings.Count(c.Account, "%d") || strings.Count(c.Password, "%") != strings.Count(c.Password, "%d") {
		bad("--account and --password may only hold %%d as a placeholder")
	}
	if c.First < 0 {
		bad("--first must be 0 or more")
	}
	if _, err := c.mechanism(); err != nil {
		errs = append(errs, err)
	}
	if c.Concurrency < 1 {
		bad("--concurrency must be 1 or more")
	}
	if c.Messages < 0 || c.Idle < 0 || c.Commands < 0 {
		bad("durations must not be negative")
	}
	if c.Rate < 0 {
		bad("--rate must be 0 (window mode) or more")
	}
	if c.Window < 1 {
		bad("--window must be 1 or more")
	}
	if c.Visitors < 0 {
		bad("--visitors must be 0 or more")
	}
	if c.Visitors > 0 && c.Portal == "" {
		bad("--visitors needs --portal (or an --account like PORTAL|agent%%d)")
	}
	if c.Commands > 0 && c.Visitors == 0 {
		bad("--commands needs active chats: give --visitors too")
	}
	if c.VisitorMessages < 0 {
		bad("--visitor-messages must be 0 or more")
	}
	for _, l := range []struct{ flag, list string }{{"--server", c.Server}, {"--http", c.HTTP}} {
		if slices.Contains(splitList(l.list), "") {
			bad("%s %q: an empty entry in the list", l.flag, l.list)
		}
	}
	seen := map[int]bool{}
	for _, pid := range c.PIDs {
		if pid <= 0 {
			bad("--pid must be a process id (or several, comma-separated)")
		} else if seen[pid] {
			bad("--pid %d is given twice", pid)
		}
		seen[pid] = true
	}
	c.checkPortals(bad)
	return errors.Join(errs...)
}

// Servers is Server split at its commas: the XMPP listeners the agents
// are shared out over, agent i (from 0) on the (i mod n)-th.
func (c *Config) Servers() []string { return splitList(c.Server) }

// HTTPBases is HTTP split at its commas: the visitor APIs the chats are
// shared out over, chat i (from 0) through the (i mod n)-th.
func (c *Config) HTTPBases() []string { return splitList(c.HTTP) }

// splitList splits a comma-separated list, trimming spaces around each
// entry.
func splitList(s string) []string {
	l := strings.Split(s, ",")
	for i := range l {
		l[i] = strings.TrimSpace(l[i])
	}
	return l
}

func (c *Config) mechanism() (sasl.Mechanism, error) {
	switch strings.ToUpper(c.Mechanism) {
	case "SCRAM-SHA-256":
		return sasl.ScramSha256, nil
	case "PLAIN":
		return sasl.Plain, nil
	}
	return sasl.Mechanism{}, fmt.Errorf("--mechanism %q: use SCRAM-SHA-256 or PLAIN", c.Mechanism)
}

// number is the account number of the i-th agent (from 0).
func (c *Config) number(i int) int { return c.First + i }

// AccountJID is the bare JID of the i-th agent (from 0).
func (c *Config) AccountJID(i int) string {
	a := c.account(i)
	if !strings.Contains(a, "@") {
		a += "@" + c.Domain
	}
	return a
}

// AccountName is the localpart of the i-th agent's JID.
func (c *Config) AccountName(i int) string {
	local, _, _ := strings.Cut(c.account(i), "@")
	return local
}

// AccountPassword is the password of the i-th agent (from 0).
func (c *Config) AccountPassword(i int) string { return format(c.Password, c.number(i)) }

// AccountPortal is the part of the account format before "|": the
// jabberdesk portal of the agents (of the first agent's with
// PortalSize), or "" when the format has none.
func (c *Config) AccountPortal() string {
	if c.PortalSize > 0 {
		return c.AccountPortalOf(0)
	}
	p, _, ok := address.SplitLocal(c.Account)
	if !ok {
		return ""
	}
	return p
}

// format replaces every %d of f with n.
func format(f string, n int) string {
	return strings.ReplaceAll(f, "%d", strconv.Itoa(n))
}
