package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func fakeConfig(addr string) Config {
	return Config{Server: addr, Agents: 6, Account: "agent%d", Password: "password%d", Concurrency: 3,
		Mechanism: "PLAIN", Messages: 300 * time.Millisecond, Drain: 300 * time.Millisecond, Timeout: 5 * time.Second}
}

// A message the server swallows is counted as lost, in window mode: the
// sender whose window slot it held carries on with the rest.
func TestLostMessageIsCounted(t *testing.T) {
	srv := startFakeServer(t, false, func(n int64) bool { return n == 5 })
	res, err := Run(context.Background(), fakeConfig(srv.addr()))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Messages
	if res.Login.OK != 6 || m == nil {
		t.Fatalf("login %+v, messages %+v", res.Login, m)
	}
	if m.Lost != 1 || m.Sent != m.Delivered+1 || m.Sent < 20 {
		t.Errorf("sent %d, delivered %d, lost %d; want exactly one lost\n%+v", m.Sent, m.Delivered, m.Lost, m)
	}
	if res.OK || !strings.Contains(strings.Join(res.Problems, ";"), "1 of") {
		t.Errorf("ok %v, problems %q", res.OK, res.Problems)
	}
}

// Nothing dropped: every count adds up, in rate mode with SCRAM-SHA-256
// over direct TLS, and the JSON line holds the figures.
func TestRateModeCountsAddUp(t *testing.T) {
	srv := startFakeServer(t, true, nil)
	cfg := fakeConfig(srv.addr())
	cfg.DirectTLS, cfg.Mechanism, cfg.Rate, cfg.PIDs = true, "SCRAM-SHA-256", 200, []int{os.Getpid()}
	cfg.Messages = time.Second
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Messages
	if !res.OK || m.Lost != 0 || m.Sent != m.Delivered || m.Sent < 180 || m.Sent > 200 || m.Scheduled != 200 {
		t.Fatalf("ok %v %q: %+v", res.OK, res.Problems, m)
	}
	if m.RateKept == nil || m.Latency.N != int(m.Sent) || m.ServerCPUMsPerMessage == nil {
		t.Errorf("rate figures: %+v", m)
	}
	line := res.JSONLine()
	var back map[string]any
	if !strings.HasPrefix(line, "BENCH {") || json.Unmarshal([]byte(strings.TrimPrefix(line, "BENCH ")), &back) != nil {
		t.Fatalf("JSON line: %s", line)
	}
	if msgs := back["messages"].(map[string]any); msgs["delivered"].(float64) != float64(m.Delivered) || msgs["mode"] != "rate" {
		t.Errorf("messages in JSON: %v", msgs)
	}
	// One server and one PID: none of the figures of several.
	if back["pid"] != float64(os.Getpid()) || back["pids"] != nil || back["servers"] != nil || back["processes"] != nil ||
		back["messages"].(map[string]any)["cross_server"] != nil {
		t.Errorf("one server, one PID: %s", line)
	}
	var out strings.Builder
	if err := res.WriteReport(&out); err != nil || !strings.Contains(out.String(), "OK: nothing failed") {
		t.Errorf("report (%v):\n%s", err, out.String())
	}
}

