package bridge

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

// addTemplate records a template of the test's channel.
func addTemplate(t *testing.T, ct *channelTest, tpl store.Template) {
	t.Helper()
	if _, err := ct.st.AddTemplate(ct.ctx, "acme", ct.ch.Name, tpl, "test"); err != nil {
		t.Fatal(err)
	}
}

// templateChat is a WhatsApp customer's chat, accepted by fiona.b, whose
// customer last wrote 25 hours ago, on a channel with templates in every
// state.
func templateChat(t *testing.T) (*channelTest, testChat) {
	t.Helper()
	ct := newChannelTest(t, store.ChannelWhatsApp)
	for _, tpl := range []store.Template{
		{Name: "order_update", Language: "en_US", Body: "Hi {{1}}, your order {{2}} has shipped."},
		{Name: "order_update", Language: "pt_BR", Body: "Olá {{1}}, o pedido {{2}} foi enviado."},
		{Name: "welcome", Language: "en", Body: "Welcome to Acme!\nReply to this message to talk to us."},
		{Name: "follow_up", Language: "en", Body: "Hi {{1}}, anything else?", Status: store.TemplatePending},
		{Name: "old_offer", Language: "en", Body: "{{1}}% off!", Status: store.TemplateRejected},
	} {
		addTemplate(t, ct, tpl)
	}
	tc := ct.accepted("4915112345678")
	ct.advance(25 * time.Hour)
	return ct, tc
}

// #tpl alone lists the approved templates: name, language, arguments
// and text, one line each.
func TestTemplateList(t *testing.T) {
	ct, tc := templateChat(t)
	tc.says(ct.fiona, "#tpl")
	want := "Approved WhatsApp templates of channel shop:\n" +
		"  order_update (en_US, 2 arguments) — Hi {{1}}, your order {{2}} has shipped.\n" +
		"  order_update (pt_BR, 2 arguments) — Olá {{1}}, o pedido {{2}} foi enviado.\n" +
		"  welcome (en, no arguments) — Welcome to Acme! Reply to this message to talk to us.\n" +
		`Send one with #tpl NAME ARG…, an argument with spaces in quotes: #tpl order_update "Ana Lima" 4711`
	ct.mustHear("fiona.b", want)
	if ct.heard("fiona.b", "follow_up") != 0 || ct.heard("fiona.b", "old_offer") != 0 {
		t.Errorf("templates that are not approved are listed:\n%s", ct.messages("fiona.b"))
	}
}

// #tpl NAME ARG… queues the template with its arguments, outside the
// window too; the chat shows the text as sent, the agent is told, and
// the queue is woken.
func TestTemplateSent(t *testing.T) {
	ct, tc := templateChat(t)
	tc.says(ct.fiona, `#tpl Order_Update “Ana Lima” 4711`)
	const text = "Hi Ana Lima, your order 4711 has shipped."
	ct.mustHear("fiona.b", "Sending template order_update (en_US): "+text)
	tc.mustSee("message:" + text)
	q := ct.queued()
	want := store.OutboundPayload{Template: &store.OutboundTemplate{Name: "order_update", Language: "en_US", Args: []string{"Ana Lima", "4711"}}}
	if len(q) != 1 || !reflect.DeepEqual(q[0].Payload, want) || q[0].Kind != store.OutboundKindTemplate || q[0].ChatID == 0 {
		t.Fatalf("queued %+v", q)
	}
	if ct.chans.wakes != 1 {
		t.Errorf("the queue was woken %d times", ct.chans.wakes)
	}

	// A template without placeholders takes no arguments; its text keeps
	// its lines in the transcript.
	tc.says(ct.fiona, "#tpl welcome")
	tc.mustSee("message:Welcome to Acme!\nReply to this message to talk to us.")
	if q := ct.queued(); len(q) != 2 || q[1].Payload.Template.Name != "welcome" || q[1].Payload.Template.Args != nil {
		t.Errorf("queued %+v", q)
	}
}

