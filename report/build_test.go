package report

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"jabberdesk/store"
)

func TestTotals(t *testing.T) {
	h := newHistory(t)
	r := h.build(t, "", h.loc)
	want := Chats{Started: 4, Answered: 2, Missed: 1, Ended: 3, Resolved: 2, Transferred: 1, Reopened: 1, Converted: 1}
	if r.Totals.Chats != want {
		t.Errorf("chats %+v, want %+v", r.Totals.Chats, want)
	}
	for name, c := range map[string]struct{ got, want Durations }{
		"assignment":     {r.Totals.Assignment, Durations{Count: 2, Mean: 15, P50: 10, P90: 20}},
		"first response": {r.Totals.FirstResponse, Durations{Count: 2, Mean: 22.5, P50: 15, P90: 30}},
		"response":       {r.Totals.Response, Durations{Count: 4, Mean: 16.25, P50: 15, P90: 20}},
		"duration":       {r.Totals.Duration, Durations{Count: 2, Mean: 435, P50: 280, P90: 590}},
	} {
		if c.got != c.want {
			t.Errorf("%s %+v, want %+v", name, c.got, c.want)
		}
	}
	if m := (Numbers{Count: 2, Mean: 5.5, P50: 5, P90: 6}); r.Totals.Messages != m {
		t.Errorf("messages %+v, want %+v", r.Totals.Messages, m)
	}
	if c := (Contacts{New: 2, Returning: 1, WaitingNow: 1}); r.Contacts != c {
		t.Errorf("contacts %+v, want %+v", r.Contacts, c)
	}
	if rt := (Ratings{Count: 2, Mean: 4, Distribution: [5]int{0, 0, 1, 0, 1}}); r.Ratings != rt {
		t.Errorf("ratings %+v, want %+v", r.Ratings, rt)
	}
	if r.Groups != nil || r.TimeZone != "Europe/Berlin" || !r.Since.Equal(h.since) || !r.Until.Equal(h.until) {
		t.Errorf("report %+v", r)
	}
	if r.AssignmentHistogram[1].Count != 2 || r.AssignmentHistogram[1].Label != "10–30s" ||
		r.FirstResponseHistogram[1].Count != 1 || r.FirstResponseHistogram[2].Count != 1 {
		t.Errorf("histograms %+v %+v", r.AssignmentHistogram, r.FirstResponseHistogram)
	}
	started, answered, missed := 0, 0, 0
	for _, v := range r.Volume {
		started, answered, missed = started+v.Started, answered+v.Answered, missed+v.Missed
	}
	if r.VolumeUnit != ByHour || len(r.Volume) != 48 || started != 4 || answered != 2 || missed != 1 || r.Volume[9].Started != 1 {
		t.Errorf("volume by %s: %d points, %d/%d/%d", r.VolumeUnit, len(r.Volume), started, answered, missed)
	}
}

func TestAgents(t *testing.T) {
	h := newHistory(t)
	r := h.build(t, "", h.loc)
	if len(r.Agents) != 2 {
		t.Fatalf("agents %+v", r.Agents)
	}
	ann, bob := r.Agents[0], r.Agents[1]
	wantAnn := Agent{Username: "ann.kay", Name: "Ann", Handled: 2, Accepted: 2, TimedOut: 1,
		Assignment: Durations{1, 20, 20, 20}, FirstResponse: Durations{1, 30, 30, 30}, Response: Durations{3, 15, 15, 20},
		Presence: Presence{Available: 13 * 3600, Away: 3600, Busy: 3600, Offline: 33 * 3600}}
	wantBob := Agent{Username: "Bob.Lee", Name: "Bob", Handled: 1, Accepted: 1, Declined: 1, TimedOut: 1,
		Assignment: Durations{1, 10, 10, 10}, FirstResponse: Durations{1, 15, 15, 15}, Response: Durations{1, 20, 20, 20},
		Presence: Presence{Offline: 48 * 3600}}
	if ann != wantAnn {
		t.Errorf("ann %+v\nwant %+v", ann, wantAnn)
	}
	if bob != wantBob {
		t.Errorf("bob %+v\nwant %+v", bob, wantBob)
	}
	// Presence stops at the time of the report.
	r, err := Build(context.Background(), h.st, Options{Portal: "acme", Since: h.since, Until: h.until, Location: h.loc, Now: h.at(1, 12, 30)})
	if err != nil {
		t.Fatal(err)
	}
	if p := (Presence{Available: 12 * 3600, Away: 1800}); r.Agents[0].Presence != p {
		t.Errorf("ann at 12:30: %+v, want %+v", r.Agents[0].Presence, p)
	}
}

// groups indexes a report's groups by key.
func groups(r *Report) map[string]Group {
	m := map[string]Group{}
	for _, g := range r.Groups {
		m[g.Key] = g
	}
	return m
}

func TestByDayInTheTimeZone(t *testing.T) {
	h := newHistory(t)
	r := h.build(t, ByDay, h.loc)
	if len(r.Groups) != 2 || r.Groups[0].Key != "2026-03-01" || r.Groups[1].Key != "2026-03-02" || !r.Groups[1].Start.Equal(h.at(2, 0, 0)) {
		t.Fatalf("groups %+v", r.Groups)
	}
	d1, d2 := r.Groups[0].Chats, r.Groups[1].Chats
	if d1 != (Chats{Started: 2, Answered: 1, Missed: 1, Ended: 1, Resolved: 1, Converted: 1}) ||
		d2 != (Chats{Started: 2, Answered: 1, Ended: 2, Resolved: 1, Transferred: 1, Reopened: 1}) {
		t.Errorf("days %+v %+v", d1, d2)
	}
	if r.Groups[1].Response.Count != 2 || r.Groups[0].Response.Count != 2 {
		t.Errorf("responses by day %+v %+v", r.Groups[0].Response, r.Groups[1].Response)
	}
	// In UTC the same instants fall on other days: #2 (22:50Z) and #3
	// (23:10Z) are both on 1 March, and the period starts on 28 February.
	r = h.build(t, ByDay, time.UTC)
	g := groups(r)
	if len(r.Groups) != 3 || g["2026-02-28"].Chats.Started != 0 || g["2026-03-01"].Chats.Started != 3 || g["2026-03-02"].Chats.Started != 1 {
		t.Errorf("UTC days %+v", r.Groups)
	}
	if r.Volume[0].Start.Location() != time.UTC || r.TimeZone != "UTC" {
		t.Errorf("volume in %v, zone %q", r.Volume[0].Start.Location(), r.TimeZone)
	}
}

