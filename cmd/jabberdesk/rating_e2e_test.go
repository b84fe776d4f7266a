package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"jabberdesk/bridge"
	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
)

// exactly matches a message from a visitor contact whose body is text.
func exactly(from, text string) func(xmpptest.Node) bool {
	return func(n xmpptest.Node) bool { return xmpptest.Message(from, text)(n) && n.Body() == text }
}

// rate posts a visitor's rating and returns the status and error code.
func (v *visitor) rate(stars int, comment string) (int, string) {
	v.t.Helper()
	var e apiErr
	code := call(v.t, "POST", v.base+"/api/v1/chats/"+v.ChatID+"/rating", v.Token, map[string]any{"stars": stars, "comment": comment}, &e)
	return code, e.Error.Code
}

// accepted is a visitor's chat once george accepted it.
func (r *running) accepted(t *testing.T, george *xmpptest.Client, name, question string) *visitor {
	t.Helper()
	v := r.startChat(t, name, "Support", question)
	offered(george, v)
	george.Send(chatMsg(v.JID, "y"))
	george.Expect("details", xmpptest.Message(v.JID, "You are chatting with "+name))
	return v
}

// A visitor rates a chat that ended: the agent who had it reads the
// rating in the chat's window, also when they were offline then; the
// transcript keeps it; a second rating is refused.
func TestVisitorRatingReachesTheAgent(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.accepted(t, george, "Ada", "Do you ship to Mars?")
	if code, _ := v.rate(4, "early"); code != http.StatusConflict {
		t.Fatalf("a rating of a live chat: status %d", code)
	}
	george.Send(chatMsg(v.JID, "Yes, we do."))
	george.Send(chatMsg(v.JID, "#e"))
	v.expect("the end, asking for a rating", func(ev bridge.Event) bool { return ev.Type == bridge.EventEnded && ev.Rate })
	if code, _ := v.rate(4, "Quick and kind"); code != http.StatusCreated {
		t.Fatalf("rating: status %d", code)
	}
	george.Expect("the rating", exactly(v.JID, bridge.SystemPrefix+"Rated 4/5: Quick and kind"))
	if code, errCode := v.rate(5, "again"); code != http.StatusConflict || errCode != "already_rated" {
		t.Fatalf("a second rating: %d %s", code, errCode)
	}
	sc := mustChat(t, r, v)
	evs, err := r.st.ChatEvents(context.Background(), sc.ID, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr := bridge.RenderTranscript(sc, evs); !strings.Contains(tr, "Ada rated the chat 4/5: Quick and kind") {
		t.Errorf("transcript:\n%s", tr)
	}

	// George is offline when Bea ends her chat and rates it.
	w := r.accepted(t, george, "Bea", "Where is my parcel?")
	george.Close()
	var ended struct {
		Status string `json:"status"`
		Rate   bool   `json:"rate"`
	}
	if code := call(t, "POST", w.base+"/api/v1/chats/"+w.ChatID+"/end", w.Token, nil, &ended); code != http.StatusOK || !ended.Rate {
		t.Fatalf("end: %d %+v", code, ended)
	}
	if code, _ := w.rate(2, "Too slow"); code != http.StatusCreated {
		t.Fatalf("rating: status %d", code)
	}
	george = r.loginWithRoster(t, "george.demo")
	george.Expect("the rating kept for him", exactly(w.JID, bridge.SystemPrefix+"Rated 2/5: Too slow"))
}

// A channel customer is asked when the chat ends; their answer, a number
// and a comment, reaches the agent as the rating and starts no chat.
func TestChannelCustomerRatesByAnswering(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	fiona := r.loginWithRoster(t, "fiona.demo")
	fake := channelstest.New(t, channels.Telegram)
	_, hook := r.addChannel(t, fake, "tg")
	user := channelstest.UserID(channels.Telegram)
	post := func(text string) {
		t.Helper()
		if code := fake.PostSigned(t, hook, fake.TextMessage(user, "Ana", text)); code != http.StatusOK {
			t.Fatalf("webhook: status %d", code)
		}
	}
	post("Where is my order?")
	offer := fiona.Expect("offer", xmpptest.Message("demo|v-", "Where is my order?"))
	contact := strings.SplitN(offer.Attr("from"), "/", 2)[0]
	fiona.Send(chatMsg(contact, "y"))
	fiona.Send(chatMsg(contact, "#e"))
	fiona.Expect("end", xmpptest.Message(contact, "Chat ended"))
	testwait.For(t, "the question at the provider", func() bool { return strings.Contains(deliveredTexts(fake), "How was this chat?") })
	question := fake.Sent()[0]
	if got := channelstest.QuickReplies(channels.Telegram, question); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("the question offers %q", got)
	}

	post("5 great service")
	fiona.Expect("the rating", exactly(contact, bridge.SystemPrefix+"Rated 5/5: great service"))
	testwait.For(t, "the thanks at the provider", func() bool { return strings.Contains(deliveredTexts(fake), "Thank you for your rating!") })
	sc, err := r.st.ChatByNumber(context.Background(), "demo", contactNumber(t, contact))
	if err != nil {
		t.Fatal(err)
	}
	if rt, ok, err := r.st.ChatRating(context.Background(), sc.ID); err != nil || !ok || rt.Stars != 5 || rt.Source != "channel" {
		t.Fatalf("rating %+v %v %v", rt, ok, err)
	}
	if _, live, _ := r.st.LiveChatOfCustomer(context.Background(), sc.CustomerID); live {
		t.Fatal("the answer started a chat")
	}
}
