package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// An ended or missed channel chat comes back active with its new owner,
// the event appended; its next end is recorded afresh.
func TestReopenChat(t *testing.T) {
	f := newViewFixture(t)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	ended := mustNumber(t, f, waeuEnded)
	c, err := f.s.ReopenChat(f.ctx, Reopen{ChatID: ended.ID, Portal: "acme", Agent: "George.W", At: at,
		Event: ChatEvent{Type: "reopened", AuthorKind: AuthorAgent, Author: "george.w", AuthorName: "George W"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != ChatActive || c.EndedAt != nil || c.EndReason != "" || c.AcceptedAt == nil || c.LastSeq != ended.LastSeq+1 {
		t.Errorf("reopened %+v", c)
	}
	var owners []string
	for _, a := range c.Agents {
		if a.LeftAt == nil {
			owners = append(owners, a.Username+":"+a.Role)
		}
	}
	if strings.Join(owners, ",") != "george.w:owner" {
		t.Errorf("in the chat: %v", owners)
	}
	evs, _ := f.s.ChatEvents(f.ctx, c.ID, ended.LastSeq, false, 0)
	if len(evs) != 1 || evs[0].Type != "reopened" || !evs[0].At.Equal(at) {
		t.Errorf("events %+v", evs)
	}
	if got := f.numbers(t, ChatQuery{View: ViewMine, Agent: "george.w"}); len(got) != 2 || got[0] != waeuEnded {
		t.Errorf("george's chats: %v", got)
	}
	if err := f.s.SetChatStatus(f.ctx, c.ID, ChatEnded, at.Add(time.Minute), EndAgent); err != nil {
		t.Fatal(err)
	}
	if again := mustNumber(t, f, waeuEnded); again.EndedAt == nil || !again.EndedAt.Equal(at.Add(time.Minute)) || again.EndReason != EndAgent {
		t.Errorf("ended again %+v", again)
	}

	// A missed chat had no agent: it is accepted now.
	missed := mustNumber(t, f, tgMissed)
	if c, err := f.s.ReopenChat(f.ctx, Reopen{ChatID: missed.ID, Portal: "acme", Agent: "fiona.b",
		Event: ChatEvent{Type: "reopened", AuthorKind: AuthorAgent}}); err != nil || c.AcceptedAt == nil || c.Status != ChatActive {
		t.Errorf("missed chat reopened: %+v %v", c, err)
	}
}

// What may not be reopened is refused, saying why, and nothing changes.
func TestReopenChatRefused(t *testing.T) {
	f := newViewFixture(t)
	// The customer of waeuEnded writes again: a new live chat.
	ended := mustNumber(t, f, waeuEnded)
	in, _, err := f.s.StoreInbound(f.ctx, f.channels["wa-eu"].ID, InboundMessage{ProviderMessageID: "again", CustomerID: ended.CustomerProviderID, Text: "Hi again"})
	if err != nil {
		t.Fatal(err)
	}
	n := newChat("acme", "ignored", "")
	n.ChannelID, n.CustomerID, n.InboundID = ended.ChannelID, in.Customer.ID, in.ID
	live := mustChat(t, f.s, n)

	ev := ChatEvent{Type: "reopened", AuthorKind: AuthorAgent}
	for _, tc := range []struct {
		number int64
		portal string
		agent  string
		kind   error
		msg    string
	}{
		{webBlocked, "acme", "fiona.b", ErrInvalid, "chat #1003 is a web visitor's: only a channel customer's chat can be reopened"},
		{waGeorge, "acme", "fiona.b", ErrInvalid, "chat #1004 is not over"},
		{waBlockedCust, "acme", "fiona.b", ErrInvalid, "the customer of chat #1005 is blocked"},
		{waeuEnded, "acme", "fiona.b", ErrExists, "the customer of chat #1008 is in live chat #1010"},
		{tgMissed, "acme", "nobody.x", ErrNotFound, `agent "nobody.x" does not exist`},
		{tgMissed, "globex", "henry.k", ErrNotFound, "does not exist in portal \"globex\""},
	} {
		c := mustNumber(t, f, tc.number)
		_, err := f.s.ReopenChat(f.ctx, Reopen{ChatID: c.ID, Portal: tc.portal, Agent: tc.agent, Event: ev})
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("#%d: %v, want %v with %q", tc.number, err, tc.kind, tc.msg)
		}
		if after := mustNumber(t, f, tc.number); after.Status != c.Status || after.LastSeq != c.LastSeq || len(after.Agents) != len(c.Agents) {
			t.Errorf("#%d changed: %+v", tc.number, after)
		}
	}
	if live.Number != 1010 {
		t.Errorf("the new chat is #%d", live.Number)
	}
	if _, err := f.s.ReopenChat(f.ctx, Reopen{ChatID: ended.ID, Portal: "acme", Agent: "fiona.b"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("without an event: %v", err)
	}
}

func mustNumber(t *testing.T, f *viewFixture, number int64) Chat {
	t.Helper()
	c, err := f.s.ChatByNumber(f.ctx, "acme", number)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
