package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// The fault test runs `jabberdesk serve` as a separate process (this test
// binary, see TestMain) under mixed load and kills it with SIGKILL at
// random moments. After each kill it checks the database (PRAGMA
// integrity_check) and that everything the server acknowledged before
// dying is stored, kind by kind:
//
//	visitor    a visitor's message answered 202       → in the chat's events
//	sm         a colleague message covered by <a h/>   → in the archive
//	receipt    a colleague message with its receipt    → in the archive
//	hibernate  a message <a/>-acknowledged while its   → in offline storage,
//	           recipient's session waited to be resumed   held for that session
//	tovisitor  an agent's message to a visitor, <a/>   → in the chat's events
//	ticket     "Ticket #N created" in reply to #support → the ticket, with the chat

// serveEnv names the configuration file when this test binary is to run
// `jabberdesk serve` instead of the tests (fault and ACME tests).
const serveEnv = "JD_TEST_SERVE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(serveEnv); cfg != "" {
		args := []string{"--config", cfg, "serve"}
		if os.Getenv(serveEnv+"_DEMO") != "" {
			args = append(args, "--demo")
		}
		os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const faultPassword = "fault test password"

// faultServer is one `serve` process.
type faultServer struct {
	cmd                     *exec.Cmd
	startTLS, httpAddr, dir string
}

func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testNodes(t) > 1 {
		t.Skip("runs in the pass on one node: it starts its own serve processes")
	}
	// Not parallel: serve restarts on ports chosen once, free only while
	// no other test can take them.
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: the kill -9 fault test takes about half a minute")
	}
	cycles := 12
	if n, err := strconv.Atoi(os.Getenv("JD_FAULT_CYCLES")); err == nil && n > 0 {
		cycles = n
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("JD_FAULT_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (JD_FAULT_SEED to repeat), %d kills", seed, cycles)
	rng := rand.New(rand.NewPCG(seed, seed))

	dir := t.TempDir()
	cfg := filepath.Join(dir, "jabberdesk.toml")
	ports := freePorts(t, 3)
	toml := fmt.Sprintf(`domain = "localhost"
data_dir = "data"
log_level = "error"
[xmpp]
listen_starttls = "127.0.0.1:%d"
listen_tls = "127.0.0.1:%d"
resume_timeout = "10m"
[http]
listen = "127.0.0.1:%d"
chat_rate = 100000.0
chat_burst = 100000
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
`, ports[0], ports[1], ports[2])
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServeProcess(t, dir, cfg, []string{serveEnv + "_DEMO=1"}, "")
	for _, a := range []struct{ name, dept string }{
		{"sm.sender", "Sales"}, {"sm.reader", "Sales"}, {"rc.sender", "Sales"}, {"rc.reader", "Sales"},
		{"hb.reader", "Sales"}, {"hb.sender", "Sales"}, {"tk.agent", "Support"},
	} {
		r := cli(t, dir, faultPassword+"\n", "agent", "add", "demo", a.name, "--email", a.name+"@demo.example", "--dept", a.dept, "--max-chats", "50", "--password-stdin")
		if r.code != 0 {
			t.Fatalf("agent add %s: %s", a.name, r.stderr)
		}
	}
	srv.kill(t)

	db := filepath.Join(dir, "data", "jabberdesk.db")
	for cycle := 1; cycle <= cycles; cycle++ {
		srv := startServeProcess(t, dir, cfg, nil, "")
		led := &ledger{acked: map[string][]string{}}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, w := range []func(context.Context, *faultServer, *ledger, string){
			visitorLoad, visitorLoad, colleagueLoadSM, colleagueLoadReceipts, hibernatingLoad, ticketLoad,
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w(ctx, srv, led, fmt.Sprintf("c%d", cycle))
			}()
		}
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		srv.kill(t)
		cancel()
		wg.Wait()
		checkAcknowledged(t, db, cycle, led)
	}
}

