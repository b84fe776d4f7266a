package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jabberdesk/bridge"
	"jabberdesk/internal/config"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/textout"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// running is the whole server, wired as `jabberdesk serve` wires it, on
// loopback ports with a fresh data directory.
type running struct {
	dir         string // holds jabberdesk.toml and data/
	cfg         *config.Config
	st          *store.Store
	app         *app
	startTLS    string
	directTLS   string
	base        string // visitor API, http://host:port
	env         *env
	passwords   map[string]string // demo agent → password
	nodes       []*app            // every node's, when the test runs on several (testNodes)
	envs        []*env            // their stores
	restartNATS func()            // restarts the nodes' NATS server (several nodes)
}

// startRunning starts the server; extra is appended to its configuration
// (table [http] is open with its listen address, so extra may add [http]
// keys or open other tables), except lines "xmpp.KEY = …", which go into
// the [xmpp] table.
func startRunning(t testing.TB, extra ...string) *running {
	t.Helper()
	return startRunningIn(t, t.TempDir(), extra...)
}

func startRunningIn(t testing.TB, dir string, extra ...string) *running {
	t.Helper()
	if n := testNodes(t); n > 1 {
		return startNodesIn(t, dir, n, extra...)
	}
	cfg := writeTestConfig(t, dir, extra...)
	e := &env{cfg: cfg}
	var out bytes.Buffer
	st, err := e.prepare(textout.New(&out), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.close() })
	accounts, err := seedDemo(context.Background(), st, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	// "#e 30" lasts 30 × 20 ms here, so that the end timer runs out fast.
	a, err := startApp(cfg, st, os.Stderr, func(b *bridge.Config) { b.EndTimerUnit = 20 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop() })
	r := &running{dir: dir, cfg: cfg, st: st, app: a, startTLS: a.addrs["xmpp-starttls"], directTLS: a.addrs["xmpp-tls"],
		base: "http://" + a.addrs["http"], env: e, passwords: map[string]string{}}
	for _, acc := range accounts {
		r.passwords[acc.Username] = acc.Password
	}
	return r
}

func (r *running) login(t *testing.T, user string, direct bool) *xmpptest.Client {
	t.Helper()
	addr := r.startTLS
	if direct {
		addr = r.directTLS
	}
	c := xmpptest.MustDial(t, addr, "demo|"+user+"@localhost", r.passwords[user], xmpptest.Options{DirectTLS: direct})
	c.Send("<presence/>")
	c.Expect("own presence", xmpptest.Presence(c.JID.String(), ""))
	return c
}

// The "done means" of the foundation: two demo agents, one on each port,
// see each other in the roster with presence and exchange messages.
func TestDemoAgentsTalkOnBothPorts(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	fiona := r.login(t, "fiona.demo", false)
	george := r.login(t, "george.demo", true)
	fiona.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
	roster := fiona.Expect("roster", xmpptest.IQ("r1"))
	found := false
	for _, it := range roster.Find("query/item") {
		found = found || it.Attr("jid") == "demo|george.demo@localhost" && it.Attr("name") == "George"
	}
	if !found {
		t.Fatalf("george not in fiona's roster: %+v", roster)
	}
	fiona.Expect("george's presence", xmpptest.Presence("demo|george.demo@localhost/", ""))
	fiona.Send("<message type='chat' to='demo|george.demo@localhost'><body>Hi George</body></message>")
	george.Expect("message from fiona", xmpptest.Message("demo|fiona.demo@localhost/", "Hi George"))
	george.Send("<message type='chat' to='demo|fiona.demo@localhost'><body>Hi Fiona</body></message>")
	fiona.Expect("reply from george", xmpptest.Message("demo|george.demo@localhost/", "Hi Fiona"))
}

// An agent added with the CLI while the server runs appears in online
// agents' rosters at once (through the control socket).
func TestCLIChangesReachOnlineAgents(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	fiona := r.login(t, "fiona.demo", false)
	fiona.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
	fiona.Expect("roster", xmpptest.IQ("r1"))

	// The same process runs the CLI command, as a separate jabberdesk
	// invocation would, through the control socket.
	var stdout, stderr bytes.Buffer
	code := run([]string{"--config", filepath.Join(r.dir, "jabberdesk.toml"), "agent", "add", "demo", "irene.k",
		"--email", "irene@demo.example", "--name", "Irene", "--password-stdin"},
		strings.NewReader("irene's password\n"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("agent add: exit %d: %s", code, stderr.String())
	}
	fiona.Expect("roster push", func(n xmpptest.Node) bool {
		for _, it := range n.Find("query/item") {
			if it.Attr("jid") == "demo|irene.k@localhost" && it.Attr("name") == "Irene" {
				return n.Attr("type") == "set"
			}
		}
		return false
	})
	// And the new agent can sign in right away.
	xmpptest.MustDial(t, r.startTLS, "demo|irene.k@localhost", "irene's password", xmpptest.Options{})
}

// needTool finds a Debian peer for the interop tests. Outside CI a missing
// tool skips the test; in CI (which installs them) it fails it.
func needTool(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: .ci/run installs it", path)
		}
		t.Skipf("%s is not installed (apt-get install it to run this test)", path)
	}
	return p
}

