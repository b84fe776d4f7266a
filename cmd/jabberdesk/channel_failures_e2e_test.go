package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// channelStatus is a channel's state as stored now.
func (r *running) channelStatus(t *testing.T, name string) store.ChannelStatus {
	t.Helper()
	ch, err := r.st.Channel(context.Background(), "demo", name)
	if err != nil {
		t.Fatal(err)
	}
	return ch.Status
}

// notTold fails if the agent was sent a message from contact (a prefix)
// containing text.
func notTold(t *testing.T, agent *xmpptest.Client, contact, text string) {
	t.Helper()
	if m, told := agent.Wait(0, xmpptest.Message(contact, text)); told {
		t.Errorf("%s was told %q", agent.JID, m.Body())
	}
}

// WhatsApp answers 429 with Retry-After: the channel is rate limited
// until then, the message goes once the wait is over, exactly once, the
// channel is ok again and the agent is told nothing.
func TestChannelRateLimitedThenDelivered(t *testing.T) {
	t.Parallel()
	c := startChannelChat(t, channels.WhatsApp, "wa-busy")
	r, fiona, fake, ch, contact := c.r, c.fiona, c.fake, c.ch, c.contact

	fake.FailNext(1, channelstest.Fault{Kind: channels.RateLimited, RetryAfter: 1})
	fiona.Send(chatMsg(contact, "It ships today"))
	testwait.For(t, "the channel rate limited", func() bool { return r.channelStatus(t, ch.Name) == store.ChannelRateLimited })
	testwait.For(t, "the message at WhatsApp", func() bool { return strings.Contains(deliveredTexts(fake), "It ships today") })
	testwait.For(t, "the channel ok again", func() bool { return r.channelStatus(t, ch.Name) == store.ChannelOK })
	attempts := 0
	for _, req := range fake.Requests() {
		if req.Endpoint == "messages" {
			attempts++
		}
	}
	if attempts != 2 || len(fake.Sent()) != 1 {
		t.Errorf("%d attempts, %d delivered; want 2 and 1", attempts, len(fake.Sent()))
	}
	notTold(t, fiona, contact, "Not delivered")
}

// An expired token fails the message at once: the agent reads the
// "Not delivered" line that says what an administrator must do, and
// `channel list` shows the channel's state.
func TestChannelTokenExpired(t *testing.T) {
	t.Parallel()
	c := startChannelChat(t, channels.WhatsApp, "wa-expired")
	r, fiona, fake, ch, contact := c.r, c.fiona, c.fake, c.ch, c.contact

	fake.FailNext(1, channelstest.Fault{Kind: channels.TokenExpired})
	fiona.Send(chatMsg(contact, "It ships today"))
	fiona.Expect("the failure line", xmpptest.Message(contact, "Not delivered: the WhatsApp channel wa-expired is no longer authorised"))
	var state string
	for _, line := range strings.Split(runCLI(t, r, "channel", "list", "demo"), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == ch.Name {
			state = f[3]
		}
	}
	if state != string(store.ChannelTokenExpired) || len(fake.Sent()) != 0 {
		t.Errorf("channel list shows %s in state %q; %d delivered", ch.Name, state, len(fake.Sent()))
	}
}

// A LINE customer who unfollows the account is sent nothing: the agent's
// next message is refused with the line that says so.
func TestLINECustomerUnfollows(t *testing.T) {
	t.Parallel()
	c := startChannelChat(t, channels.LINE, "line-shop")
	fiona, fake, contact := c.fiona, c.fake, c.contact

	if code := fake.PostSigned(t, c.hook, fake.Unfollow(c.user)); code != http.StatusOK {
		t.Fatalf("unfollow webhook: status %d", code)
	}
	fiona.Expect("told of the unfollow", xmpptest.Message(contact, "The customer blocked this LINE account"))
	fiona.Send(chatMsg(contact, "Are you still there?"))
	fiona.Expect("the blocked line", xmpptest.Message(contact,
		"Not sent: the customer blocked this LINE account; nothing reaches them until they follow it again."))
	if n := len(fake.Sent()); n != 0 {
		t.Errorf("%d messages delivered to a customer who unfollowed", n)
	}
}

// #b in a channel chat blocks the customer and ends the chat: their next
// message reaches no agent and is kept in that chat, ended as blocked.
func TestChannelCustomerBlocked(t *testing.T) {
	t.Parallel()
	c := startChannelChat(t, channels.Telegram, "tg-shop")
	r, fiona, fake, hook, user, contact := c.r, c.fiona, c.fake, c.hook, c.user, c.contact
	george := r.loginWithRoster(t, "george.demo")

	fiona.Send(chatMsg(contact, "#b abusive language"))
	fiona.Expect("the block", xmpptest.Message(contact, "Telegram customer "+user+" blocked"))
	if code := fake.PostSigned(t, hook, fake.TextMessage(user, "Ana", "Let me in")); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	testwait.For(t, "the message kept in the blocked chat", func() bool {
		return strings.Join(r.chatEvents(t, contact, "visitor_message"), "\n") == "Let me in"
	})
	if sc := r.chat(t, contact); sc.Status != store.ChatEnded || sc.EndReason != "blocked" {
		t.Errorf("the customer's chat is %s (%q), want ended (blocked)", sc.Status, sc.EndReason)
	}

	// Another customer's message comes after it and is offered: had the
	// blocked one been offered, it would have come first.
	if code := fake.PostSigned(t, hook, fake.TextMessage("4915187654321", "Bo", "Hello from Bo")); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	for _, agent := range []*xmpptest.Client{fiona, george} {
		agent.Expect("the next customer's offer", xmpptest.Message("demo|v-", "Hello from Bo"))
		notTold(t, agent, "", "Let me in")
	}
}