// Two servers that route to each other, as the nodes of a cluster do:
// agent i signs in to server i mod 2, so that every agent writes to one
// on the other server; with two PIDs the CPU time and RSS are summed and
// given per process.
func TestSpreadOverTwoServers(t *testing.T) {
	srvs := startFakeServers(t, 2)
	cfg := fakeConfig(srvs[0].addr() + "," + srvs[1].addr())
	cfg.PIDs = []int{os.Getpid(), os.Getppid()}
	cfg.Idle = 50 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Messages
	if !res.OK || m == nil || m.Sent == 0 || m.Lost != 0 {
		t.Fatalf("ok %v %q: %+v", res.OK, res.Problems, m)
	}
	for i, s := range srvs {
		if s.bound.Load() != 3 {
			t.Errorf("server %d: %d sessions bound, want 3", i, s.bound.Load())
		}
	}
	want := []ServerShare{{srvs[0].addr(), 3, 3}, {srvs[1].addr(), 3, 3}}
	if !slices.Equal(res.Servers, want) {
		t.Errorf("servers %+v, want %+v", res.Servers, want)
	}
	// Every message went from one server to the other.
	routed := srvs[0].routed.Load() + srvs[1].routed.Load()
	if m.CrossServer == nil || *m.CrossServer != 6 || srvs[0].routes.crossed.Load() != routed || m.Delivered != routed {
		t.Errorf("cross-server senders %v, %d of %d routed messages crossed, %d delivered", m.CrossServer,
			srvs[0].routes.crossed.Load(), routed, m.Delivered)
	}
	if res.PID != 0 || !slices.Equal(res.PIDs, cfg.PIDs) || len(res.Processes) != 2 {
		t.Fatalf("pid %d, pids %v, processes %+v", res.PID, res.PIDs, res.Processes)
	}
	var login, msgs float64
	var rss int64
	for _, p := range res.Processes {
		if p.LoginCPUMs == nil || p.MessagesCPUMs == nil || p.RSSBeforeKiB == nil || p.RSSKiB == nil || *p.RSSKiB <= 0 {
			t.Fatalf("process figures: %+v", p)
		}
		login += *p.LoginCPUMs
		msgs += *p.MessagesCPUMs
		rss += *p.RSSKiB
	}
	// The sums, up to the rounding of each figure to a microsecond.
	near := func(a, b float64) bool { return a-b < 0.003 && b-a < 0.003 }
	if res.Login.ServerCPUMs == nil || !near(*res.Login.ServerCPUMs, login) || m.ServerCPUMs == nil || !near(*m.ServerCPUMs, msgs) ||
		res.Idle == nil || res.Idle.ServerRSSKiB == nil || *res.Idle.ServerRSSKiB != rss {
		t.Errorf("sums: login %v (processes %g), messages %v (%g), idle %+v (%d)", res.Login.ServerCPUMs, login, m.ServerCPUMs, msgs, res.Idle, rss)
	}
	var out strings.Builder
	if err := res.WriteReport(&out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"signed in per server  " + srvs[0].addr() + " 3 of 3, " + srvs[1].addr() + " 3 of 3",
		"6 of 6 senders write to an agent on another server", "server PIDs ", "(2 processes together)",
		"Processes  PID " + strconv.Itoa(os.Getpid()) + ": CPU "} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("the report lacks %q:\n%s", w, out.String())
		}
	}
}

// Seven agents on three servers: the last agent (on the first server,
// as 6 mod 3 is 0) writes to the first, on the same server; the others
// cross.
func TestSpreadOverThreeServers(t *testing.T) {
	srvs := startFakeServers(t, 3)
	cfg := fakeConfig(srvs[0].addr() + ", " + srvs[1].addr() + ", " + srvs[2].addr())
	cfg.Agents = 7
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Messages
	if !res.OK || m == nil || m.Sent == 0 || m.Lost != 0 {
		t.Fatalf("ok %v %q: %+v", res.OK, res.Problems, m)
	}
	for i, want := range []int64{3, 2, 2} {
		if got := srvs[i].bound.Load(); got != want || res.Servers[i].SignedIn != int(want) || res.Servers[i].Agents != int(want) {
			t.Errorf("server %d: %d bound, %+v; want %d", i, got, res.Servers[i], want)
		}
	}
	if m.CrossServer == nil || *m.CrossServer != 6 || m.Senders != 7 {
		t.Errorf("cross-server senders %v of %d, want 6 of 7", m.CrossServer, m.Senders)
	}
	if crossed, routed := srvs[0].routes.crossed.Load(), srvs[0].routed.Load()+srvs[1].routed.Load()+srvs[2].routed.Load(); crossed == 0 || crossed >= routed {
		t.Errorf("%d of %d messages crossed: want all but the last sender's", crossed, routed)
	}
	if res.PID != 0 || res.PIDs != nil || res.Processes != nil || res.Login.ServerCPUMs != nil {
		t.Errorf("no PID, yet: %d %v %+v %v", res.PID, res.PIDs, res.Processes, res.Login.ServerCPUMs)
	}
}

func TestWrongPasswordFails(t *testing.T) {
	srv := startFakeServer(t, false, nil)
	cfg := fakeConfig(srv.addr())
	cfg.Password, cfg.Messages, cfg.Mechanism = "wrong password", 0, "SCRAM-SHA-256"
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Login.Failed != 6 || !strings.Contains(res.Login.FirstError, "not-authorized") {
		t.Fatalf("%+v", res.Login)
	}
}

