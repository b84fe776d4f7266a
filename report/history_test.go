package report

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"jabberdesk/store"
)

// The hand-built history of these tests, in Europe/Berlin (UTC+1 in
// March). The period is 1 and 2 March, Berlin time.
//
//	#1 web, Sales, 1 Mar 09:00: bob declines, ann accepts after 20 s;
//	   visitor writes while waiting, ann answers at 30 s; two visitor
//	   messages at 40 and 45 s, ann at 60 s; ended at 300 s; 5 stars; a
//	   ticket. The visitor (v1@example.com) had a chat in February.
//	#2 web, Sales, 1 Mar 23:50: offers to ann and bob time out; missed.
//	#3 Telegram tg, 2 Mar 00:10 (1 Mar in UTC): bob accepts after 10 s,
//	   answers at 15 s and 70 s (customer at 50 s); transfers to ann at
//	   100 s; customer at 120 s, ann at 130 s; ended, reopened by ann,
//	   ended at 600 s; 3 stars.
//	#4 tg, the same customer, 2 Mar 10:00: nobody accepts; the customer
//	   goes (ended, visitor_left) after 60 s: not answered.
//	Before and after the period: a February chat of v1, a 3 March chat.
//	Waiting now: one live chat.
//	ann is online from before the period, away 1 Mar 12:00, busy 13:00,
//	offline 14:00, online again 2 Mar 23:00.
type history struct {
	st           *store.Store
	loc          *time.Location
	since, until time.Time
}

func newHistory(t *testing.T) *history {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	h := &history{st: st, loc: loc, since: time.Date(2026, 3, 1, 0, 0, 0, 0, loc), until: time.Date(2026, 3, 3, 0, 0, 0, 0, loc)}
	must(t, func() error { _, err := st.AddPortal(ctx, "acme", "test"); return err })
	must(t, func() error { _, err := st.AddDepartment(ctx, "acme", "Sales", "", "", "test"); return err })
	for _, a := range []store.NewAgent{{Username: "ann.kay", DisplayName: "Ann"}, {Username: "Bob.Lee", DisplayName: "Bob"}} {
		a.Portal, a.Password, a.Email = "acme", "12345678", a.Username+"@acme.example"
		must(t, func() error { _, err := st.AddAgent(ctx, a, "test"); return err })
	}
	must(t, func() error {
		_, err := st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "tg", Type: "telegram", Secrets: map[string]string{"bot_token": "1:x"}}, "test")
		return err
	})
	ids, err := st.ImportChats(ctx, "acme", h.chats())
	if err != nil {
		t.Fatal(err)
	}
	must(t, func() error {
		_, err := st.CreateTicket(ctx, store.NewTicket{Portal: "acme", ChatID: ids[1], Actor: "ann.kay"})
		return err
	})
	hash := sha256.Sum256([]byte("token"))
	must(t, func() error {
		_, err := st.CreateChat(ctx, store.NewChat{Portal: "acme", PublicID: "live", TokenHash: hash[:], Name: "Waiting", Question: "Hello?"})
		return err
	})
	h.presence(t)
	return h
}