// freePorts finds n free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startServeProcess starts `serve` (with env added to its environment)
// and waits until it answers on healthURL (the visitor API's /healthz
// when "") and its STARTTLS port.
func startServeProcess(t *testing.T, dir, cfg string, env []string, healthURL string) *faultServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), serveEnv+"="+cfg), env...)
	logf, err := os.OpenFile(filepath.Join(dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &faultServer{cmd: cmd, dir: dir}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	body, _ := os.ReadFile(cfg)
	s.startTLS = regexp.MustCompile(`listen_starttls = "([^"]+)"`).FindStringSubmatch(string(body))[1]
	s.httpAddr = regexp.MustCompile(`\[http\]\nlisten = "([^"]+)"`).FindStringSubmatch(string(body))[1]
	if healthURL == "" {
		healthURL = "http://" + s.httpAddr + "/healthz"
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(healthURL)
		if err == nil {
			res.Body.Close()
			if c, err := net.Dial("tcp", s.startTLS); err == nil {
				c.Close()
				return s
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			t.Fatalf("serve did not start: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *faultServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
}

// ledger records what the server acknowledged, by kind.
type ledger struct {
	mu    sync.Mutex
	acked map[string][]string
}

func (l *ledger) add(kind string, tokens ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[kind] = append(l.acked[kind], tokens...)
}

// signIn signs an agent of the demo portal in with initial presence; nil
// when the server is gone.
func (s *faultServer) signIn(ctx context.Context, user string, o xmpptest.Options) *xmpptest.Client {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := xmpptest.Dial(dctx, s.startTLS, "demo|"+user+"@localhost", faultPassword, o)
	if err != nil {
		return nil
	}
	context.AfterFunc(ctx, c.Close)
	c.Send("<presence/>")
	return c
}

// smAcks sends <r/> and returns the h of the answer, or false.
func smAcks(c *xmpptest.Client) (int, bool) {
	c.Send("<r xmlns='urn:xmpp:sm:3'/>")
	a, ok := c.Wait(5*time.Second, func(n xmpptest.Node) bool { return n.XMLName.Local == "a" })
	if !ok {
		return 0, false
	}
	h, err := strconv.Atoi(a.Attr("h"))
	return h, err == nil
}

// enableSM turns stream management on (resumable or not) and waits for it.
func enableSM(c *xmpptest.Client, resume bool) bool {
	c.Send(fmt.Sprintf("<enable xmlns='urn:xmpp:sm:3' resume='%v'/>", resume))
	_, ok := c.Wait(5*time.Second, func(n xmpptest.Node) bool { return n.XMLName.Local == "enabled" })
	return ok
}

// sendAcked sends batches of messages from c with stream management on
// and records, as kind, those the server's <a/> covers.
func sendAcked(ctx context.Context, c *xmpptest.Client, led *ledger, kind string, max int, stanza func(token string) string, tag string) {
	var tokens []string
	acked := 0 // h counts what the client sent since <enable/>: only these
	for len(tokens) < max && ctx.Err() == nil {
		for i := 0; i < 10; i++ {
			tok := fmt.Sprintf("%s-%s-%d", tag, kind, len(tokens))
			tokens = append(tokens, tok)
			c.Send(stanza(tok))
		}
		h, ok := smAcks(c)
		if !ok || h < acked || h > len(tokens) {
			return
		}
		led.add(kind, tokens[acked:h]...)
		acked = h
	}
}

// colleagueLoadSM: sm.sender (stream management) writes to sm.reader.
func colleagueLoadSM(ctx context.Context, s *faultServer, led *ledger, tag string) {
	r1 := s.signIn(ctx, "sm.reader", xmpptest.Options{})
	s1 := s.signIn(ctx, "sm.sender", xmpptest.Options{})
	if r1 == nil || s1 == nil || !enableSM(s1, false) {
		return
	}
	sendAcked(ctx, s1, led, "sm", 1<<30, func(tok string) string {
		return "<message type='chat' to='demo|sm.reader@localhost'><body>" + tok + "</body></message>"
	}, tag)
}

// colleagueLoadReceipts: rc.sender writes to rc.reader and waits for
// each receipt.
func colleagueLoadReceipts(ctx context.Context, s *faultServer, led *ledger, tag string) {
	p2 := s.signIn(ctx, "rc.reader", xmpptest.Options{})
	p1 := s.signIn(ctx, "rc.sender", xmpptest.Options{})
	if p1 == nil || p2 == nil {
		return
	}
	go func() { // rc.reader answers every request for a receipt
		for ctx.Err() == nil {
			m, ok := p2.Wait(time.Second, func(n xmpptest.Node) bool { _, ok := n.Child("request"); return ok })
			if !ok {
				if _, closed := p2.Closed(0); closed {
					return
				}
				continue
			}
			p2.Send("<message to='demo|rc.sender@localhost'><received xmlns='urn:xmpp:receipts' id='" + m.Attr("id") + "'/></message>")
		}
	}()
	for i := 0; ctx.Err() == nil; i++ {
		tok := fmt.Sprintf("%s-receipt-%d", tag, i)
		p1.Send("<message type='chat' id='" + tok + "' to='demo|rc.reader@localhost'><body>" + tok + "</body><request xmlns='urn:xmpp:receipts'/></message>")
		if _, ok := p1.Wait(5*time.Second, func(n xmpptest.Node) bool {
			r, ok := n.Child("received")
			return ok && r.Attr("id") == tok
		}); !ok {
			return
		}
		led.add("receipt", tok)
	}
}

// hibernatingLoad: hb.reader's connection drops (its session waits to
// be resumed), then hb.sender writes to it.
func hibernatingLoad(ctx context.Context, s *faultServer, led *ledger, tag string) {
	h1 := s.signIn(ctx, "hb.reader", xmpptest.Options{})
	if h1 == nil || !enableSM(h1, true) {
		return
	}
	h1.Raw.Close()
	h2 := s.signIn(ctx, "hb.sender", xmpptest.Options{})
	if h2 == nil || !enableSM(h2, false) {
		return
	}
	time.Sleep(200 * time.Millisecond) // for the server to see the connection drop
	sendAcked(ctx, h2, led, "hibernate", 300, func(tok string) string {
		return "<message type='chat' to='demo|hb.reader@localhost'><body>" + tok + "</body></message>"
	}, tag)
}

// visitorLoad: a visitor writes into a new chat as fast as it is taken.
func visitorLoad(ctx context.Context, s *faultServer, led *ledger, tag string) {
	// Once the colleagues are signed in: a chat that nobody could be
	// offered would be missed at once.
	time.Sleep(150 * time.Millisecond)
	id, token, _, ok := startVisitorChat(ctx, s, tag, "Sales")
	if !ok {
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		tok := fmt.Sprintf("%s-%s-visitor-%d", tag, id[:6], i)
		if visitorPost(ctx, s, id, token, "messages", `{"text":"`+tok+`"}`) != http.StatusAccepted {
			return
		}
		led.add("visitor", tok)
	}
}

// startVisitorChat starts a chat; it returns its id, token and number.
func startVisitorChat(ctx context.Context, s *faultServer, tag, dept string) (id, token string, number int64, ok bool) {
	body := fmt.Sprintf(`{"portal":"demo","name":"Visitor %s","email":"v-%s@example.com","department":%q,"question":"Help with order %s"}`, tag, tag, dept, tag)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.httpAddr+"/api/v1/chats", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", 0, false
	}
	defer res.Body.Close()
	var started struct {
		ChatID        string `json:"chat_id"`
		Token         string `json:"token"`
		VisitorNumber int64  `json:"visitor_number"`
	}
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&started) != nil {
		return "", "", 0, false
	}
	return started.ChatID, started.Token, started.VisitorNumber, true
}

func visitorPost(ctx context.Context, s *faultServer, id, token, action, body string) int {
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.httpAddr+"/api/v1/chats/"+id+"/"+action, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

var ticketCreated = regexp.MustCompile(`Ticket #(\d+) created`)

// ticketLoad: tk.agent (stream management) takes chats, writes to the visitor,
// makes each chat a ticket and ends it.
func ticketLoad(ctx context.Context, s *faultServer, led *ledger, tag string) {
	t1 := s.signIn(ctx, "tk.agent", xmpptest.Options{})
	if t1 == nil || !enableSM(t1, false) {
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		_, _, number, ok := startVisitorChat(ctx, s, fmt.Sprintf("%s-%d", tag, i), "Support")
		if !ok {
			return
		}
		jid := fmt.Sprintf("demo|v-%d@localhost", number)
		if _, ok := t1.Wait(5*time.Second, xmpptest.Message(jid, "Reply y")); !ok {
			return
		}
		t1.Send(chatMsg(jid, "y"))
		if _, ok := t1.Wait(5*time.Second, xmpptest.Message(jid, "You are chatting with")); !ok {
			return
		}
		var words []string
		for j := 0; j < 5; j++ {
			tok := fmt.Sprintf("%s-tovisitor-%d-%d", tag, i, j)
			words = append(words, tok)
			t1.Send(chatMsg(jid, tok))
		}
		// y and the five messages: the server has handled all six once
		// its <a/> says so.
		if h, ok := smAcks(t1); !ok {
			return
		} else if covered := h - 6*i - 2*i - 1; covered > 0 {
			led.add("tovisitor", words[:min(covered, 5)]...)
		}
		t1.Send(chatMsg(jid, "#support conasreq 112"))
		reply, ok := t1.Wait(5*time.Second, xmpptest.Message(jid, "created"))
		if !ok {
			return
		}
		if m := ticketCreated.FindStringSubmatch(reply.Body()); m != nil {
			led.add("ticket", fmt.Sprintf("%d:%s", number, m[1]))
		}
		t1.Send(chatMsg(jid, "#e"))
	}
}

// checkAcknowledged checks the database of a killed server: intact, and
// holding everything in the ledger.
func checkAcknowledged(t *testing.T, path string, cycle int, led *ledger) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("kill %d: integrity_check: %q %v", cycle, integrity, err)
	}
	checkAcknowledgedIn(t, db, "sqlite", cycle, led)
}

// checkAcknowledgedIn checks that what the ledger holds is stored in db
// (engine "sqlite" or "postgres").
func checkAcknowledgedIn(t *testing.T, db *sql.DB, engine string, cycle int, led *ledger) {
	t.Helper()
	// What is stored, per kind, as the tokens the ledger holds (each
	// query reads what the cycle could have written, once).
	tag := fmt.Sprintf("c%d-", cycle)
	queries := map[string]string{
		"visitor":   `SELECT text FROM chat_events WHERE type = 'visitor_message' AND text LIKE ? || '%'`,
		"tovisitor": `SELECT text FROM chat_events WHERE type = 'message' AND text LIKE ? || '%'`,
		"sm":        `SELECT body FROM archive WHERE body LIKE ? || '%'`,
		"receipt":   `SELECT body FROM archive WHERE body LIKE ? || '%'`,
		"hibernate": `SELECT CAST(stanza AS TEXT) FROM offline_messages WHERE held_for <> '' AND ? <> ''`,
		"ticket": `SELECT c.number || ':' || t.number FROM tickets t JOIN ticket_chats tc ON tc.ticket_id = t.id
			JOIN chats c ON c.id = tc.chat_id WHERE ? <> ''`,
	}
	if engine == "postgres" {
		for k, q := range queries {
			queries[k] = strings.ReplaceAll(q, "?", "$1")
		}
		// A node that dies releases what it held for its sessions to
		// the others (docs/CLUSTER.md): held or not, it is kept.
		queries["hibernate"] = `SELECT convert_from(stanza, 'UTF8') FROM offline_messages WHERE $1 <> ''`
	}
	body := regexp.MustCompile(`<body>([^<]*)</body>`)
	var summary []string
	led.mu.Lock()
	defer led.mu.Unlock()
	for _, kind := range []string{"visitor", "tovisitor", "sm", "receipt", "hibernate", "ticket"} {
		stored := map[string]bool{}
		rows, err := db.Query(queries[kind], tag)
		if err != nil {
			t.Fatalf("kill %d: read %s: %v", cycle, kind, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			if kind == "hibernate" {
				if m := body.FindStringSubmatch(v); m != nil {
					v = m[1]
				}
			}
			stored[v] = true
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		lost := 0
		for _, tok := range led.acked[kind] {
			if !stored[tok] {
				lost++
				if lost <= 3 {
					t.Errorf("kill %d: %s %q was acknowledged but is not stored", cycle, kind, tok)
				}
			}
		}
		summary = append(summary, fmt.Sprintf("%s %d/%d", kind, len(led.acked[kind])-lost, len(led.acked[kind])))
	}
	t.Logf("kill %d: stored/acknowledged: %s", cycle, strings.Join(summary, ", "))
}
