package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/cluster/clustertest"
	"jabberdesk/internal/config"
	"jabberdesk/internal/pgtest"
	"jabberdesk/internal/textout"
)

// testNodes is how many nodes the end-to-end tests run on:
// JABBERDESK_TEST_NODES, 1 when unset. With more, every test's server is
// that many nodes on one PostgreSQL schema and one NATS server, behind
// TCP balancers that hand each new connection to the next node, so that
// the agents and visitors of a test land on different nodes (make test
// runs the package so when JABBERDESK_TEST_POSTGRES is set).
func testNodes(t testing.TB) int {
	v := os.Getenv("JABBERDESK_TEST_NODES")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("JABBERDESK_TEST_NODES=%q: want a number of nodes", v)
	}
	if n > 1 && pgtest.ServerURL() == "" {
		t.Fatalf("JABBERDESK_TEST_NODES=%d needs %s", n, pgtest.Env)
	}
	return n
}

// clusterOf is what the nodes of a test share, kept in the first node's
// directory so that a test that starts its server again on the same
// directory finds the same database.
type clusterOf struct {
	Store string `json:"store"`
	NATS  string `json:"nats"`

	restartNATS func() // nil when an earlier start made the NATS server
}

func sharedCluster(t testing.TB, dir string) clusterOf {
	t.Helper()
	path := filepath.Join(dir, "cluster-test.json")
	var c clusterOf
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c.Store = pgtest.New(t)
	c.NATS, c.restartNATS = clustertest.Server(t)
	b, _ := json.Marshal(c)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// quotedPath is a quoted file name in a configuration line.
var quotedPath = regexp.MustCompile(`"[^"]*"`)

// startNodesIn starts n nodes for one test; the first keeps its data in
// dir, and the running it returns is the first node's with the
// balancers' addresses. r.nodes has every node's app.
func startNodesIn(t testing.TB, dir string, n int, extra ...string) *running {
	t.Helper()
	shared := sharedCluster(t, dir)
	lbStartTLS, lbTLS, lbHTTP := newBalancer(t), newBalancer(t), newBalancer(t)
	uploads := filepath.Join(dir, "shared-uploads")
	var r *running
	var accounts []demoAccount
	var r0envs []*env
	for i := range n {
		ndir := dir
		if i > 0 {
			ndir = filepath.Join(dir, fmt.Sprintf("node%d", i))
			if err := os.MkdirAll(ndir, 0o750); err != nil {
				t.Fatal(err)
			}
		}
		lines := append([]string{}, extra...)
		if i > 0 {
			// The nodes show the same certificates: the test's own files,
			// named from the first node's directory, or the one the first
			// node generated.
			own := false
			for j, l := range lines {
				if strings.HasPrefix(l, "xmpp.cert_file") || strings.HasPrefix(l, "xmpp.key_file") {
					own = true
					lines[j] = quotedPath.ReplaceAllStringFunc(l, func(q string) string {
						p := strings.Trim(q, `"`)
						if filepath.IsAbs(p) {
							return q
						}
						return strconv.Quote(filepath.Join(dir, p))
					})
				}
			}
			if !own {
				cert, key, _ := r.cfg.CertPaths()
				lines = append(lines, fmt.Sprintf("xmpp.cert_file = %q", cert), fmt.Sprintf("xmpp.key_file = %q", key))
			}
		}
		lines = append(lines, fmt.Sprintf("public_url = %q", "http://"+lbHTTP.Addr()),
			"[store]", fmt.Sprintf("url = %q", shared.Store),
			"[cluster]", fmt.Sprintf("nats = %q", shared.NATS), fmt.Sprintf("node = \"n%d\"", i), `takeover = "2s"`,
			"[uploads]", fmt.Sprintf("dir = %q", uploads))
		cfg := writeTestConfig(t, ndir, lines...)
		e := &env{cfg: cfg}
		var out bytes.Buffer
		st, err := e.prepare(textout.New(&out), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.close() })
		r0envs = append(r0envs, e)
		if i == 0 {
			if accounts, err = seedDemo(context.Background(), st, cfg.DataDir); err != nil {
				t.Fatal(err)
			}
		}
		a, err := startApp(cfg, st, os.Stderr, func(b *bridge.Config) { b.EndTimerUnit = 20 * time.Millisecond })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.stop() })
		lbStartTLS.add(a.addrs["xmpp-starttls"])
		lbTLS.add(a.addrs["xmpp-tls"])
		lbHTTP.add(a.addrs["http"])
		if i == 0 {
			r = &running{dir: dir, cfg: cfg, st: st, app: a, startTLS: lbStartTLS.Addr(), directTLS: lbTLS.Addr(),
				base: "http://" + lbHTTP.Addr(), env: e, passwords: map[string]string{}}
		}
		r.nodes = append(r.nodes, a)
	}
	for _, acc := range accounts {
		r.passwords[acc.Username] = acc.Password
	}
	r.envs = r0envs
	r.restartNATS = shared.restartNATS
	return r
}

// apps are the server's nodes: one, or every node of a test on several.
func (r *running) apps() []*app {
	if len(r.nodes) == 0 {
		return []*app{r.app}
	}
	return r.nodes
}

// stop stops every node of the server and closes their stores.
func (r *running) stop() error {
	var errs []error
	for _, a := range r.apps() {
		errs = append(errs, a.stop())
	}
	r.env.close()
	for _, e := range r.envs {
		e.close()
	}
	return errors.Join(errs...)
}

// metrics is what the nodes' /metrics say together: a series that
// several nodes have (the same but for their node label) is summed.
func (r *running) metrics(t testing.TB) string {
	t.Helper()
	nodeLabel := regexp.MustCompile(`node="[^"]*",|,?node="[^"]*"`)
	var order []string
	sums := map[string]float64{}
	for _, a := range r.apps() {
		res, err := http.Get("http://" + a.addrs["admin"] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err != nil {
				continue
			}
			series := strings.Replace(nodeLabel.ReplaceAllString(line[:i], ""), "{}", "", 1)
			if _, ok := sums[series]; !ok {
				order = append(order, series)
			}
			sums[series] += v
		}
	}
	var b strings.Builder
	for _, s := range order {
		fmt.Fprintf(&b, "%s %s\n", s, strconv.FormatFloat(sums[s], 'g', -1, 64))
	}
	return b.String()
}

// writeTestConfig writes dir/jabberdesk.toml as startRunningIn does and
// loads it.
func writeTestConfig(t testing.TB, dir string, extra ...string) *config.Config {
	t.Helper()
	// Lines "xmpp.KEY = …" go into the [xmpp] table; "public_url = …"
	// into [http].
	var xmpp, http, rest []string
	for _, l := range extra {
		if k, ok := strings.CutPrefix(l, "xmpp."); ok {
			xmpp = append(xmpp, k)
		} else if strings.HasPrefix(l, "public_url = ") {
			http = append(http, l)
		} else {
			rest = append(rest, l)
		}
	}
	toml := `domain = "localhost"
data_dir = "data"
log_level = "warn"
[xmpp]
listen_starttls = "127.0.0.1:0"
listen_tls = "127.0.0.1:0"
` + strings.Join(append(xmpp, ""), "\n") + `[admin]
listen = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
` + strings.Join(append(http, rest...), "\n")
	if err := os.WriteFile(filepath.Join(dir, "jabberdesk.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "jabberdesk.toml"), true)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sameNodeStartTLS is a STARTTLS address that reaches the same node
// every time: the first node's own listener, past the balancer.
func (r *running) sameNodeStartTLS() string { return r.app.addrs["xmpp-starttls"] }
