// Package reporttest makes a year of chat history to report on: what
// the report's and the console's benchmarks measure, imported through
// the store as `jabberdesk import` would.
package reporttest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"jabberdesk/store"
)

// The year's size: Days days of ChatsPerDay chats each.
const (
	Days        = 365
	ChatsPerDay = 100
)

// Year gives the portal, which exists, a department Sales (unless it has
// one), a Telegram channel tg and five agents agent0…agent4, then
// imports Days days of history from start: ChatsPerDay chats a day of 20
// events each (nine messages each way for most, one in ten missed, one
// in twenty left before an agent came), and the agents changing presence
// four times a day. The same seed makes the same history.
func Year(tb testing.TB, st *store.Store, portal string, start time.Time) {
	tb.Helper()
	ctx := context.Background()
	agents := fixture(tb, st, portal)
	rng := rand.New(rand.NewPCG(1, 2))
	for day := range Days {
		chats := make([]store.HistoricChat, ChatsPerDay)
		for i := range chats {
			created := start.Add(time.Duration(day)*24*time.Hour + time.Duration(rng.IntN(86400))*time.Second)
			chats[i] = chat(rng, created, agents, i)
		}
		if _, err := st.ImportChats(ctx, portal, chats); err != nil {
			tb.Fatal(err)
		}
	}
	presence(tb, st, portal, start, agents)
}

// fixture adds the department, the channel and the agents, and returns
// the agents' usernames.
func fixture(tb testing.TB, st *store.Store, portal string) []string {
	ctx := context.Background()
	if _, err := st.AddDepartment(ctx, portal, "Sales", "", "", "bench"); err != nil && !errors.Is(err, store.ErrExists) {
		tb.Fatal(err)
	}
	if _, err := st.AddChannel(ctx, store.NewChannel{Portal: portal, Name: "tg", Type: "telegram", Secrets: map[string]string{"bot_token": "1:x"}}, "bench"); err != nil {
		tb.Fatal(err)
	}
	var names []string
	var agents []store.NewAgent
	for i := range 5 {
		name := fmt.Sprintf("agent%d", i)
		names = append(names, name)
		agents = append(agents, store.NewAgent{Username: name, Email: name + "@" + portal + ".example", Password: "12345678"})
	}
	if _, err := st.AddAgentsBulk(ctx, portal, agents, "bench"); err != nil {
		tb.Fatal(err)
	}
	return names
}

// chat is one chat of the year: most are answered and last a few
// minutes with nine messages each way, one in ten is missed, one in
// twenty the visitor leaves before an agent comes.
func chat(rng *rand.Rand, created time.Time, agents []string, i int) store.HistoricChat {
	sec := func(n int) time.Time { return created.Add(time.Duration(n) * time.Second) }
	h := store.HistoricChat{Visitor: "Visitor", Email: fmt.Sprintf("v%d@example.com", rng.IntN(20000)), Question: "Hello", CreatedAt: created, OfferedAt: created}
	if i%2 == 0 {
		h.Department = "Sales"
	}
	if i%3 == 0 {
		h.Channel, h.Customer, h.Email = "tg", fmt.Sprintf("c%d", rng.IntN(5000)), ""
	}
	agent := agents[rng.IntN(len(agents))]
	switch r := rng.IntN(20); {
	case r < 2:
		h.Status, h.EndReason, h.EndedAt = store.ChatMissed, "missed", sec(120)
		h.Offers = []store.HistoricOffer{{Username: agent, Kind: "chat", Answer: "timeout", OfferedAt: created, AnsweredAt: sec(30)}}
		h.Events = []store.HistoricEvent{{At: sec(1), Type: "visitor_message", AuthorKind: store.AuthorVisitor, Text: "Anyone?"}}
		return h
	case r < 3:
		h.Status, h.EndReason, h.EndedAt = store.ChatEnded, "visitor_left", sec(60)
		return h
	}
	wait := 5 + rng.IntN(60)
	h.Status, h.EndReason, h.AcceptedAt = store.ChatEnded, "agent", sec(wait)
	h.Offers = []store.HistoricOffer{{Username: agent, Kind: "chat", Answer: "accepted", OfferedAt: created, AnsweredAt: sec(wait)}}
	h.Agents = []store.HistoricAgent{{Username: agent, Role: store.ChatRoleOwner, JoinedAt: sec(wait)}}
	h.Events = append(h.Events, store.HistoricEvent{At: sec(wait), Type: "agent_joined", AuthorKind: store.AuthorSystem, AuthorName: agent})
	t := wait
	for range 9 {
		t += 5 + rng.IntN(40)
		h.Events = append(h.Events, store.HistoricEvent{At: sec(t), Type: "visitor_message", AuthorKind: store.AuthorVisitor, Text: "A question about my order"})
		t += 5 + rng.IntN(60)
		h.Events = append(h.Events, store.HistoricEvent{At: sec(t), Type: "message", AuthorKind: store.AuthorAgent, Author: agent, AuthorName: agent, Text: "An answer"})
	}
	h.EndedAt = sec(t + 10)
	h.Agents[0].LeftAt = h.EndedAt
	h.Events = append(h.Events, store.HistoricEvent{At: h.EndedAt, Type: "ended", AuthorKind: store.AuthorSystem})
	h.Stars = 1 + rng.IntN(5)
	return h
}

// presence has each agent online from 8 to 12, away for lunch, busy in
// the afternoon, and offline from 17 h, every day of the year.
func presence(tb testing.TB, st *store.Store, portal string, start time.Time, agents []string) {
	p, err := st.NewPresenceLog(context.Background(), 8192, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	for day := range Days {
		d := start.AddDate(0, 0, day)
		for _, a := range agents {
			p.Record(portal, a, store.PresenceOnline, d.Add(8*time.Hour))
			p.Record(portal, a, store.PresenceAway, d.Add(12*time.Hour))
			p.Record(portal, a, store.PresenceBusy, d.Add(13*time.Hour))
			p.Record(portal, a, store.PresenceOffline, d.Add(17*time.Hour))
		}
	}
	p.Close()
}
