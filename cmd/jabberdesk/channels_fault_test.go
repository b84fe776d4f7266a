package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// A channel's messages survive kill -9 both ways: a customer message
// answered 200 reaches the chat once, and an agent's message stored but
// not yet delivered (the provider failed the first attempt) is delivered
// after the restart, once.
func TestChannelMessagesSurviveKillNine(t *testing.T) {
	if testNodes(t) > 1 {
		t.Skip("runs in the pass on one node: it starts its own serve processes")
	}
	// Not parallel: serve restarts on ports chosen once.
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: the channel kill -9 test restarts the server")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jabberdesk.toml")
	ports := freePorts(t, 3)
	toml := fmt.Sprintf(`domain = "localhost"
data_dir = "data"
log_level = "error"
[xmpp]
listen_starttls = "127.0.0.1:%d"
listen_tls = "127.0.0.1:%d"
[http]
listen = "127.0.0.1:%d"
[admin]
listen = ""
[chats]
queue_timeout = "10m"
`, ports[0], ports[1], ports[2])
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServeProcess(t, dir, cfg, []string{serveEnv + "_DEMO=1"}, "")
	if r := cli(t, dir, faultPassword+"\n", "agent", "add", "demo", "kn.agent", "--email", "kn.agent@demo.example", "--dept", "Support", "--password-stdin"); r.code != 0 {
		t.Fatalf("agent add: %s", r.stderr)
	}
	fake := channelstest.New(t, channels.WhatsApp)
	secrets, _ := json.Marshal(fakeSecrets(fake)) // strings only
	if r := cli(t, dir, string(secrets), "channel", "add", "demo", "whatsapp", "shop", "--dept", "Support", "--api-base", fake.URL); r.code != 0 {
		t.Fatalf("channel add: %s", r.stderr)
	}
	var view struct {
		Webhook string `json:"webhook_url"`
	}
	okJSON(t, dir, &view, "channel", "show", "demo", "shop")
	u, err := url.Parse(view.Webhook)
	if err != nil {
		t.Fatal(err)
	}
	hook := "http://" + srv.httpAddr + u.Path
	user := channelstest.UserID(channels.WhatsApp)

	agent := signInAs(t, srv, "kn.agent")
	if code := fake.PostSigned(t, hook, fake.TextMessage(user, "Ana", "Where is order 4711?")); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	offer := agent.Expect("offer", xmpptest.Message("demo|v-", "Where is order 4711?"))
	contact := strings.SplitN(offer.Attr("from"), "/", 2)[0]
	agent.Send(chatMsg(contact, "y"))
	agent.Expect("details", xmpptest.Message(contact, "Channel: shop"))

	// The first attempt fails; the message waits in the queue for its retry.
	fake.FailNext(1, channelstest.Fault{Kind: channels.Temporary})
	agent.Send(chatMsg(contact, "It ships today"))
	// Killed while the attempt is in flight, the message might have
	// arrived for all the server knows: it is not sent again. Kill it once
	// the failure is recorded.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "data", "jabberdesk.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a failed attempt recorded", func() bool {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM channel_outbound WHERE state = 'pending' AND attempts > 0 AND in_flight = 0`).Scan(&n)
		return err == nil && n == 1
	})
	db.Close()
	if len(fake.Sent()) != 0 {
		t.Fatal("delivered despite the failure")
	}
	if code := fake.PostSigned(t, hook, fake.TextMessage(user, "Ana", "Are you there?")); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	agent.Close()
	srv.kill(t)

	srv = startServeProcess(t, dir, cfg, nil, "")
	testwait.For(t, "the agent's message delivered after the restart", func() bool { return strings.Contains(deliveredTexts(fake), "It ships today") })
	agent = signInAs(t, srv, "kn.agent")
	agent.Send(chatMsg(contact, "Anything else?"))
	testwait.For(t, "the next message delivered", func() bool { return strings.Contains(deliveredTexts(fake), "Anything else?") })
	srv.kill(t)

	if n := strings.Count(deliveredTexts(fake), "It ships today"); n != 1 {
		t.Fatalf("the message was delivered %d times", n)
	}
	st, err := store.Open(filepath.Join(dir, "data", "jabberdesk.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.ChatByNumber(context.Background(), "demo", contactNumber(t, contact))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.ChatEvents(context.Background(), sc.ID, 0, true, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, ev := range evs {
		if ev.Type == "visitor_message" && ev.Text == "Are you there?" {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("the customer's second message is in the chat %d times", seen)
	}
}

// signInAs signs an agent of the demo portal in, with initial presence.
func signInAs(t *testing.T, srv *faultServer, user string) *xmpptest.Client {
	t.Helper()
	c := xmpptest.MustDial(t, srv.startTLS, "demo|"+user+"@localhost", faultPassword, xmpptest.Options{})
	c.Send("<presence/>")
	c.Expect("own presence", xmpptest.Presence(c.JID.String(), ""))
	return c
}
