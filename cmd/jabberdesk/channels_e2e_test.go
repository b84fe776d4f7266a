package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jabberdesk/address"
	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// fakeSecrets are a fake's secrets as `channel add` reads them.
func fakeSecrets(fake *channelstest.Fake) map[string]string {
	sec := fake.Secrets
	all := map[string]string{"bot_token": sec.BotToken, "secret_token": sec.SecretToken, "access_token": sec.AccessToken,
		"app_secret": sec.AppSecret, "verify_token": sec.VerifyToken, "channel_secret": sec.ChannelSecret, "phone_number_id": fake.PhoneNumberID}
	for k, v := range all {
		if v == "" {
			delete(all, k)
		}
	}
	return all
}

// addChannel connects a channel of the demo portal, routed to Support, to
// a provider's fake, and returns it with its webhook URL.
func (r *running) addChannel(t *testing.T, fake *channelstest.Fake, name string) (store.Channel, string) {
	t.Helper()
	ch, err := r.st.AddChannel(context.Background(), store.NewChannel{Portal: "demo", Name: name, Type: store.ChannelType(fake.Type),
		Department: "Support", APIBase: fake.URL, Secrets: fakeSecrets(fake)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ch, r.base + "/hooks/" + ch.PublicID
}

// deliveredTexts are the bodies of the messages a fake delivered.
func deliveredTexts(fake *channelstest.Fake) string {
	var all []string
	for _, r := range fake.Sent() {
		all = append(all, string(r.Body))
	}
	return strings.Join(all, "\n")
}

// A customer of each provider reaches an agent's Jabber client: the
// webhook starts a chat, the agent accepts with y, the agent's words
// reach the provider, the customer's reply reaches the agent.
func TestChannelCustomersReachAgents(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	for _, typ := range []channels.Type{channels.Telegram, channels.WhatsApp, channels.LINE, channels.Messenger, channels.Instagram} {
		t.Run(string(typ), func(t *testing.T) {
			fiona := r.loginWithRoster(t, "fiona.demo")
			fake := channelstest.New(t, typ)
			ch, hook := r.addChannel(t, fake, "shop-"+string(typ))
			user, name := channelstest.UserID(typ), "Ana "+string(typ)
			fake.SetProfile(user, name)

			// A bad signature or secret is refused and stores nothing.
			body := fake.TextMessage(user, name, "Where is my order?")
			if code := fake.PostSigned(t, hook+"x", body); code != http.StatusNotFound {
				t.Fatalf("unknown webhook: status %d", code)
			}
			req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
			for k, v := range fake.Sign(body) {
				req.Header.Set(k, v[0]+"x")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden {
				t.Fatalf("bad signature: status %d", res.StatusCode)
			}

			// The customer's first message is offered; a repeat of the
			// same delivery changes nothing.
			for range 2 {
				if code := fake.PostSigned(t, hook, body); code != http.StatusOK {
					t.Fatalf("webhook: status %d", code)
				}
			}
			offer := fiona.Expect("offer", xmpptest.Message("demo|v-", "Where is my order?"))
			contact := strings.SplitN(offer.Attr("from"), "/", 2)[0]
			fiona.Send(chatMsg(contact, "y"))
			fiona.Expect("details", xmpptest.Message(contact, "Channel: "+ch.Name))

			fiona.Send(chatMsg(contact, "It ships today"))
			testwait.For(t, "the answer at the provider", func() bool { return strings.Contains(deliveredTexts(fake), "It ships today") })

			if code := fake.PostSigned(t, hook, fake.TextMessage(user, name, "Thanks!")); code != http.StatusOK {
				t.Fatalf("reply webhook: status %d", code)
			}
			fiona.Expect("the customer's reply", xmpptest.Message(contact, "Thanks!"))

			fiona.Send(chatMsg(contact, "#info"))
			fiona.Expect("#info", xmpptest.Message(contact, "Customer id: "+user))

			fiona.Send(chatMsg(contact, "#e"))
			fiona.Expect("end", xmpptest.Message(contact, "Chat ended"))
			testwait.For(t, "the rating question at the provider", func() bool { return strings.Contains(deliveredTexts(fake), "How was this chat?") })
			sc, n := r.chat(t, contact), len(r.chatEvents(t, contact, "visitor_message"))
			if sc.Question != "Where is my order?" || n != 1 || len(fake.Sent()) != 2 {
				t.Fatalf("chat %q with %d later customer messages, %d sent", sc.Question, n, len(fake.Sent()))
			}
		})
	}
}

// contactNumber reads the chat number from a visitor contact's JID.
func contactNumber(t *testing.T, contact string) int64 {
	t.Helper()
	local, _, _ := strings.Cut(contact, "@")
	_, name, _ := address.SplitLocal(local)
	n, ok := address.VisitorNumber(name)
	if !ok {
		t.Fatalf("%q is no visitor contact", contact)
	}
	return n
}

// chat is a contact's chat as stored now.
func (r *running) chat(t *testing.T, contact string) store.Chat {
	t.Helper()
	sc, err := r.st.ChatByNumber(context.Background(), "demo", contactNumber(t, contact))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// chatEvents are the texts of the stored events of a type in a
// contact's chat.
func (r *running) chatEvents(t *testing.T, contact, typ string) []string {
	t.Helper()
	evs, err := r.st.ChatEvents(context.Background(), r.chat(t, contact).ID, 0, true, 100)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, ev := range evs {
		if ev.Type == typ {
			texts = append(texts, ev.Text)
		}
	}
	return texts
}

// Over XMPP at the Desk contact: a channel's ended chat shows in the
// ended view filtered by the channel, #reopen gives it back to the agent,
// and what the agent writes then reaches the customer.
func TestChannelChatViewAndReopen(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	desk := "demo|desk@localhost"
	fiona := r.loginWithRoster(t, "fiona.demo")
	fake := channelstest.New(t, channels.Telegram)
	_, hook := r.addChannel(t, fake, "tg-shop")
	user := channelstest.UserID(channels.Telegram)
	if code := fake.PostSigned(t, hook, fake.TextMessage(user, "Rui", "Can I change my address?")); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	offer := fiona.Expect("offer", xmpptest.Message("demo|v-", "Can I change my address?"))
	contact := strings.SplitN(offer.Attr("from"), "/", 2)[0]
	number := contactNumber(t, contact)
	fiona.Send(chatMsg(contact, "y"))
	fiona.Expect("details", xmpptest.Message(contact, "Channel: tg-shop"))
	fiona.Send(chatMsg(contact, "#e"))
	fiona.Expect("end", xmpptest.Message(contact, "Chat ended"))

	fiona.Send(chatMsg(desk, "#chats ended tg-shop"))
	fiona.Expect("the ended view", xmpptest.Message(desk, fmt.Sprintf("#%d", number)))
	fiona.Send(chatMsg(desk, "#chats ended web"))
	if n := fiona.Expect("the web chats", func(n xmpptest.Node) bool {
		return n.Attr("from") == desk || strings.HasPrefix(n.Attr("from"), desk+"/")
	}); strings.Contains(n.Body(), fmt.Sprintf("#%d", number)) {
		t.Fatalf("a Telegram chat among the web chats: %s", n.Body())
	}

	fiona.Send(chatMsg(desk, fmt.Sprintf("#reopen %d", number)))
	fiona.Expect("reopened", xmpptest.Message(desk, fmt.Sprintf("You reopened chat #%d", number)))
	fiona.Send(chatMsg(contact, "Yes, send me the new one"))
	testwait.For(t, "the reopened chat's message at the provider", func() bool {
		return strings.Contains(deliveredTexts(fake), "Yes, send me the new one")
	})
}
