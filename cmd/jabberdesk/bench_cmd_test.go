package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"jabberdesk/bench"
	"jabberdesk/internal/pgtest"
	"jabberdesk/internal/testwait"
	"jabberdesk/store"
)

// benchServer is the configuration bench runs need: no limit on
// connections per address, visitor chats as fast as wanted.
const benchServer = "chat_rate = 1000000\nchat_burst = 1000000\n[limits]\nconnections_per_ip = 0"

// benchRun runs `jabberdesk bench` against r and returns the exit status,
// the parsed BENCH line and the output.
func benchRun(t *testing.T, r *running, args ...string) (int, *bench.Result, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	all := append([]string{"--config", filepath.Join(r.dir, "jabberdesk.toml"), "bench",
		"--server", r.startTLS, "--http", r.base, "--timeout", "10s"}, args...)
	code := run(all, strings.NewReader(""), &stdout, &stderr)
	var res *bench.Result
	for _, line := range strings.Split(stdout.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "BENCH "); ok {
			res = &bench.Result{}
			if err := json.Unmarshal([]byte(j), res); err != nil {
				t.Fatalf("BENCH line: %v\n%s", err, line)
			}
		}
	}
	if res == nil {
		t.Fatalf("no BENCH line (exit %d)\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	return code, res, stdout.String(), stderr.String()
}

func checkMessages(t *testing.T, m *bench.MessageResult, mode string) {
	t.Helper()
	if m == nil || m.Mode != mode {
		t.Fatalf("messages: %+v", m)
	}
	if m.Sent == 0 || m.Sent != m.Delivered || m.Lost != 0 || m.Duplicates != 0 || m.Errors != 0 || m.Latency.N != int(m.Delivered) {
		t.Errorf("%s mode: counts do not add up: %+v", mode, m)
	}
	if m.Latency.P50 <= 0 || m.Latency.P99 < m.Latency.P50 || m.Latency.Max < m.Latency.P99 || m.DeliveredPerS <= 0 {
		t.Errorf("%s mode: latency %+v, %g/s", mode, m.Latency, m.DeliveredPerS)
	}
}

// Provisioning, then the message phase in window mode and in rate mode,
// against the whole server in this process.
func TestBenchMessages(t *testing.T) {
	// Not parallel: rate mode checks that the server keeps up with a
	// schedule, and measures this process's CPU time.
	r := startRunning(t, benchServer)
	code, res, out, errOut := benchRun(t, r, "--provision", "--agents", "20", "--messages", "2s")
	if code != 0 || !res.OK {
		t.Fatalf("exit %d, problems %q\n%s\n%s", code, res.Problems, out, errOut)
	}
	if p := res.Provision; p == nil || p.Created != 20 || p.Portal != "acme" {
		t.Errorf("provision: %+v", p)
	}
	if res.Login.OK != 20 || res.Login.Failed != 0 || res.Login.Latency.N != 20 {
		t.Errorf("login: %+v", res.Login)
	}
	checkMessages(t, res.Messages, "window")
	for _, want := range []string{"Login", "Messages", "logins/s", "lost 0", "OK: nothing failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}

	// Rate mode, with the test process standing in for the server's PID,
	// and provisioning again: the accounts exist, nothing is created.
	pid := strconv.Itoa(os.Getpid())
	code, res, out, errOut = benchRun(t, r, "--provision", "--agents", "20", "--messages", "2s", "--rate", "200",
		"--mechanism", "PLAIN", "--idle", "100ms", "--pid", pid)
	if code != 0 || !res.OK {
		t.Fatalf("exit %d, problems %q\n%s\n%s", code, res.Problems, out, errOut)
	}
	if p := res.Provision; p == nil || p.Created != 0 || p.Existing != 20 {
		t.Errorf("provision again: %+v", p)
	}
	m := res.Messages
	checkMessages(t, m, "rate")
	// 20 senders, one message each per 100 ms for 2 s; a loaded machine
	// may fall a little behind at the end, which rate_kept would say.
	if m.Scheduled != 400 || m.RateKept == nil || m.MaxLateMs == nil || m.Sent < 360 {
		t.Errorf("rate mode: %+v", m)
	}
	if m.ServerCPUMsPerMessage == nil || res.Login.ServerCPUMsPerLogin == nil {
		t.Errorf("no CPU figures with --pid: %+v %+v", m, res.Login)
	}
	if i := res.Idle; i == nil || i.ServerRSSKiB == nil || *i.ServerRSSKiB <= 0 || i.Sessions != 20 || i.KiBPerSession == nil {
		t.Errorf("idle: %+v", i)
	}
}

// --portal-size with --provision creates the portals and their
// departments, and the accounts sign in to them.
func TestBenchPortalSize(t *testing.T) {
	t.Parallel()
	r := startRunning(t, benchServer)
	code, res, out, errOut := benchRun(t, r, "--provision", "--agents", "10", "--portal-size", "4", "--department-size", "2")
	if code != 0 || !res.OK || res.Login.OK != 10 {
		t.Fatalf("exit %d, login %+v, problems %q\n%s\n%s", code, res.Login, res.Problems, out, errOut)
	}
	if p := res.Provision; p == nil || p.Created != 10 || p.Portal != "acme1" || p.Portals != 3 || res.PortalSize != 4 {
		t.Errorf("provision: %+v", p)
	}
	if !strings.Contains(out, "in portals of 4 agents, departments of 2") {
		t.Errorf("the report does not say how the accounts are spread:\n%s", out)
	}
	agents, err := r.st.Agents(t.Context(), "acme3")
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != 2 || agents[0].Username != "agent10" || strings.Join(agents[0].Departments, ",") != "team 1" {
		t.Errorf("portal acme3: %+v", agents)
	}
}

// --json prints the BENCH line alone, and direct TLS works.
func TestBenchJSONDirectTLS(t *testing.T) {
	t.Parallel()
	r := startRunning(t, benchServer)
	var stdout, stderr bytes.Buffer
	code := run([]string{"--config", filepath.Join(r.dir, "jabberdesk.toml"), "bench", "--provision", "--json",
		"--server", r.directTLS, "--tls", "--agents", "5", "--messages", "500ms"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	line := strings.TrimSuffix(stdout.String(), "\n")
	var res bench.Result
	if strings.Contains(line, "\n") || json.Unmarshal([]byte(strings.TrimPrefix(line, "BENCH ")), &res) != nil || !strings.HasPrefix(line, "BENCH ") {
		t.Fatalf("want one BENCH line, got:\n%s", stdout.String())
	}
	if res.TLS != "direct" || res.Login.OK != 5 || res.Messages.Lost != 0 || res.Messages.Sent == 0 {
		t.Errorf("%+v %+v", res.Login, res.Messages)
	}
}

// Visitor chats accepted by the agents, messages both ways, then #info.
func TestBenchVisitorsAndCommands(t *testing.T) {
	t.Parallel()
	r := startRunning(t, benchServer)
	code, res, out, errOut := benchRun(t, r, "--provision", "--agents", "4", "--department", "Bench",
		"--visitors", "6", "--visitor-messages", "3", "--commands", "1s")
	if code != 0 || !res.OK {
		t.Fatalf("exit %d, problems %q\n%s\n%s", code, res.Problems, out, errOut)
	}
	v := res.Visitors
	if v == nil || v.Started != 6 || v.Accepted != 6 || v.Failed != 0 || v.AcceptLatency.N != 6 {
		t.Fatalf("visitors: %+v", v)
	}
	for name, f := range map[string]bench.Flow{"visitor→agent": v.VisitorToAgent, "agent→visitor": v.AgentToVisitor} {
		if f.Sent != 18 || f.Received != 18 || f.Lost != 0 || f.Latency.N != 18 || f.Latency.P50 <= 0 {
			t.Errorf("%s: %+v", name, f)
		}
	}
	c := res.Commands
	if c == nil || c.Chats != 6 || c.Replied == 0 || c.TimedOut != 0 || c.Replied != c.Sent || c.Latency.P99 <= 0 {
		t.Errorf("commands: %+v", c)
	}
	// The run ends its chats.
	testwait.For(t, "the bench's chats to end", func() bool {
		ended, err := r.st.Chats(t.Context(), "acme", store.ChatEnded, 0)
		return err == nil && len(ended) == 6
	})
}

// A wrong password: every login fails, the report says why, exit status 1.
func TestBenchLoginFailures(t *testing.T) {
	t.Parallel()
	r := startRunning(t, benchServer)
	if code, _, out, errOut := benchRun(t, r, "--provision", "--agents", "3"); code != 0 {
		t.Fatalf("provision: exit %d\n%s\n%s", code, out, errOut)
	}
	code, res, out, errOut := benchRun(t, r, "--agents", "3", "--password", "wrong password %d", "--messages", "1s")
	if code != exitFailure {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if res.OK || res.Login.Failed != 3 || res.Login.OK != 0 || !strings.Contains(res.Login.FirstError, "not-authorized") {
		t.Errorf("login: %+v", res.Login)
	}
	if !strings.Contains(out, "FAILED: 3 of 3 logins failed") || !strings.Contains(errOut, "jabberdesk: bench: 3 of 3 logins failed") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--commands", "1s"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--commands needs active chats") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// Two nodes of a cluster, each agent and visitor chat on one of them in
// turn: every agent writes to one on the other node, and chats started
// on one node are answered by agents on both.
func TestBenchSeveralNodes(t *testing.T) {
	if pgtest.ServerURL() == "" {
		t.Skipf("%s is not set: several nodes need PostgreSQL", pgtest.Env)
	}
	r := startNodesIn(t, t.TempDir(), 2, strings.Split(benchServer, "\n")...)
	xmpp := r.nodes[0].addrs["xmpp-starttls"] + "," + r.nodes[1].addrs["xmpp-starttls"]
	http := "http://" + r.nodes[0].addrs["http"] + ",http://" + r.nodes[1].addrs["http"]
	var stdout, stderr bytes.Buffer
	code := run([]string{"--config", filepath.Join(r.dir, "jabberdesk.toml"), "bench", "--server", xmpp, "--http", http,
		"--timeout", "10s", "--provision", "--agents", "6", "--messages", "1s", "--visitors", "4", "--visitor-messages", "2"},
		strings.NewReader(""), &stdout, &stderr)
	out := stdout.String()
	var res bench.Result
	if i := strings.Index(out, "BENCH {"); i < 0 || json.Unmarshal([]byte(strings.TrimSpace(out[i+len("BENCH "):])), &res) != nil {
		t.Fatalf("exit %d, no BENCH line\n%s\n%s", code, out, stderr.String())
	}
	if code != 0 || !res.OK {
		t.Fatalf("exit %d, problems %q\n%s\n%s", code, res.Problems, out, stderr.String())
	}
	if len(res.Servers) != 2 || res.Servers[0].SignedIn != 3 || res.Servers[1].SignedIn != 3 {
		t.Errorf("servers: %+v", res.Servers)
	}
	checkMessages(t, res.Messages, "window")
	if c := res.Messages.CrossServer; c == nil || *c != 6 {
		t.Errorf("cross-server senders: %v, want 6", c)
	}
	v := res.Visitors
	if v == nil || v.Accepted != 4 || len(v.HTTP) != 2 || v.HTTP[0].Started != 2 || v.HTTP[1].Started != 2 {
		t.Errorf("visitors: %+v", v)
	}
	if !strings.Contains(out, "6 of 6 senders write to an agent on another server") {
		t.Errorf("report:\n%s", out)
	}
}
