package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A chat that ended is rated once, with its transcript line; a live or
// missed chat is not, and a bad rating stores nothing.
func TestRateChat(t *testing.T) {
	s, ctx := chatFixture(t)
	c := mustChat(t, s, newChat("acme", "Ann", ""))
	line := ChatEvent{Type: "rated", AuthorKind: AuthorVisitor, Text: "Quick and kind", Data: `{"stars":4}`, Visible: true}
	r := Rating{ChatID: c.ID, Stars: 4, Comment: "  Quick and kind ", Source: RatingWidget}
	_, _, err := s.RateChat(ctx, r, line)
	wantErr(t, err, ErrInvalid, "only a chat that ended can be rated")

	missed := mustChat(t, s, newChat("acme", "Bob", ""))
	if err := s.SetChatStatus(ctx, missed.ID, ChatMissed, time.Now(), "missed"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.RateChat(ctx, Rating{ChatID: missed.ID, Stars: 2, Source: RatingWidget}, line)
	wantErr(t, err, ErrInvalid, fmt.Sprintf("chat %d is missed", missed.ID))

	if err := s.SetChatStatus(ctx, c.ID, ChatEnded, time.Now(), "agent"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Rating{
		{ChatID: c.ID, Stars: 0, Source: RatingWidget},
		{ChatID: c.ID, Stars: 6, Source: RatingWidget},
		{ChatID: c.ID, Stars: 3, Comment: strings.Repeat("é", RatingCommentMax+1), Source: RatingWidget},
		{ChatID: c.ID, Stars: 3, Source: "email"},
	} {
		if _, _, err := s.RateChat(ctx, bad, line); !errors.Is(err, ErrInvalid) {
			t.Errorf("RateChat(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	_, _, err = s.RateChat(ctx, Rating{ChatID: 999999, Stars: 3, Source: RatingWidget}, line)
	wantErr(t, err, ErrNotFound, "chat 999999 does not exist")
	if _, ok, err := s.ChatRating(ctx, c.ID); ok || err != nil {
		t.Fatalf("rated before the rating: %v %v", ok, err)
	}

	got, ev, err := s.RateChat(ctx, r, line)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stars != 4 || got.Comment != "Quick and kind" || got.At.IsZero() || ev.Seq != 1 || !ev.At.Equal(got.At) {
		t.Fatalf("rated %+v, event %+v", got, ev)
	}
	stored, ok, err := s.ChatRating(ctx, c.ID)
	if err != nil || !ok || stored != got {
		t.Fatalf("stored %+v %v %v, want %+v", stored, ok, err, got)
	}
	_, _, err = s.RateChat(ctx, Rating{ChatID: c.ID, Stars: 1, Source: RatingWidget}, line)
	wantErr(t, err, ErrExists, "was rated already")
	if evs, _ := s.ChatEvents(ctx, c.ID, 0, false, 0); len(evs) != 1 || evs[0].Type != "rated" {
		t.Fatalf("events %+v: the refused rating left a line", evs)
	}
	if stored, _, _ := s.ChatRating(ctx, c.ID); stored.Stars != 4 {
		t.Fatalf("the second rating replaced the first: %+v", stored)
	}
}

// A customer's answer is marked delivered with the rating; delivered
// again after a crash, it changes nothing.
func TestRateChatDeliversTheAnswerOnce(t *testing.T) {
	s, ch := channelFixture(t)
	ctx := t.Context()
	first, _, err := s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "m1", CustomerID: "U1", Text: "parcel?"})
	if err != nil {
		t.Fatal(err)
	}
	n := newChat("acme", "ignored", "")
	n.ChannelID, n.CustomerID, n.InboundID = ch.ID, first.Customer.ID, first.ID
	c := mustChat(t, s, n)
	if err := s.SetChatStatus(ctx, c.ID, ChatEnded, time.Now(), "agent"); err != nil {
		t.Fatal(err)
	}
	last, ok, err := s.LastChatOfCustomer(ctx, first.Customer.ID)
	if err != nil || !ok || last.ID != c.ID || last.Status != ChatEnded {
		t.Fatalf("last chat %+v %v %v", last, ok, err)
	}
	answer, _, err := s.StoreInbound(ctx, ch.ID, InboundMessage{ProviderMessageID: "m2", CustomerID: "U1", Text: "5 great"})
	if err != nil {
		t.Fatal(err)
	}
	line := ChatEvent{Type: "rated", AuthorKind: AuthorVisitor, Text: "great", Visible: true, InboundID: answer.ID,
		Outbound: &Outbound{ChannelID: ch.ID, CustomerID: first.Customer.ID, Payload: OutboundPayload{Text: "Thanks"}}}
	if _, _, err := s.RateChat(ctx, Rating{ChatID: c.ID, Stars: 5, Comment: "great", Source: RatingChannel}, line); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingInbound(ctx, 10); len(pending) != 0 {
		t.Fatalf("the answer is still pending: %+v", pending)
	}
	if due, _ := s.DueOutbound(ctx, time.Now().Add(time.Hour), 10); len(due) != 1 || due[0].ChatID != c.ID {
		t.Fatalf("queued %+v", due)
	}
	if _, _, err := s.RateChat(ctx, Rating{ChatID: c.ID, Stars: 5, Source: RatingChannel}, line); !errors.Is(err, ErrExists) {
		t.Fatalf("the answer delivered again: %v", err)
	}
	if _, ok, err := s.LastChatOfCustomer(ctx, 424242); ok || err != nil {
		t.Fatalf("a customer without chats: %v %v", ok, err)
	}
}

func TestRatingsSetting(t *testing.T) {
	s, ctx := chatFixture(t)
	if on, err := s.RatingsOn(ctx, "acme"); err != nil || !on {
		t.Fatalf("default %v %v", on, err)
	}
	if err := s.SetPortalSetting(ctx, "acme", "Ratings", "OFF", "admin"); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.RatingsOn(ctx, "acme"); on {
		t.Fatal("ratings still on")
	}
	if on, _ := s.RatingsOn(ctx, "globex"); !on {
		t.Fatal("another portal's setting changed")
	}
	wantErr(t, s.SetPortalSetting(ctx, "acme", "ratings", "maybe", "admin"), ErrInvalid, "use one of on, off")
	if _, err := s.RatingsOn(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown portal: %v", err)
	}
}
