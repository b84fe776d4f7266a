package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for a raw change on PostgreSQL

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// liveChannelChat is a running server with a channel on a provider's fake,
// and a customer's chat there that fiona accepted.
type liveChannelChat struct {
	r       *running
	fiona   *xmpptest.Client
	fake    *channelstest.Fake
	ch      store.Channel
	hook    string // the channel's webhook URL
	user    string // the customer's id at the provider
	contact string // the chat's contact
}

// startChannelChat starts a server with a channel of type typ called
// name, and has its customer Ana write "Where is my order?" and fiona
// accept the chat.
func startChannelChat(t *testing.T, typ channels.Type, name string) *liveChannelChat {
	t.Helper()
	r := startRunning(t)
	c := &liveChannelChat{r: r, fiona: r.loginWithRoster(t, "fiona.demo"), fake: channelstest.New(t, typ), user: channelstest.UserID(typ)}
	c.ch, c.hook = r.addChannel(t, c.fake, name)
	c.fake.SetProfile(c.user, "Ana")
	if code := c.fake.PostSigned(t, c.hook, c.fake.TextMessage(c.user, "Ana", "Where is my order?")); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	offer := c.fiona.Expect("offer", xmpptest.Message("demo|v-", "Where is my order?"))
	c.contact, _, _ = strings.Cut(offer.Attr("from"), "/")
	c.fiona.Send(chatMsg(c.contact, "y"))
	c.fiona.Expect("details", xmpptest.Message(c.contact, "Customer id: "+c.user))
	return c
}

// ageCustomer moves the last message of a channel's customer back by d,
// as if they had written that much earlier.
func (r *running) ageCustomer(t *testing.T, ch store.Channel, user string, d time.Duration) {
	t.Helper()
	q := `UPDATE channel_customers SET last_inbound_at = last_inbound_at - $1 WHERE channel_id = $2 AND provider_id = $3`
	db, err := sql.Open("pgx", r.st.Path()) // the tests' PostgreSQL has no password: Path is the whole URL
	if r.st.Engine() == "sqlite" {
		db, err = sql.Open("sqlite3", r.st.Path()+"?_busy_timeout=10000")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(q, d.Milliseconds(), ch.ID, user)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("aged %d customers: %v", n, err)
	}
}

// A WhatsApp customer who last wrote more than 24 hours ago can only be
// sent a template: the agent's text is refused with a line that points to
// #tpl, #tpl lists the approved templates, #tpl NAME ARG… reaches
// WhatsApp once as that template with its parameters while the chat shows
// the text as sent, and a wrong number of arguments is refused with the
// template's text.
func TestTemplateOutsideTheWindow(t *testing.T) {
	t.Parallel()
	c := startChannelChat(t, channels.WhatsApp, "wa-orders")
	r, fiona, fake, contact := c.r, c.fiona, c.fake, c.contact
	runCLI(t, r, "template", "add", "demo", c.ch.Name, "order_update", "--language", "en_US", "--body", "Hi {{1}}, your order {{2}} has shipped.")
	runCLI(t, r, "template", "add", "demo", c.ch.Name, "winback", "--language", "en", "--body", "We miss you, {{1}}!", "--status", "pending")
	r.ageCustomer(t, c.ch, c.user, 25*time.Hour)

	fiona.Send(chatMsg(contact, "It ships today"))
	fiona.Expect("the window line", xmpptest.Message(contact,
		"Not sent: the customer last wrote more than 24 hours ago, and WhatsApp then only takes templates: #tpl lists them."))

	fiona.Send(chatMsg(contact, "#tpl"))
	list := fiona.Expect("the templates", xmpptest.Message(contact, "Approved WhatsApp templates of channel wa-orders:"))
	if !strings.Contains(list.Body(), "\n  order_update (en_US, 2 arguments) — Hi {{1}}, your order {{2}} has shipped.\n") ||
		strings.Contains(list.Body(), "winback") {
		t.Errorf("#tpl listed:\n%s", list.Body())
	}

	fiona.Send(chatMsg(contact, `#tpl order_update "Ana" 4711`))
	fiona.Expect("the template sent", xmpptest.Message(contact, "Sending template order_update (en_US): Hi Ana, your order 4711 has shipped."))
	testwait.For(t, "the template at WhatsApp", func() bool { return len(fake.Sent()) == 1 })
	sent := fake.Sent()[0].JSON
	got, err := json.Marshal(sent["template"])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"components":[{"parameters":[{"text":"Ana","type":"text"},{"text":"4711","type":"text"}],"type":"body"}],` +
		`"language":{"code":"en_US"},"name":"order_update"}`
	if sent["type"] != "template" || sent["to"] != c.user || string(got) != want {
		t.Errorf("WhatsApp got type %v to %v, template %s; want %s", sent["type"], sent["to"], got, want)
	}

	fiona.Send(chatMsg(contact, "#tpl order_update Ana"))
	fiona.Expect("the count refusal", xmpptest.Message(contact,
		"Not sent: template order_update takes 2 arguments, not 1. Its text: Hi {{1}}, your order {{2}} has shipped."))
	if pending, err := r.st.DueOutbound(context.Background(), time.Now().Add(time.Hour), 10); err != nil || len(pending) != 0 || len(fake.Sent()) != 1 {
		t.Errorf("%d delivered, still queued %+v (%v)", len(fake.Sent()), pending, err)
	}
	if got := strings.Join(r.chatEvents(t, contact, "message"), "\n"); got != "Hi Ana, your order 4711 has shipped." {
		t.Errorf("the agents' messages in the transcript: %q", got)
	}
}
