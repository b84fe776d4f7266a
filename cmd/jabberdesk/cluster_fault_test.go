package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read what the nodes stored

	"jabberdesk/cluster"
	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/pgtest"
	"jabberdesk/internal/xmpptest"
)

// clusterTakeover is cluster.takeover in the fault tests of several nodes.
const clusterTakeover = 2 * time.Second

// startClusterProcesses starts n `serve` processes on one PostgreSQL
// schema and one NATS server, with the fault tests' agents.
func startClusterProcesses(t *testing.T, n int) (nodes []*faultServer, pgURL, natsURL string) {
	t.Helper()
	pgURL = pgtest.New(t)
	natsURL, _ = clustertest.Server(t)
	shared := t.TempDir()
	for i := range n {
		dir := filepath.Join(shared, fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		ports := freePorts(t, 3)
		toml := fmt.Sprintf(`domain = "localhost"
data_dir = "data"
log_level = "error"
[store]
url = %q
[cluster]
nats = %q
node = "n%d"
takeover = %q
[xmpp]
listen_starttls = "127.0.0.1:%d"
listen_tls = "127.0.0.1:%d"
resume_timeout = "10m"
[http]
listen = "127.0.0.1:%d"
chat_rate = 100000.0
chat_burst = 100000
[uploads]
dir = %q
[admin]
listen = ""
[limits]
stanza_rate = 0.0
visitor_message_rate = 100000.0
visitor_message_burst = 100000
visitor_request_rate = 100000.0
visitor_request_burst = 100000
[chats]
queue_timeout = "10m"
visitor_grace = "10m"
`, pgURL, natsURL, i, clusterTakeover.String(), ports[0], ports[1], ports[2], filepath.Join(shared, "uploads"))
		cfg := filepath.Join(dir, "jabberdesk.toml")
		if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
		var env []string
		if i == 0 {
			env = []string{serveEnv + "_DEMO=1"}
		}
		nodes = append(nodes, startServeProcess(t, dir, cfg, env, ""))
		if i == 0 {
			for _, a := range []struct{ name, dept string }{
				{"sm.sender", "Sales"}, {"sm.reader", "Sales"}, {"rc.sender", "Sales"}, {"rc.reader", "Sales"},
				{"hb.reader", "Sales"}, {"hb.sender", "Sales"}, {"tk.agent", "Support"}, {"ka.agent", "Support"},
			} {
				r := cli(t, dir, faultPassword+"\n", "agent", "add", "demo", a.name, "--email", a.name+"@demo.example", "--dept", a.dept, "--max-chats", "50", "--password-stdin")
				if r.code != 0 {
					t.Fatalf("agent add %s: %s", a.name, r.stderr)
				}
			}
		}
	}
	return nodes, pgURL, natsURL
}

// kill -9 of the node that runs the portal's chats, while agents and
// visitors on every node write: nothing acknowledged is lost, and a chat
// that was open continues on another node within the takeover time.
func TestClusterNodeKilledLosesNothing(t *testing.T) {
	if testNodes(t) > 1 {
		t.Skip("runs in the pass on one node: it starts its own serve processes")
	}
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: the cluster's kill -9 test starts three servers")
	}
	if pgtest.ServerURL() == "" {
		t.Skipf("SKIPPED: %s is not set: the cluster's kill -9 test needs PostgreSQL", pgtest.Env)
	}
	nodes, pgURL, natsURL := startClusterProcesses(t, 3)
	ctx := context.Background()

	// A chat that must survive: the agent signs in on node 1, the
	// visitor starts it on node 2.
	agent := mustSignIn(t, nodes[1], "ka.agent")
	id, token, number, ok := startVisitorChat(ctx, nodes[2], "keep", "Support")
	if !ok {
		t.Fatal("start the chat on node 2")
	}
	contact := fmt.Sprintf("demo|v-%d@localhost", number)
	agent.Expect("offer", xmpptest.Message(contact, "Reply y"))
	agent.Send(chatMsg(contact, "y"))
	agent.Expect("accepted", xmpptest.Message(contact, "You are chatting with"))

	owner := portalOwner(t, natsURL)
	t.Logf("the portal's chats run on n%d", owner)

	// Load on every node, then the owner dies.
	led := &ledger{acked: map[string][]string{}}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, w := range []func(context.Context, *faultServer, *ledger, string){
		colleagueLoadSM, visitorLoad, colleagueLoadReceipts, visitorLoad, ticketLoad, hibernatingLoad,
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w(lctx, nodes[i%len(nodes)], led, "c1")
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	killed := nodes[owner]
	killed.kill(t)
	killedAt := time.Now()
	cancel()
	wg.Wait()

	// The open chat continues: the visitor writes through a live node,
	// the agent (signed in again elsewhere if its node died) reads it
	// and answers.
	live := nodes[(owner+1)%len(nodes)]
	if owner == 1 {
		agent = mustSignIn(t, live, "ka.agent")
	}
	deadline := time.Now().Add(clusterTakeover + 15*time.Second)
	for visitorPost(ctx, live, id, token, "messages", `{"text":"still there?"}`) != http.StatusAccepted {
		if time.Now().After(deadline) {
			t.Fatal("the visitor's message is not taken by a live node")
		}
		time.Sleep(100 * time.Millisecond)
	}
	agent.Expect("the visitor's message after the kill", xmpptest.Message(contact, "still there?"))
	t.Logf("the chat continued %s after the kill (takeover %s)", time.Since(killedAt).Round(10*time.Millisecond), clusterTakeover)
	if _, twice := agent.Wait(500*time.Millisecond, xmpptest.Message(contact, "still there?")); twice {
		t.Error("the agent's session got the visitor's message twice")
	}
	agent.Send(chatMsg(contact, "yes, still here"))
	waitVisitorEvent(t, live, id, token, "yes, still here")

	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkAcknowledgedIn(t, db, "postgres", 1, led)
	checkOnce(t, db, id, "still there?")
}

// mustSignIn signs an agent of the fault tests in on s, with presence.
func mustSignIn(t *testing.T, s *faultServer, user string) *xmpptest.Client {
	t.Helper()
	c := xmpptest.MustDial(t, s.startTLS, "demo|"+user+"@localhost", faultPassword, xmpptest.Options{})
	c.Send("<presence/>")
	return c
}

// portalOwner is the node (0, 1, 2) whose heartbeat says it runs live
// chats.
func portalOwner(t *testing.T, natsURL string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var st cluster.Status
	var err error
	for time.Now().Before(deadline) {
		st, err = cluster.Inspect(context.Background(), natsURL, clusterTakeover)
		if err == nil {
			for _, n := range st.Nodes {
				if n.Stats["chats"] > 0 {
					var i int
					fmt.Sscanf(n.Node, "n%d", &i)
					return i
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no node says it runs the chat: %+v %v", st, err)
	return 0
}

// waitVisitorEvent polls the chat's events on s until one has text.
func waitVisitorEvent(t *testing.T, s *faultServer, id, token, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", "http://"+s.httpAddr+"/api/v1/chats/"+id+"/events?after=0", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			var body strings.Builder
			buf := make([]byte, 32<<10)
			for {
				n, err := res.Body.Read(buf)
				body.Write(buf[:n])
				if err != nil {
					break
				}
			}
			res.Body.Close()
			if strings.Contains(body.String(), text) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the visitor never saw %q", text)
}

// checkOnce checks that a visitor's line is in the chat's transcript
// exactly once.
func checkOnce(t *testing.T, db *sql.DB, publicID, text string) {
	t.Helper()
	var n int
	err := db.QueryRow(`SELECT count(*) FROM chat_events e JOIN chats c ON c.id = e.chat_id
		WHERE c.public_id = $1 AND e.type = 'visitor_message' AND e.text = $2`, publicID, text).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("%q is in the transcript %d times (%v)", text, n, err)
	}
}

// NATS restarts while agents on two nodes write to each other: the
// nodes reconnect, routing resumes, and what was sent meanwhile is not
// lost (delivered, or kept offline and delivered at the next sign-in).
func TestClusterSurvivesNATSRestart(t *testing.T) {
	if pgtest.ServerURL() == "" {
		t.Skipf("SKIPPED: %s is not set: the cluster's NATS restart test needs PostgreSQL", pgtest.Env)
	}
	t.Parallel()
	r := startNodesIn(t, t.TempDir(), 2)
	fiona := xmpptest.MustDial(t, r.nodes[0].addrs["xmpp-starttls"], "demo|fiona.demo@localhost", r.passwords["fiona.demo"], xmpptest.Options{})
	fiona.Send("<presence/>")
	george := xmpptest.MustDial(t, r.nodes[1].addrs["xmpp-starttls"], "demo|george.demo@localhost", r.passwords["george.demo"], xmpptest.Options{})
	george.Send("<presence/>")
	george.Expect("fiona's presence", xmpptest.Presence("demo|fiona.demo@localhost/", ""))
	fiona.Send("<message type='chat' to='demo|george.demo@localhost'><body>before</body></message>")
	george.Expect("before", xmpptest.Message("demo|fiona.demo@localhost/", "before"))

	r.restartNATS()
	for i := range 5 {
		fiona.Send(fmt.Sprintf("<message type='chat' to='demo|george.demo@localhost'><body>meanwhile %d</body></message>", i))
	}
	// Routing resumes: a message sent now and then arrives.
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; ; n++ {
		fiona.Send(fmt.Sprintf("<message type='chat' to='demo|george.demo@localhost'><body>after %d</body></message>", n))
		if _, ok := george.Wait(500*time.Millisecond, xmpptest.Message("demo|fiona.demo@localhost/", "after ")); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("routing did not resume after NATS restarted")
		}
	}
	// What was sent meanwhile reached george, now or at his next sign-in.
	got := map[string]bool{}
	for i := range 5 {
		body := fmt.Sprintf("meanwhile %d", i)
		_, got[body] = george.Wait(200*time.Millisecond, xmpptest.Message("demo|fiona.demo@localhost/", body))
	}
	george.Close()
	again := xmpptest.MustDial(t, r.nodes[1].addrs["xmpp-starttls"], "demo|george.demo@localhost", r.passwords["george.demo"], xmpptest.Options{})
	again.Send("<presence/>")
	for i := range 5 {
		body := fmt.Sprintf("meanwhile %d", i)
		if got[body] {
			continue
		}
		again.Expect("kept: "+body, xmpptest.Message("demo|fiona.demo@localhost/", body))
	}
}

// PostgreSQL goes away under a running server: visitors are told, with
// 503 and Retry-After, that nothing was stored; once it is back, the same
// requests succeed.
func TestPostgresOutageIsToldAndPasses(t *testing.T) {
	if testNodes(t) > 1 {
		t.Skip("runs in the pass on one node: it brings its own database")
	}
	o := pgtest.NewOutage(t)
	t.Parallel()
	r := startRunning(t, "[store]", fmt.Sprintf("url = %q", o.URL))
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, "Ann", "Support", "before the outage")
	george.Expect("offer", xmpptest.Message(v.JID, "before the outage"))

	o.Down(t)
	var e apiErr
	code := 0
	deadline := time.Now().Add(10 * time.Second)
	for code != http.StatusServiceUnavailable && time.Now().Before(deadline) {
		code = call(t, "POST", r.base+"/api/v1/chats", "", map[string]string{"portal": "demo", "name": "Bo", "question": "during"}, &e)
	}
	if code != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "nothing of this request was stored") {
		t.Fatalf("during the outage: %d %+v", code, e)
	}
	o.Up(t)
	deadline = time.Now().Add(10 * time.Second)
	for code != http.StatusCreated {
		if time.Now().After(deadline) {
			t.Fatalf("after the outage: %d %+v", code, e)
		}
		code = call(t, "POST", r.base+"/api/v1/chats", "", map[string]string{"portal": "demo", "name": "Bo", "question": "after"}, nil)
	}
	george.Expect("the chat after the outage", xmpptest.Message("demo|v-", "after"))
}