// go-sendxmpp (Debian) signs in over STARTTLS and delivers a message.
func TestInteropGoSendxmpp(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "go-sendxmpp")
	r := startRunning(t)
	george := r.login(t, "george.demo", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-n", "-u", "demo|fiona.demo@localhost", "-p", r.passwords["fiona.demo"],
		"-j", r.startTLS, "demo|george.demo@localhost")
	cmd.Stdin = strings.NewReader("hello from go-sendxmpp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go-sendxmpp: %v\n%s", err, out)
	}
	george.Expect("message from go-sendxmpp", xmpptest.Message("demo|fiona.demo@localhost/", "hello from go-sendxmpp"))
}

// slixmpp (Debian's python3-slixmpp) signs in over STARTTLS with
// SCRAM-SHA-256 (the script insists on that mechanism) and delivers a
// message.
func TestInteropSlixmppSCRAMSHA256(t *testing.T) {
	t.Parallel()
	python := needTool(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import slixmpp").Run(); err != nil {
		needTool(t, "python3-slixmpp-is-not-installed")
	}
	r := startRunning(t)
	george := r.login(t, "george.demo", false)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "interop", "slixmpp_send.py")
	host, port, _ := net.SplitHostPort(r.startTLS)
	body := fmt.Sprintf("hello from slixmpp at %s", time.Now().Format(time.StampMilli))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, "demo|fiona.demo@localhost", r.passwords["fiona.demo"], host, port,
		"SCRAM-SHA-256", "demo|george.demo@localhost", body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("slixmpp: %v\n%s", err, out)
	}
	george.Expect("message from slixmpp", xmpptest.Message("demo|fiona.demo@localhost/", body))
}

// lines reads a child process's output line by line.
type lines struct {
	t   *testing.T
	ch  chan string
	mu  sync.Mutex
	all []string
}

func readLines(t *testing.T, r io.Reader) *lines {
	l := &lines{t: t, ch: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			l.ch <- sc.Text()
		}
		close(l.ch)
	}()
	return l
}

// expect waits for a line starting with prefix and returns it.
func (l *lines) expect(prefix string) string {
	l.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				l.mu.Lock()
				defer l.mu.Unlock()
				l.t.Fatalf("the client exited before %q; it said:\n%s", prefix, strings.Join(l.all, "\n"))
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			l.t.Fatalf("no %q from the client within 30 s", prefix)
		}
	}
}

// slixmpp as a phone: stream management with a dropped socket and a
// resumption, carbons, and an archive query.
func TestInteropSlixmppMobile(t *testing.T) {
	t.Parallel()
	python := needTool(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import slixmpp").Run(); err != nil {
		needTool(t, "python3-slixmpp-is-not-installed")
	}
	r := startRunning(t)
	fiona := r.login(t, "fiona.demo", false)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "interop", "slixmpp_mobile.py")
	// A session is resumed on the node that holds it (docs/CLUSTER.md):
	// the phone connects to one node, past the balancer.
	host, port, _ := net.SplitHostPort(r.sameNodeStartTLS())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, "demo|george.demo@localhost", r.passwords["george.demo"], host, port, "demo|fiona.demo@localhost")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	out := readLines(t, stdout)
	out.expect("READY")

	fiona.Send("<message type='chat' to='demo|george.demo@localhost'><body>before the drop</body></message>")
	out.expect("GOT before the drop")
	io.WriteString(stdin, "DROP\n")
	out.expect("DROPPED")
	testwait.For(t, "the session to hibernate", func() bool {
		for _, a := range r.apps() {
			if _, hibernating := a.xmpp.SessionState("demo", "george.demo"); hibernating {
				return true
			}
		}
		return false
	})
	fiona.Send("<message type='chat' to='demo|george.demo@localhost'><body>while you were away</body></message>")
	io.WriteString(stdin, "RECONNECT\n")
	out.expect("RESUMED")
	out.expect("GOT while you were away")

	// Carbons: george's other device writes to fiona.
	desk := xmpptest.MustDial(t, r.startTLS, "demo|george.demo@localhost/desk", r.passwords["george.demo"], xmpptest.Options{})
	desk.Send("<presence/>")
	desk.Send("<message type='chat' to='demo|fiona.demo@localhost'><body>from the desk</body></message>")
	fiona.Expect("desk message", xmpptest.Message("demo|george.demo@localhost/desk", "from the desk"))
	out.expect("CARBON sent from the desk")

	io.WriteString(stdin, "MAM\n")
	mam := out.expect("MAM ")
	if mam != "MAM 3 before the drop from the desk" {
		t.Errorf("archive query: %q", mam)
	}
	io.WriteString(stdin, "QUIT\n")
}