// What cannot be sent is refused with one line saying why, and nothing
// is queued.
func TestTemplateRefusals(t *testing.T) {
	ct, tc := templateChat(t)
	for _, c := range []struct{ body, want string }{
		{"#tpl order_update Ana", "Not sent: template order_update takes 2 arguments, not 1. Its text: Hi {{1}}, your order {{2}} has shipped."},
		{"#tpl order_update Ana 4711 now", "Not sent: template order_update takes 2 arguments, not 3."},
		{"#tpl welcome Ana", "Not sent: template welcome takes no arguments, not 1. Its text: Welcome to Acme! Reply to this message to talk to us."},
		{"#tpl follow_up Ana", "Not sent: template follow_up is still awaiting Meta's approval; #tpl lists the approved ones."},
		{"#tpl old_offer 10", "Not sent: Meta rejected template old_offer; #tpl lists the approved ones."},
		{"#tpl order_updates Ana 4711", "Not sent: this channel has no template order_updates; #tpl lists the approved ones."},
		{`#tpl order_update "Ana 4711`, `#tpl: the quote is not closed: "Ana 4711 — usage: #tpl  or  #tpl NAME [ARG…]`},
	} {
		tc.says(ct.fiona, c.body)
		if ct.heard("fiona.b", c.want) != 1 {
			t.Errorf("%s: not told %q; got:\n%s", c.body, c.want, ct.messages("fiona.b"))
		}
	}
	if q := ct.queued(); len(q) != 0 {
		t.Errorf("queued %+v", q)
	}
	if n := ct.heard("fiona.b", "Sending template"); n != 0 {
		t.Errorf("told %d times that a template is sent", n)
	}
}

// Where there are no templates to send, #tpl says why.
func TestTemplateElsewhere(t *testing.T) {
	forEachType(t, map[store.ChannelType]string{
		store.ChannelLINE:      "#tpl is for WhatsApp chats: LINE has no message templates, and your messages reach the customer as they are.",
		store.ChannelTelegram:  "#tpl is for WhatsApp chats: Telegram has no message templates, and your messages reach the customer as they are.",
		store.ChannelMessenger: "#tpl is for WhatsApp chats: Messenger has no message templates, and the customer can be answered within 24 hours of their last message.",
		store.ChannelInstagram: "#tpl is for WhatsApp chats: Instagram has no message templates, and the customer can be answered within 24 hours of their last message.",
		store.ChannelWhatsApp:  "Channel shop has no approved WhatsApp templates; an administrator records them with: jabberdesk template add",
	}, func(t *testing.T, ct *channelTest, tc testChat, want string) {
		tc.says(ct.fiona, "#tpl")
		ct.mustHear("fiona.b", want)
	})
	t.Run("web", func(t *testing.T) {
		d := newDeskTest(t)
		anna := d.agent(store.NewAgent{Username: "anna.b"}, true)
		web := d.chat(NewChat{}, false)
		web.says(anna, "y")
		web.says(anna, "#tpl order_update Ana")
		d.mustHear("anna.b", "#tpl sends WhatsApp templates to WhatsApp customers; in a web chat you simply write.")
	})
}

// The template goes in the chat's language where it has several, else
// in the first approved one.
func TestPickTemplateLanguage(t *testing.T) {
	list := []store.Template{
		{Name: "hi", Language: "de", Status: store.TemplatePending},
		{Name: "hi", Language: "en_GB", Status: store.TemplateApproved},
		{Name: "hi", Language: "en_US", Status: store.TemplateApproved},
		{Name: "hi", Language: "pt_BR", Status: store.TemplateApproved},
	}
	for lang, want := range map[string]string{"": "en_GB", "en-us": "en_US", "EN_US": "en_US", "en": "en_GB", "pt": "pt_BR", "pt-PT": "pt_BR", "de": "en_GB", "fr": "en_GB"} {
		got, why := pickTemplate(list, "hi", lang)
		if why != "" || got.Language != want {
			t.Errorf("chat language %q: %q (%s), want %q", lang, got.Language, why, want)
		}
	}
	if _, why := pickTemplate(list, "hi\x00"+strings.Repeat("x", 100), ""); why != "Not sent: this channel has no template hi "+strings.Repeat("x", 36)+"…; #tpl lists the approved ones." {
		t.Errorf("unknown name: %q", why)
	}
}
