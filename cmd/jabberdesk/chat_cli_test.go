package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

// channelChat starts a chat of a new customer of channel ch with the
// store, as their first message would.
func channelChat(t *testing.T, st *store.Store, ch store.Channel, customer string) store.Chat {
	t.Helper()
	ctx := context.Background()
	in, _, err := st.StoreInbound(ctx, ch.ID, store.InboundMessage{ProviderMessageID: "m-" + customer, CustomerID: customer, Name: "Cu " + customer, Text: "Hello from " + customer})
	if err != nil {
		t.Fatal(err)
	}
	n := store.NewChat{Portal: "acme", PublicID: "pub-" + customer, TokenHash: make([]byte, 32), Name: "ignored", Question: in.Message.Text,
		ChannelID: ch.ID, CustomerID: in.Customer.ID, InboundID: in.ID}
	c, err := st.CreateChat(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chatListFixture is portal acme with agent fiona.b, channels wa-sales
// (WhatsApp) and tg (Telegram), and the chats
//
//	#1001  web, waiting
//	#1002  wa-sales, active with fiona, who wrote last
//	#1003  tg, ended, the customer wrote last
func chatListFixture(t *testing.T) (dir string) {
	t.Helper()
	dir = setup(t)
	ok(t, dir, "agent", "add", "acme", "fiona.b", "--email", "fiona@acme.example")
	st := openStore(t, dir)
	ctx := context.Background()
	wa, err := st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "wa-sales", Type: store.ChannelWhatsApp}, "test")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "tg", Type: store.ChannelTelegram}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if web := helpdeskChat(t, st, "Wanda", "", "", "From the widget"); web.Number != 1001 { // waiting
		t.Fatalf("the web chat is #%d", web.Number)
	}
	mine := channelChat(t, st, wa, "491") // #1002, active with fiona, replied
	if err := st.SetChatStatus(ctx, mine.ID, store.ChatActive, time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	if err := st.AddChatAgent(ctx, mine.ID, "acme", "fiona.b", store.ChatRoleOwner, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendChatEvent(ctx, mine.ID, store.ChatEvent{Type: "message", AuthorKind: store.AuthorAgent, Author: "fiona.b", Text: "Hi"}); err != nil {
		t.Fatal(err)
	}
	ended := channelChat(t, st, tg, "77") // #1003, ended, unreplied
	if _, err := st.AppendChatEvent(ctx, ended.ID, store.ChatEvent{Type: "visitor_message", AuthorKind: store.AuthorVisitor, Text: "Hello?"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetChatStatus(ctx, ended.ID, store.ChatEnded, time.Now(), store.EndAgent); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chat list shows the views of #chats, with each chat's channel, as text
// and as JSON.
func TestChatListViews(t *testing.T) {
	t.Parallel()
	dir := chatListFixture(t)
	numbers := func(args ...string) string {
		t.Helper()
		var rows []chatRow
		okJSON(t, dir, &rows, append([]string{"chat", "list", "acme"}, args...)...)
		var ns []string
		for _, r := range rows {
			ns = append(ns, fmt.Sprint(r.Number))
		}
		return strings.Join(ns, " ")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "1003 1002 1001"},
		{[]string{"--view", "mine", "--agent", "fiona.b"}, "1002"},
		{[]string{"--view", "unassigned"}, "1001"},
		{[]string{"--view", "Ended", "--channel", "telegram"}, "1003"},
		{[]string{"--channel", "wa-sales"}, "1002"},
		{[]string{"--channel", "web"}, "1001"},
		{[]string{"--replied"}, "1002"},
		{[]string{"--unreplied"}, "1003"},
		{[]string{"--reply-state", "unreplied", "--view", "live"}, ""},
		{[]string{"--view", "blocked"}, ""},
		{[]string{"--status", "waiting"}, "1001"},
	} {
		if got := numbers(tc.args...); got != tc.want {
			t.Errorf("chat list %v: %q, want %q", tc.args, got, tc.want)
		}
	}

	var rows []chatRow
	okJSON(t, dir, &rows, "chat", "list", "acme", "--channel", "whatsapp")
	if len(rows) != 1 || rows[0].Channel != "wa-sales" || rows[0].ChannelType != "whatsapp" || rows[0].ReplyState != "replied" || rows[0].Agents != "fiona.b" {
		t.Errorf("--json: %+v", rows)
	}
	out := ok(t, dir, "chat", "list", "acme")
	for _, want := range []string{"CHANNEL", "#1002   active   Cu 491   wa-sales (whatsapp)", "tg (telegram)", "#1001   waiting  Wanda    web "} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

// chat list is bounded and says how many more chats there are; it
// refuses what does not make sense.
func TestChatListLimitAndRefusals(t *testing.T) {
	t.Parallel()
	dir := chatListFixture(t)
	// The rest is counted, on standard error with --json.
	if out := ok(t, dir, "chat", "list", "acme", "--limit", "2"); !strings.Contains(out, "#1002") || strings.Contains(out, "#1001") ||
		!strings.HasSuffix(out, "…and 1 more; raise --limit (at most 1000) or narrow the view.\n") {
		t.Errorf("--limit 2:\n%s", out)
	}
	r := cli(t, dir, "", "chat", "list", "acme", "--limit", "1", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "…and 2 more") || strings.Contains(r.stdout, "more") {
		t.Errorf("--limit 1 --json: %d %q %q", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{2, "--view mine needs --agent USERNAME", []string{"--view", "mine"}},
		{2, "--agent goes with --view mine", []string{"--agent", "fiona.b"}},
		{2, "give one of them", []string{"--replied", "--unreplied"}},
		{2, "give one of them", []string{"--replied", "--reply-state", "replied"}},
		{2, "--limit must be 1 to 1000", []string{"--limit", "0"}},
		{2, `chat view "frob" is not one of`, []string{"--view", "frob"}},
		{2, `reply state "maybe"`, []string{"--reply-state", "maybe"}},
		{1, `"signal" is no channel of portal "acme": name one of its channels (tg, wa-sales)`, []string{"--channel", "signal"}},
		{1, `agent "nobody.x" does not exist`, []string{"--view", "mine", "--agent", "nobody.x"}},
	} {
		fails(t, dir, tc.code, tc.want, append([]string{"chat", "list", "acme"}, tc.args...)...)
	}
	fails(t, dir, 1, `portal "nope" does not exist`, "chat", "list", "nope")
}
