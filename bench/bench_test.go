package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
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
	cfg.DirectTLS, cfg.Mechanism, cfg.Rate, cfg.PID = true, "SCRAM-SHA-256", 200, os.Getpid()
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
	var out strings.Builder
	if err := res.WriteReport(&out); err != nil || !strings.Contains(out.String(), "OK: nothing failed") {
		t.Errorf("report (%v):\n%s", err, out.String())
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
