package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/xmpptest"
)

// With [xmpp] acme = true the server gets its certificate from an ACME
// authority (RFC 8555) on its own, answering the HTTP-01 challenge on its
// HTTP listener, and agents' clients verify it against the authority's
// root. The authority is Pebble, Let's Encrypt's test server, with its
// DNS server pebble-challtestsrv answering 127.0.0.1 for every name (both
// tool dependencies in go.mod, built here); it validates the challenge
// over real HTTP. serve runs as a separate process that trusts Pebble's
// API certificate (SSL_CERT_FILE).
func TestACMECertificate(t *testing.T) {
	// Not parallel: Pebble and serve listen on ports chosen beforehand.
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: builds and runs Pebble")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIPPED: the go command is not on PATH, to build Pebble: %v", err)
	}
	dir := t.TempDir()
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
	if err != nil {
		t.Fatalf("locate Pebble: %v", err)
	}
	pebbleDir := strings.TrimSpace(string(out))
	if out, err := exec.Command(goBin, "build", "-o", dir, "github.com/letsencrypt/pebble/v2/cmd/pebble",
		"github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv").CombinedOutput(); err != nil {
		t.Fatalf("build Pebble: %v\n%s", err, out)
	}
	// Pebble's API and management, XMPP STARTTLS and TLS, HTTP, DNS and
	// the DNS server's management.
	ports := freePorts(t, 7)
	dns := exec.Command(filepath.Join(dir, "pebble-challtestsrv"), "-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", ports[5]), "-management", fmt.Sprintf("127.0.0.1:%d", ports[6]),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	if err := dns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Process.Kill(); dns.Wait() })
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", ports[6]))
	pebbleCfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"certificate":                    filepath.Join(pebbleDir, "test/certs/localhost/cert.pem"),
		"privateKey":                     filepath.Join(pebbleDir, "test/certs/localhost/key.pem"),
		"httpPort":                       ports[4], // where the validation authority fetches HTTP-01 answers
		"tlsPort":                        ports[3],
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	cfgJSON, _ := json.Marshal(pebbleCfg)
	pebbleCfgFile := filepath.Join(dir, "pebble.json")
	os.WriteFile(pebbleCfgFile, cfgJSON, 0o600)
	log, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	pc := exec.Command(filepath.Join(dir, "pebble"), "-config", pebbleCfgFile, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", ports[5]))
	pc.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	pc.Stdout, pc.Stderr = log, log
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Process.Kill(); pc.Wait() })
	minica := filepath.Join(pebbleDir, "test/certs/pebble.minica.pem")
	pebbleClient := httpsClient(t, minica)
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", ports[0]))

	cfg := filepath.Join(dir, "jabberdesk.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`domain = "chat.jabberdesk.test"
data_dir = "data"
log_level = "info"
[xmpp]
listen_starttls = "127.0.0.1:%d"
listen_tls = "127.0.0.1:%d"
acme = true
acme_email = "ops@example.com"
acme_directory = "https://127.0.0.1:%d/dir"
[http]
listen = "127.0.0.1:%d"
[admin]
listen = ""
`, ports[2], ports[3], ports[0], ports[4])), 0o600)
	srv := startServeProcess(t, dir, cfg, []string{serveEnv + "_DEMO=1", "SSL_CERT_FILE=" + minica},
		fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[4]))
	defer srv.kill(t)

	// The authority's root, which issued the certificate.
	res, err := pebbleClient.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", ports[1]))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(res.Body)
	res.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("Pebble's root: %q", rootPEM)
	}
	// The first handshake may wait for the order to complete.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Minute}, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[3]),
		&tls.Config{ServerName: "chat.jabberdesk.test", RootCAs: roots})
	if err != nil {
		pl, _ := os.ReadFile(filepath.Join(dir, "pebble.log"))
		sl, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
		t.Fatalf("TLS with the ACME certificate: %v\npebble:\n%s\nserve:\n%s", err, pl, sl)
	}
	issuer := conn.ConnectionState().PeerCertificates[0].Issuer.CommonName
	conn.Close()
	t.Logf("certificate issued by %q", issuer)

	// An agent signs in verifying the certificate like any client.
	passwords, err := readDemoPasswords(demoPasswordsFile(filepath.Join(dir, "data")))
	if err != nil {
		t.Fatal(err)
	}
	c := xmpptest.MustDial(t, fmt.Sprintf("127.0.0.1:%d", ports[2]), "demo|fiona.demo@chat.jabberdesk.test", passwords["fiona.demo"],
		xmpptest.Options{RootCAs: roots})
	c.Send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.Expect("ping", xmpptest.IQ("p1"))
	// The certificate is kept for the next start.
	if files, _ := os.ReadDir(filepath.Join(dir, "data", "acme")); len(files) == 0 {
		t.Error("nothing in the ACME cache")
	}
}

// httpsClient trusts the certificates of a PEM file.
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