func TestByHour(t *testing.T) {
	h := newHistory(t)
	r := h.build(t, ByHour, h.loc)
	g := groups(r)
	if len(r.Groups) != 48 || g["2026-03-01 09:00"].Chats.Started != 1 || g["2026-03-02 00:00"].Chats.Transferred != 1 || g["2026-03-01 10:00"].Chats.Started != 0 {
		t.Errorf("%d hours: %+v", len(r.Groups), r.Groups[:10])
	}
}

func TestByChannelAndDepartment(t *testing.T) {
	h := newHistory(t)
	g := groups(h.build(t, ByChannel, h.loc))
	if len(g) != 2 || g["web"].Chats.Started != 2 || g["web"].Chats.Missed != 1 || g["tg"].Chats.Started != 2 || g["tg"].Chats.Reopened != 1 ||
		g["tg"].FirstResponse.Mean != 15 || g["web"].FirstResponse.Mean != 30 {
		t.Errorf("by channel %+v", g)
	}
	g = groups(h.build(t, ByDepartment, h.loc))
	if len(g) != 2 || g["Sales"].Chats.Started != 2 || g[NoDepartment].Chats.Started != 2 || g[NoDepartment].Chats.Transferred != 1 {
		t.Errorf("by department %+v", g)
	}
}

func TestByAgent(t *testing.T) {
	h := newHistory(t)
	r := h.build(t, ByAgent, h.loc)
	if len(r.Groups) != 3 || r.Groups[2].Key != NoAgent {
		t.Fatalf("groups %+v", r.Groups)
	}
	g := groups(r)
	ann, bob, none := g["ann.kay"], g["Bob.Lee"], g[NoAgent]
	if ann.Chats.Started != 2 || ann.Assignment.Count != 1 || ann.Assignment.Mean != 20 || ann.Response.Count != 3 || ann.FirstResponse.Mean != 30 {
		t.Errorf("ann %+v", ann)
	}
	if bob.Chats.Started != 1 || bob.Chats.Transferred != 1 || bob.Assignment.Mean != 10 || bob.Response.Count != 1 || bob.FirstResponse.Mean != 15 {
		t.Errorf("bob %+v", bob)
	}
	if none.Chats != (Chats{Started: 2, Missed: 1, Ended: 1}) || none.Assignment.Count != 0 {
		t.Errorf("nobody's %+v", none)
	}
}

func TestEmptyPeriodAndUnknownPortal(t *testing.T) {
	h := newHistory(t)
	ctx := context.Background()
	since := h.at(10, 0, 0)
	r, err := Build(ctx, h.st, Options{Portal: "acme", Since: since, Until: since.Add(24 * time.Hour), By: ByAgent, Location: h.loc, Now: h.at(20, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	// ann has been online since 2 March 23:00; nothing happened.
	if r.Totals != (Measures{}) || len(r.Groups) != 0 || r.Contacts.New != 0 || r.Ratings.Count != 0 ||
		r.Agents[0].Presence != (Presence{Available: 24 * 3600}) || r.Agents[1].Presence != (Presence{Offline: 24 * 3600}) {
		t.Errorf("empty period %+v", r)
	}
	if _, err := Build(ctx, h.st, Options{Portal: "nope", Since: h.since, Until: h.until}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a report of a portal that does not exist: %v", err)
	}
	if _, err := Build(ctx, h.st, Options{Portal: "acme", Since: h.until, Until: h.since}); err == nil {
		t.Error("a report of an empty period")
	}
}

// Times are kept to the millisecond: a customer message and its answer
// stored in the millisecond the chat ended were written while it was
// active, and count.
func TestMessagesInTheMillisecondOfTheEnd(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "jd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must(t, func() error { _, err := st.AddPortal(ctx, "acme", "test"); return err })
	must(t, func() error {
		_, err := st.AddAgent(ctx, store.NewAgent{Portal: "acme", Username: "ann.kay", Password: "12345678", Email: "ann@acme.example"}, "test")
		return err
	})
	c := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	end := c.Add(3 * time.Millisecond)
	_, err = st.ImportChats(ctx, "acme", []store.HistoricChat{{Visitor: "V", Question: "Q", Status: store.ChatEnded, EndReason: "agent",
		CreatedAt: c, AcceptedAt: c.Add(time.Millisecond), EndedAt: end,
		Agents: []store.HistoricAgent{{Username: "ann.kay", Role: store.ChatRoleOwner, JoinedAt: c.Add(time.Millisecond), LeftAt: end}},
		Events: []store.HistoricEvent{visitorSays(end), agentSays(end, "ann.kay")}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, Options{Portal: "acme", Since: c.Add(-time.Hour), Until: c.Add(time.Hour), Location: time.UTC, Now: c.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Response.Count != 1 {
		t.Fatalf("response times %+v, want one", r.Totals.Response)
	}
}
