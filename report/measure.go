package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"jabberdesk/store"
)

// agentAcc accumulates one agent's part.
type agentAcc struct {
	username, name                      string
	handled                             int
	accepted, declined, timedOut        int
	assignment, firstResponse, response samples
	presence                            Presence
}

// agent is the accumulator of an agent (by username key), made on first
// use.
func (b *builder) agent(key string) *agentAcc {
	a, _ := entry(b.agents, key)
	return a
}

// chatGroups are the groups a chat's own measures count in.
func (b *builder) chatGroups(c *chat) []*acc {
	switch b.o.By {
	case ByDay, ByHour:
		return []*acc{b.group(bucketKey(bucketStart(c.CreatedAt, b.o.By, b.o.Location), b.o.By))}
	case ByDepartment:
		return []*acc{b.group(cmp.Or(c.Department, NoDepartment))}
	case ByChannel:
		return []*acc{b.group(cmp.Or(c.Channel, WebChannel))}
	case ByAgent:
		if len(c.handlers) == 0 {
			return []*acc{b.group(NoAgent)}
		}
		gs := make([]*acc, len(c.handlers))
		for i, h := range c.handlers {
			gs[i] = b.group(b.agent(h).username)
		}
		return gs
	}
	return nil
}

// sampleGroups are the groups a time measured of chat c counts in: by
// agent, the group of the agent it is to the credit of; otherwise the
// chat's.
func (b *builder) sampleGroups(c *chat, agent string) []*acc {
	if b.o.By == ByAgent {
		return []*acc{b.group(cmp.Or(b.agent(agent).username, agent))}
	}
	return c.groups
}

// place counts a chat, once its agents and offers are known, in the
// totals and its groups, with its assignment time and duration.
func (b *builder) place(c *chat) {
	c.groups = b.chatGroups(c)
	for _, a := range append([]*acc{&b.total}, c.groups...) {
		n := &a.chats
		n.Started++
		answered := !c.AcceptedAt.IsZero()
		count(&n.Answered, answered)
		count(&n.Missed, c.Status == store.ChatMissed)
		count(&n.Ended, c.Status == store.ChatEnded)
		count(&n.Resolved, c.Status == store.ChatEnded && !c.FirstReplyAt.IsZero())
		count(&n.Transferred, c.transferred)
		count(&n.Converted, c.Ticket)
		count(&n.Reopened, c.Reopened > 0)
		if answered && c.Status == store.ChatEnded && !c.EndedAt.IsZero() {
			a.duration.addDuration(c.EndedAt.Sub(c.AcceptedAt))
		}
	}
	if c.AcceptedAt.IsZero() {
		return
	}
	d := c.AcceptedAt.Sub(c.CreatedAt)
	b.total.assignment.addDuration(d)
	groups := c.groups
	if c.owner != "" {
		b.agent(c.owner).assignment.addDuration(d)
		groups = b.sampleGroups(c, c.owner)
	}
	for _, g := range groups {
		g.assignment.addDuration(d)
	}
}

func count(n *int, yes bool) {
	if yes {
		*n++
	}
}

// addMessages measures a chat's messages in order: the first agent
// message is its first response; each agent message answers the customer
// messages since the previous one that came while the chat was active.
// Answered chats count their messages.
func (b *builder) addMessages(c *chat) {
	var unanswered []time.Time
	replied := false
	for _, m := range c.Messages {
		if !m.Agent {
			// Within the millisecond of the end counts: times are kept to
			// the millisecond, and a message stored before the end was
			// written while the chat was active.
			if !c.AcceptedAt.IsZero() && !m.At.Before(c.AcceptedAt) && (c.EndedAt.IsZero() || !m.At.After(c.EndedAt)) {
				unanswered = append(unanswered, m.At)
			}
			continue
		}
		a := b.agent(m.Author)
		groups := b.sampleGroups(c, m.Author)
		if !replied {
			replied = true
			d := m.At.Sub(c.CreatedAt)
			b.total.firstResponse.addDuration(d)
			a.firstResponse.addDuration(d)
			for _, g := range groups {
				g.firstResponse.addDuration(d)
			}
		}
		for _, at := range unanswered {
			d := m.At.Sub(at)
			b.total.response.addDuration(d)
			a.response.addDuration(d)
			for _, g := range groups {
				g.response.addDuration(d)
			}
		}
		unanswered = unanswered[:0]
	}
	if !c.AcceptedAt.IsZero() {
		for _, g := range append([]*acc{&b.total}, c.groups...) {
			g.msgs.add(float64(len(c.Messages)))
		}
	}
}

