package report

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"jabberdesk/store"
)

// BenchmarkReportYear measures a year of 100 chats a day (36,500 chats,
// 20 events each, five agents changing presence four times a day),
// inserted through the store, then reported in one go, grouped by day.
// The figure is in BENCHMARKS.md.
func BenchmarkReportYear(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(b.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	agents := yearFixture(b, st)
	rng := rand.New(rand.NewPCG(1, 2))
	for day := range 365 {
		chats := make([]store.HistoricChat, 100)
		for i := range chats {
			created := start.Add(time.Duration(day)*24*time.Hour + time.Duration(rng.IntN(86400))*time.Second)
			chats[i] = syntheticChat(rng, created, agents, i)
		}
		if _, err := st.ImportChats(ctx, "acme", chats); err != nil {
			b.Fatal(err)
		}
	}
	yearPresence(b, st, start, agents)
	o := Options{Portal: "acme", Since: start, Until: start.AddDate(1, 0, 0), By: ByDay, Location: time.UTC}
	cpu := cpuTime(b)
	for b.Loop() {
		r, err := Build(ctx, st, o)
		if err != nil {
			b.Fatal(err)
		}
		if r.Totals.Chats.Started != 36500 {
			b.Fatalf("%d chats", r.Totals.Chats.Started)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64((cpuTime(b)-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the processor time the process has used, which a busy
// machine inflates less than the time on the clock.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// yearFixture makes portal acme with a department, a channel and five
// agents, and returns the agents' usernames.
func yearFixture(b *testing.B, st *store.Store) []string {
	ctx := context.Background()
	if _, err := st.AddPortal(ctx, "acme", "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := st.AddDepartment(ctx, "acme", "Sales", "", "", "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "tg", Type: "telegram", Secrets: map[string]string{"bot_token": "1:x"}}, "bench"); err != nil {
		b.Fatal(err)
	}
	var names []string
	var agents []store.NewAgent
	for i := range 5 {
		name := fmt.Sprintf("agent%d", i)
		names = append(names, name)
		agents = append(agents, store.NewAgent{Username: name, Email: name + "@acme.example", Password: "12345678"})
	}
	if _, err := st.AddAgentsBulk(ctx, "acme", agents, "bench"); err != nil {
		b.Fatal(err)
	}
	return names
}

// syntheticChat is one chat of the year: most are answered and last a
// few minutes with nine messages each way, one in ten is missed, one in
// twenty the visitor leaves before an agent comes.
func syntheticChat(rng *rand.Rand, created time.Time, agents []string, i int) store.HistoricChat {
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

// yearPresence has each agent online from 8 to 12, away for lunch, busy
// in the afternoon, and offline from 17 h, every day of the year.
func yearPresence(b *testing.B, st *store.Store, start time.Time, agents []string) {
	p, err := st.NewPresenceLog(context.Background(), 8192, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	for day := range 365 {
		d := start.AddDate(0, 0, day)
		for _, a := range agents {
			p.Record("acme", a, store.PresenceOnline, d.Add(8*time.Hour))
			p.Record("acme", a, store.PresenceAway, d.Add(12*time.Hour))
			p.Record("acme", a, store.PresenceBusy, d.Add(13*time.Hour))
			p.Record("acme", a, store.PresenceOffline, d.Add(17*time.Hour))
		}
	}
	p.Close()
}
