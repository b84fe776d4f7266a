package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// xmpp.js (@xmpp/client, JavaScript, from npm: testdata/interop/xmppjs,
// installed by .ci/run with npm ci) signs in over STARTTLS with SCRAM,
// trusting the generated certificate as a certificate authority
// (NODE_EXTRA_CA_CERTS: no "accept anything" switch), and chats with a
// colleague both ways.
func TestInteropXmppJS(t *testing.T) {
	t.Parallel()
	node := needTool(t, "node")
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "interop", "xmppjs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@xmpp", "client")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("xmpp.js is not installed: .ci/run runs npm ci in %s", dir)
		}
		t.Skipf("SKIPPED: xmpp.js is not installed (cd testdata/interop/xmppjs && npm ci)")
	}
	if v, err := exec.Command(node, "-p", "process.versions.node").Output(); err != nil || !nodeAtLeast(strings.TrimSpace(string(v)), 20, 10) {
		t.Skipf("SKIPPED: xmpp.js needs Node.js 20.10 or newer, found %q", strings.TrimSpace(string(v)))
	}
	r := startRunning(t)
	fiona := r.login(t, "fiona.demo", false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "client.mjs"), "xmpp://"+r.startTLS, "localhost", "demo|george.demo",
		r.passwords["george.demo"], "demo|fiona.demo@localhost")
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+filepath.Join(r.cfg.DataDir, "tls", "cert.pem"))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	out := readLines(t, stdout)
	if ready := out.expect("READY"); ready != "READY demo|george.demo@localhost/xmppjs" {
		t.Errorf("signed in as %q", ready)
	}
	fiona.Expect("george's presence", xmpptest.Presence("demo|george.demo@localhost/xmppjs", ""))
	fiona.Send("<message type='chat' to='demo|george.demo@localhost/xmppjs'><body>ping</body></message>")
	out.expect("GOT ping")
	fiona.Expect("pong", xmpptest.Message("demo|george.demo@localhost/xmppjs", "pong"))
	fiona.Send("<message type='chat' to='demo|george.demo@localhost/xmppjs'><body>bye</body></message>")
}

// nodeAtLeast reports whether a Node.js version such as "20.20.2" is at
// least major.minor.
func nodeAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