// addPresence sums each agent's time per state over the period, up to
// the time of the report. changes are by agent and time, each agent's
// first one possibly before the period (their state when it began).
func (b *builder) addPresence(changes []store.PresenceChange) {
	end := b.o.Until
	if b.o.Now.Before(end) {
		end = b.o.Now
	}
	for _, a := range b.agents {
		a.presence.Offline = max(end.Sub(b.o.Since), 0).Seconds() // unless a change says otherwise
	}
	for i := 0; i < len(changes); {
		j := i
		for j < len(changes) && changes[j].Username == changes[i].Username {
			j++
		}
		a := b.agent(store.UsernameKey(changes[i].Username))
		a.presence = presenceTime(changes[i:j], b.o.Since, end)
		i = j
	}
}

// presenceTime is the time one agent spent in each state in [since,
// end), from their changes in order; before the first, they were
// offline.
func presenceTime(changes []store.PresenceChange, since, end time.Time) Presence {
	var p Presence
	if !end.After(since) {
		return p
	}
	state, from := store.PresenceOffline, since
	add := func(until time.Time) {
		until = clamp(until, since, end)
		d := until.Sub(from).Seconds()
		switch state {
		case store.PresenceOnline:
			p.Available += d
		case store.PresenceAway:
			p.Away += d
		case store.PresenceBusy:
			p.Busy += d
		default:
			p.Offline += d
		}
		from = until
	}
	for _, c := range changes {
		add(c.At)
		state = c.State
	}
	add(end)
	p.Available, p.Away, p.Busy, p.Offline = round(p.Available), round(p.Away), round(p.Busy), round(p.Offline)
	return p
}

// clamp brings t into [lo, hi].
func clamp(t, lo, hi time.Time) time.Time {
	if t.Before(lo) {
		return lo
	}
	if t.After(hi) {
		return hi
	}
	return t
}

// report assembles what was measured.
func (b *builder) report() *Report {
	r := &Report{
		Portal: b.o.Portal, Since: b.o.Since.In(b.o.Location), Until: b.o.Until.In(b.o.Location), TimeZone: b.o.Location.String(), By: b.o.By,
		VolumeUnit: volumeUnit(b.o.Since, b.o.Until), Volume: b.volume,
		AssignmentHistogram: b.total.assignment.histogram(), FirstResponseHistogram: b.total.firstResponse.histogram(),
		Totals:   b.total.measures(),
		Contacts: Contacts{New: len(b.newVisitors), Returning: len(b.oldVisitors)},
		Ratings:  b.ratings,
		Agents:   []Agent{},
	}
	if r.Ratings.Count > 0 {
		r.Ratings.Mean = round(r.Ratings.Mean / float64(r.Ratings.Count))
	}
	if b.o.By != "" {
		r.Groups = b.groupList()
	}
	for _, a := range b.agents {
		if a.username == "" {
			continue // offers or messages of an agent no longer in the portal
		}
		r.Agents = append(r.Agents, Agent{
			Username: a.username, Name: a.name, Handled: a.handled, Accepted: a.accepted, Declined: a.declined, TimedOut: a.timedOut,
			Assignment: a.assignment.durations(), FirstResponse: a.firstResponse.durations(), Response: a.response.durations(),
			Presence: a.presence,
		})
	}
	slices.SortFunc(r.Agents, func(x, y Agent) int { return cmp.Compare(store.UsernameKey(x.Username), store.UsernameKey(y.Username)) })
	return r
}

// groupList is the groups in order: days and hours by time, the others
// by key, ignoring case, with the group of none last.
func (b *builder) groupList() []Group {
	keys := slices.Clone(b.keys)
	if b.o.By != ByDay && b.o.By != ByHour {
		slices.SortFunc(keys, func(x, y string) int {
			return cmp.Or(cmp.Compare(boolInt(x == NoAgent), boolInt(y == NoAgent)), cmp.Compare(strings.ToLower(x), strings.ToLower(y)), cmp.Compare(x, y))
		})
	}
	gs := make([]Group, 0, len(keys))
	for _, k := range keys {
		g := Group{Key: k, Measures: b.groups[k].measures()}
		if start, ok := b.starts[k]; ok {
			g.Start = &start
		}
		gs = append(gs, g)
	}
	return gs
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