// The admin listener answers health checks and serves Prometheus metrics.
func TestAdminHealthAndMetrics(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	r.login(t, "george.demo", false)
	base := "http://" + r.app.addrs["admin"]
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	var health healthReport
	err = json.NewDecoder(res.Body).Decode(&health)
	res.Body.Close()
	checks := 1 // the store
	if len(r.nodes) > 1 {
		checks++ // and NATS
	}
	okChecks := true
	for _, c := range health.Checks {
		okChecks = okChecks && c.OK
	}
	if err != nil || health.Status != "ok" || health.Engine != r.st.Engine() || len(health.Checks) != checks || !okChecks ||
		len(r.nodes) <= 1 && health.Sessions != 1 {
		t.Errorf("healthz: %+v %v", health, err)
	}
	r.startChat(t, "Ann", "Support", "metrics?")
	// Commands are measured by the table's name: what an agent types
	// cannot add labels.
	fiona := r.login(t, "fiona.demo", false)
	desk := "demo|desk@localhost"
	fiona.Send(chatMsg(desk, "#Q"))
	fiona.Expect("queue", xmpptest.Message(desk, "1 without an agent"))
	fiona.Send(chatMsg(desk, "#made-up-word"))
	fiona.Expect("refusal", xmpptest.Message(desk, ""))
	body := r.metrics(t)
	if strings.Contains(string(body), "made-up-word") || strings.Contains(string(body), `command="Q"`) {
		t.Error("a label made of what the agent typed")
	}
	for _, want := range []string{`jabberdesk_command_seconds_count{command="q"} 1`, `jabberdesk_command_seconds_count{command="invalid"} 1`,
		"jabberdesk_xmpp_sessions 2", "jabberdesk_xmpp_logins_total 2", `jabberdesk_chats{state="offered"} 1`, "jabberdesk_queue_length 1", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	res, err = http.Get(base + "/debug/pprof/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("pprof: %v %v", res, err)
	}
	res.Body.Close()
}

// Stopping the server answers a visitor's long poll and closes their
// WebSocket as "going away" at once, and agents get system-shutdown: a
// waiting long poll does not use up the time the XMPP server has to tell
// them.
func TestShutdownEndsVisitorStreamsAndTellsAgents(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.login(t, "george.demo", false)
	v := r.startChat(t, "Ann", "Support", "Still there?")
	offered(george, v)

	ctx, cancel := context.WithTimeout(context.Background(), 2*xmpptest.Timeout)
	defer cancel()
	url := strings.Replace(r.base, "http", "ws", 1) + fmt.Sprintf("/api/v1/chats/%s/ws?token=%s&after=1000000", v.ChatID, v.Token)
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	wsClosed := make(chan error, 1)
	go func() {
		_, _, err := ws.Read(ctx)
		wsClosed <- err
	}()
	polled := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", r.base+"/api/v1/chats/"+v.ChatID+"/events?after=1000000", nil)
		req.Header.Set("Authorization", "Bearer "+v.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			polled <- 0
			return
		}
		res.Body.Close()
		polled <- res.StatusCode
	}()
	testwait.For(t, "the long poll and the WebSocket to wait", func() bool {
		var n int64
		for _, a := range r.apps() {
			n += a.web.OpenStreams()
		}
		return n == 3
	})

	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	if err := <-wsClosed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("WebSocket ended with %v, want going away (1001)", err)
	}
	if code := <-polled; code != http.StatusOK {
		t.Errorf("long poll answered %d, want 200", code)
	}
	if err, ok := george.Closed(xmpptest.Timeout); !ok || err == nil || !strings.Contains(err.Error(), "system-shutdown") {
		t.Errorf("agent's stream: closed=%v err=%v", ok, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
}