func must(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// at is a time in Berlin on the given March day.
func (h *history) at(day, hour, minute int) time.Time {
	return time.Date(2026, 3, day, hour, minute, 0, 0, h.loc)
}

func after(t time.Time, seconds int) time.Time { return t.Add(time.Duration(seconds) * time.Second) }

func visitorSays(at time.Time) store.HistoricEvent {
	return store.HistoricEvent{At: at, Type: "visitor_message", AuthorKind: store.AuthorVisitor, Text: "…"}
}

func agentSays(at time.Time, who string) store.HistoricEvent {
	return store.HistoricEvent{At: at, Type: "message", AuthorKind: store.AuthorAgent, Author: who, AuthorName: who, Text: "…"}
}

func (h *history) chats() []store.HistoricChat {
	feb := time.Date(2026, 2, 20, 10, 0, 0, 0, h.loc)
	c1, c2, c3, c4 := h.at(1, 9, 0), h.at(1, 23, 50), h.at(2, 0, 10), h.at(2, 10, 0)
	offer := func(who, kind, answer string, at time.Time, after time.Duration) store.HistoricOffer {
		return store.HistoricOffer{Username: who, Kind: kind, Answer: answer, OfferedAt: at, AnsweredAt: at.Add(after)}
	}
	return []store.HistoricChat{
		{Visitor: "V1", Email: "v1@example.com", Question: "Before", Status: store.ChatEnded, EndReason: "agent",
			CreatedAt: feb, AcceptedAt: after(feb, 5), EndedAt: after(feb, 60)},
		{Visitor: "V1", Email: "v1@example.com", Department: "Sales", Question: "Parcel?", Status: store.ChatEnded, EndReason: "agent",
			CreatedAt: c1, OfferedAt: c1, AcceptedAt: after(c1, 20), EndedAt: after(c1, 300),
			Offers: []store.HistoricOffer{offer("bob.lee", "chat", "declined", c1, 5*time.Second), offer("ann.kay", "chat", "accepted", c1, 20*time.Second)},
			Agents: []store.HistoricAgent{{Username: "ann.kay", Role: store.ChatRoleOwner, JoinedAt: after(c1, 20), LeftAt: after(c1, 300)}},
			Events: []store.HistoricEvent{visitorSays(after(c1, 2)), agentSays(after(c1, 30), "ann.kay"), visitorSays(after(c1, 40)),
				visitorSays(after(c1, 45)), agentSays(after(c1, 60), "ann.kay")},
			Stars: 5},
		{Visitor: "V2", Department: "Sales", Question: "Anyone?", Status: store.ChatMissed, EndReason: "missed",
			CreatedAt: c2, OfferedAt: c2, EndedAt: after(c2, 120),
			Offers: []store.HistoricOffer{offer("ann.kay", "chat", "timeout", c2, 30*time.Second), offer("bob.lee", "chat", "timeout", c2, 30*time.Second)},
			Events: []store.HistoricEvent{visitorSays(after(c2, 10))}},
		{Visitor: "Carl", Channel: "tg", Customer: "c-1", Question: "Hi", Status: store.ChatEnded, EndReason: "agent",
			CreatedAt: c3, OfferedAt: c3, AcceptedAt: after(c3, 10), EndedAt: after(c3, 600),
			Offers: []store.HistoricOffer{offer("bob.lee", "chat", "accepted", c3, 10*time.Second), offer("ann.kay", "transfer", "accepted", after(c3, 90), 10*time.Second)},
			Agents: []store.HistoricAgent{
				{Username: "bob.lee", Role: store.ChatRoleOwner, JoinedAt: after(c3, 10), LeftAt: after(c3, 100)},
				{Username: "ann.kay", Role: store.ChatRoleOwner, JoinedAt: after(c3, 100), LeftAt: after(c3, 600)},
			},
			Events: []store.HistoricEvent{visitorSays(c3), agentSays(after(c3, 15), "Bob.Lee"), visitorSays(after(c3, 50)), agentSays(after(c3, 70), "bob.lee"),
				visitorSays(after(c3, 120)), agentSays(after(c3, 130), "ann.kay"),
				{At: after(c3, 500), Type: "reopened", AuthorKind: store.AuthorSystem, Text: "Reopened by Ann"}},
			Stars: 3},
		{Visitor: "Carl", Channel: "tg", Customer: "c-1", Question: "Again", Status: store.ChatEnded, EndReason: "visitor_left",
			CreatedAt: c4, OfferedAt: c4, EndedAt: after(c4, 60), Events: []store.HistoricEvent{visitorSays(c4)}},
		{Visitor: "V3", Question: "Later", Status: store.ChatMissed, EndReason: "missed", CreatedAt: h.at(3, 1, 0), EndedAt: h.at(3, 1, 2)},
	}
}

// presence records ann's changes; Bob never signs in.
func (h *history) presence(t *testing.T) {
	p, err := h.st.NewPresenceLog(context.Background(), 16, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.Record("acme", "ann.kay", store.PresenceOnline, h.at(1, 0, 0).Add(-time.Hour))
	p.Record("acme", "ann.kay", store.PresenceAway, h.at(1, 12, 0))
	p.Record("acme", "ann.kay", store.PresenceBusy, h.at(1, 13, 0))
	p.Record("acme", "ann.kay", store.PresenceOffline, h.at(1, 14, 0))
	p.Record("acme", "ann.kay", store.PresenceOnline, h.at(2, 23, 0))
	p.Close()
}

// build makes the report of the period, grouped by by, in loc.
func (h *history) build(t *testing.T, by Grouping, loc *time.Location) *Report {
	t.Helper()
	r, err := Build(context.Background(), h.st, Options{Portal: "acme", Since: h.since, Until: h.until, By: by, Location: loc, Now: h.until})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
