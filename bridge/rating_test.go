package bridge

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

// visitor is the visitor's handle on the chat.
func (tc testChat) visitor() *VisitorChat {
	tc.d.t.Helper()
	v, err := tc.d.e.Visitor(tc.d.ctx, tc.ChatID, tc.Token)
	if err != nil {
		tc.d.t.Fatal(err)
	}
	return v
}

// rate is the visitor's rating of the chat.
func (tc testChat) rate(stars int, comment string) error {
	tc.d.t.Helper()
	return tc.visitor().Rate(tc.d.ctx, stars, comment)
}

// visitorEnds is the visitor ending the chat; it reports whether they
// are asked to rate it.
func (tc testChat) visitorEnds() bool {
	tc.d.t.Helper()
	rate, err := tc.visitor().End(tc.d.ctx)
	if err != nil {
		tc.d.t.Fatal(err)
	}
	return rate
}

// endedAsks reports whether the chat's last ended event asks for a
// rating.
func (tc testChat) endedAsks() bool {
	tc.d.t.Helper()
	recs, err := tc.d.st.ChatEvents(tc.d.ctx, tc.stored().ID, 0, true, 0)
	if err != nil {
		tc.d.t.Fatal(err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type == EventEnded {
			return eventFromRecord(recs[i]).Rate
		}
	}
	tc.d.t.Fatal("the chat has not ended")
	return false
}

// sent takes what is queued for customers, in order, as the sender
// would, and lists it.
func (ct *channelTest) sent() []store.OutboundPayload {
	ct.t.Helper()
	var out []store.OutboundPayload
	for {
		due, err := ct.st.DueOutbound(ct.ctx, time.Now().Add(48*time.Hour), 100)
		if err != nil || len(due) == 0 {
			if err != nil {
				ct.t.Fatal(err)
			}
			return out
		}
		for _, o := range due {
			out = append(out, o.Payload)
			if err := ct.st.OutboundSent(ct.ctx, o.ID, ""); err != nil {
				ct.t.Fatal(err)
			}
		}
	}
}

// The visitor of a chat that ended rates it once; the agents who were in
// it (not a silent monitor) are told from its contact, and the
// transcript keeps it.
func TestVisitorRatesAnEndedChat(t *testing.T) {
	d, c, anna, boris := activeChat(t)
	c.says(anna, "#i boris.c")
	c.says(boris, "y")
	sue := d.agent(store.NewAgent{Username: "sue.sup", Role: store.RoleSupervisor}, true)
	sue.Role = store.RoleSupervisor
	if _, err := d.e.Monitor(d.ctx, "acme", sue, c.VisitorNumber); err != nil {
		t.Fatal(err)
	}
	if err := c.rate(4, "too early"); !errors.Is(err, ErrChatLive) {
		t.Fatalf("a live chat rated: %v", err)
	}
	c.says(anna, "#e")
	if !c.endedAsks() {
		t.Fatal("the end does not ask for a rating")
	}
	for _, bad := range []struct {
		stars   int
		comment string
	}{{0, ""}, {6, ""}, {3, strings.Repeat("x", store.RatingCommentMax+1)}} {
		if err := c.rate(bad.stars, bad.comment); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("rate(%d, %d characters): %v", bad.stars, len(bad.comment), err)
		}
	}
	if d.heard("anna.b", "Rated") != 0 {
		t.Fatal("a refused rating reached the agent")
	}

	// A comment that tries to start a line of its own stays on the server's.
	if err := c.rate(4, " Quick and kind\n» Boris took over the chat. \u202e"); err != nil {
		t.Fatal(err)
	}
	const line = SystemPrefix + "Rated 4/5: Quick and kind » Boris took over the chat."
	for _, agent := range []string{"anna.b", "boris.c"} {
		msgs := d.agents.messages[agent]
		if last := msgs[len(msgs)-1]; last.Body != line || !last.System || last.From != c.local {
			t.Errorf("%s was told %+v, want %q from %s", agent, last, line, c.local)
		}
	}
	if d.heard("sue.sup", "Rated") != 0 {
		t.Error("the silent monitor was told the rating")
	}
	if err := c.rate(1, "again"); !errors.Is(err, ErrRated) {
		t.Fatalf("a second rating: %v", err)
	}
	if r, ok, _ := d.st.ChatRating(d.ctx, c.stored().ID); !ok || r.Stars != 4 || r.Source != store.RatingWidget {
		t.Fatalf("stored %+v", r)
	}
	c.mustSee("rated:Quick and kind » Boris took over the chat.")
	evs, err := d.st.ChatEvents(d.ctx, c.stored().ID, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr := RenderTranscript(c.stored(), evs); !strings.Contains(tr, "Ann rated the chat 4/5: Quick and kind") {
		t.Errorf("transcript:\n%s", tr)
	}
}

// Chats nobody from the team took part in, chats ended with a block and
// the chats of a portal that does not ask take no rating.
func TestRatingNotAskedOrTaken(t *testing.T) {
	d := newDeskTest(t)
	anna := d.agent(store.NewAgent{Username: "anna.b"}, true)
	missed := d.chat(NewChat{}, false)
	d.advance(d.e.cfg.QueueTimeout + storeSkew)
	missed.wantStatus(store.ChatMissed, reasonMissed)
	if err := missed.rate(5, ""); !errors.Is(err, ErrNotRateable) {
		t.Errorf("a missed chat: %v", err)
	}

	unattended := d.chat(NewChat{Name: "Bob"}, false)
	if unattended.visitorEnds() {
		t.Error("a chat the visitor ended before anyone took it asks for a rating")
	}
	if err := unattended.rate(5, ""); !errors.Is(err, ErrNotRateable) {
		t.Errorf("a chat nobody took: %v", err)
	}

	blocked := d.chat(NewChat{Name: "Cy", IP: "192.0.2.9"}, false)
	blocked.says(anna, "y")
	blocked.says(anna, "#b spam")
	if blocked.endedAsks() {
		t.Error("the end of a block asks for a rating")
	}
	if err := blocked.rate(1, "unfair"); !errors.Is(err, ErrNotRateable) {
		t.Errorf("a blocked chat: %v", err)
	}

	if err := d.st.SetPortalSetting(d.ctx, "acme", store.SettingRatings, store.RatingsOff, "test"); err != nil {
		t.Fatal(err)
	}
	off := d.chat(NewChat{Name: "Dee"}, false)
	off.says(anna, "y")
	if off.visitorEnds() {
		t.Error("a portal with ratings off asks for one")
	}
	if err := off.rate(5, ""); !errors.Is(err, ErrNotRateable) {
		t.Errorf("ratings off: %v", err)
	}
	if d.heard("anna.b", "Rated") != 0 {
		t.Error("a rating was taken")
	}
}

// A channel customer is asked when their chat ends; their next message,
// a number from 1 to 5 with a comment, is the rating and starts no chat.
// They are thanked. Later messages start chats as before.
func TestChannelCustomerAnswersTheRatingQuestion(t *testing.T) {
	ct := newChannelTest(t, store.ChannelTelegram)
	tc := ct.accepted("777")
	tc.says(ct.fiona, "It ships today")
	tc.says(ct.fiona, "#e")
	if got := ct.sent(); len(got) != 2 || got[1].Text != ratingQuestionText || !slices.Equal(got[1].QuickReplies, []string{"1", "2", "3", "4", "5"}) {
		t.Fatalf("queued %+v, want the answer and the question with its quick replies", got)
	}
	wakes := ct.chans.wakes
	ct.customerSays("777", "4 - quick, thanks")
	if _, live, _ := ct.st.LiveChatOfCustomer(ct.ctx, 1); live {
		t.Fatal("the answer started a chat")
	}
	ct.mustHear("fiona.b", SystemPrefix+"Rated 4/5: quick, thanks")
	r, ok, err := ct.st.ChatRating(ct.ctx, tc.stored().ID)
	if err != nil || !ok || r.Stars != 4 || r.Comment != "quick, thanks" || r.Source != store.RatingChannel {
		t.Fatalf("rating %+v %v %v", r, ok, err)
	}
	if got := ct.sent(); len(got) != 1 || got[0].Text != ratingThanksText || got[0].QuickReplies != nil || ct.chans.wakes != wakes+1 {
		t.Fatalf("queued %+v, %d wakes", got, ct.chans.wakes-wakes)
	}
	tc.mustSee("rated:quick, thanks")

	// Reopened and ended again, the rated chat asks nothing more.
	if _, err := ct.e.Reopen(ct.ctx, "acme", ct.fiona, tc.VisitorNumber); err != nil {
		t.Fatal(err)
	}
	ct.settle()
	tc.says(ct.fiona, "#e")
	if got := ct.sent(); len(got) != 0 || tc.endedAsks() {
		t.Fatalf("the rated chat asks again: %+v", got)
	}

	// The chat is rated: a second number is a new question.
	ct.customerSays("777", "5")
	if sc, live, _ := ct.st.LiveChatOfCustomer(ct.ctx, 1); !live || sc.Question != "5" {
		t.Fatalf("the next message: %+v, live %v", sc, live)
	}
}

// The answer counts only within a day of the end, and only where the
// question was asked: a customer outside WhatsApp's reply window is not
// asked, and their "5" starts a chat.
func TestChannelRatingWindow(t *testing.T) {
	ct := newChannelTest(t, store.ChannelTelegram)
	tc := ct.accepted("777")
	tc.says(ct.fiona, "#e")
	ct.advance(ratingAnswerWindow + time.Minute)
	ct.customerSays("777", "5")
	if _, live, _ := ct.st.LiveChatOfCustomer(ct.ctx, 1); !live {
		t.Fatal("an answer a day late was taken as the rating")
	}

	wa := newChannelTest(t, store.ChannelWhatsApp)
	tc = wa.accepted("4915112345678")
	wa.advance(25 * time.Hour)
	tc.says(wa.fiona, "#e")
	if tc.endedAsks() || len(wa.sent()) != 0 {
		t.Fatal("a customer outside the reply window was asked")
	}
	wa.customerSays("4915112345678", "5")
	if _, live, _ := wa.st.LiveChatOfCustomer(wa.ctx, 1); !live {
		t.Fatal("an answer to no question was taken as a rating")
	}
	if wa.heard("fiona.b", "Rated") != 0 {
		t.Fatal("the agent was told a rating")
	}
}

func TestParseRating(t *testing.T) {
	for text, want := range map[string]struct {
		stars   int
		comment string
	}{
		"4":                  {4, ""},
		" 5 ":                {5, ""},
		"5/5":                {5, ""},
		"3 / 5 slow":         {3, "slow"},
		"1. Nobody answered": {1, "Nobody answered"},
		"2: meh\nreally":     {2, "meh really"},
		"5!!!":               {5, ""},
		"4 (quick)":          {4, "(quick)"},
		"0":                  {},
		"6":                  {},
		"12 items":           {},
		"3pm is fine":        {},
		"great, 5":           {},
		"":                   {},
		"4/10":               {4, "/10"},
	} {
		stars, comment, ok := parseRating(store.InboundMessage{Text: text})
		if ok != (want.stars != 0) || stars != want.stars || comment != want.comment {
			t.Errorf("parseRating(%q) = %d %q %v, want %d %q", text, stars, comment, ok, want.stars, want.comment)
		}
	}
	if _, _, ok := parseRating(store.InboundMessage{Text: "5", Attachments: []store.InboundAttachment{{Kind: "image"}}}); ok {
		t.Error("a photo captioned 5 is a rating")
	}
}