func TestScanner(t *testing.T) {
	stream := "<?xml version='1.0'?>\n<stream:stream xmlns='jabber:client' a=\"x>y\">  \n" +
		"<message to='a@b' note='1>0'><body>hi &amp; &lt;bye&gt; &#x263A;</body><!-- no > --></message>\n" +
		"<presence/>" +
		"<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>" +
		"<message><body><![CDATA[<raw> & ]]></body></message>" +
		"</stream:stream>"
	for name, r := range map[string]io.Reader{
		"whole":       strings.NewReader(stream),
		"byte a time": iotest.OneByteReader(strings.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			sc := newScanner(bufio.NewReaderSize(r, 16))
			var got []string
			for {
				el, err := sc.next()
				if err == errStreamClosed {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				s := string(el.name())
				if b := body(el.raw); b != nil {
					s += ":" + string(b)
				}
				if v := attr(el.start, "note"); v != nil {
					s += ":" + string(v)
				}
				got = append(got, s)
			}
			want := []string{"stream", "message:hi & <bye> ☺:1>0", "presence", "iq", "message:<raw> & "}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}

func TestConfigChecks(t *testing.T) {
	for _, c := range []Config{
		{Account: "alice@example.com", Agents: 2},
		{Mechanism: "DIGEST-MD5"},
		{Commands: time.Second},
		{Account: "agent%s%d"},
		{Server: "127.0.0.1:1,,127.0.0.1:2"},
		{HTTP: "http://a,"},
		{PIDs: []int{0}},
		{PIDs: []int{7, 7}},
	} {
		c.Defaults()
		if err := c.Check(); err == nil {
			t.Errorf("%+v passed", c)
		}
	}
	c := Config{First: 7}
	c.Defaults()
	if err := c.Check(); err != nil || c.AccountJID(0) != "acme|agent7@localhost" || c.AccountPassword(1) != "password8" || c.Portal != "acme" {
		t.Errorf("defaults: %v %s %s", err, c.AccountJID(0), c.Portal)
	}
}

// --portal-size spreads the accounts over numbered portals by account
// number; --department-size puts each portal's agents in teams.
func TestPortalSpread(t *testing.T) {
	for _, c := range []Config{
		{PortalSize: 50, Account: "agent%d"},
		{PortalSize: 50, Account: "acme%d|agent%d"},
		{PortalSize: 50, First: 0},
		{DepartmentSize: 5, Department: "Sales"},
		{PortalSize: -1},
	} {
		c.Defaults()
		if err := c.Check(); err == nil {
			t.Errorf("%+v passed", c)
		}
	}
	c := Config{PortalSize: 3, DepartmentSize: 2, First: 1, Agents: 7}
	c.Defaults()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range c.Agents {
		got = append(got, c.AccountName(i)+"/"+c.AccountDepartment(i))
	}
	want := "acme1|agent1/team 1 acme1|agent2/team 1 acme1|agent3/team 2 acme2|agent4/team 1 acme2|agent5/team 1 acme2|agent6/team 2 acme3|agent7/team 1"
	if strings.Join(got, " ") != want {
		t.Errorf("accounts %q\nwant %q", strings.Join(got, " "), want)
	}
	if c.Portal != "acme1" || c.AccountJID(6) != "acme3|agent7@localhost" || c.AccountPortalOf(3) != "acme2" {
		t.Errorf("portal %q, JID %q", c.Portal, c.AccountJID(6))
	}
	one := Config{PortalSize: 3, Agents: 1, First: 7}
	one.Defaults()
	if one.AccountJID(0) != "acme3|agent7@localhost" {
		t.Errorf("--first 7 alone: %s", one.AccountJID(0))
	}
}

func TestPercentiles(t *testing.T) {
	var d []int64
	for i := int64(1); i <= 1000; i++ {
		d = append(d, i*1e6)
	}
	l := summarize(d)
	if l.P50 != 500 || l.P90 != 900 || l.P99 != 990 || l.Max != 1000 || l.N != 1000 {
		t.Errorf("%+v", l)
	}
}
