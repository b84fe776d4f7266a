package report

import (
	"context"
	"errors"
	"slices"
	"time"

	"jabberdesk/store"
)

// chat is a chat of the period with what is derived from its agents and
// offers.
type chat struct {
	store.ReportChat
	owner       string   // the agent who accepted it (username key), "" for none
	handlers    []string // owners and invited agents (username keys)
	transferred bool
	groups      []*acc // the groups its chat-level measures go to
}

// builder makes a report in one pass over the period's chats.
type builder struct {
	o      Options
	total  acc
	groups map[string]*acc
	keys   []string             // group keys in order
	starts map[string]time.Time // the start of each day or hour group
	agents map[string]*agentAcc // by username key

	volume      []Volume
	volumeIndex map[string]int
	newVisitors map[int64]bool
	oldVisitors map[int64]bool
	ratings     Ratings
}

// Build measures the portal's chats of the period [o.Since, o.Until).
func Build(ctx context.Context, src Source, o Options) (*Report, error) {
	if !o.Until.After(o.Since) {
		return nil, errors.New("report: the period is empty: until must be after since")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now.IsZero() {
		o.Now = o.Until
	}
	b := newBuilder(o)
	agents, err := src.Agents(ctx, o.Portal)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		b.agent(a.Key()).name = a.DisplayName
		b.agent(a.Key()).username = a.Username
	}
	if err := src.ReportChats(ctx, o.Portal, o.Since, o.Until, b.addChat); err != nil {
		return nil, err
	}
	changes, err := src.PresenceChanges(ctx, o.Portal, o.Since, o.Until)
	if err != nil {
		return nil, err
	}
	b.addPresence(changes)
	_, waiting, err := src.WaitingNow(ctx, o.Portal)
	if err != nil {
		return nil, err
	}
	r := b.report()
	r.Contacts.WaitingNow = waiting
	return r, nil
}

func newBuilder(o Options) *builder {
	b := &builder{
		o: o, groups: map[string]*acc{}, starts: map[string]time.Time{}, agents: map[string]*agentAcc{},
		volumeIndex: map[string]int{}, newVisitors: map[int64]bool{}, oldVisitors: map[int64]bool{},
	}
	unit := volumeUnit(o.Since, o.Until)
	for _, start := range buckets(o.Since, o.Until, unit, o.Location) {
		b.volumeIndex[bucketKey(start, unit)] = len(b.volume)
		b.volume = append(b.volume, Volume{Start: start})
	}
	if o.By == ByDay || o.By == ByHour {
		// Every day or hour of the period is a group, with chats or not.
		for _, start := range buckets(o.Since, o.Until, o.By, o.Location) {
			b.group(bucketKey(start, o.By))
			b.starts[bucketKey(start, o.By)] = start
		}
	}
	return b
}

// group is the accumulator of a group, made on first use.
func (b *builder) group(key string) *acc {
	g, made := entry(b.groups, key)
	if made {
		b.keys = append(b.keys, key)
	}
	return g
}

// entry is m[key], made and added (made set) when missing.
func entry[V any](m map[string]*V, key string) (v *V, made bool) {
	if v = m[key]; v == nil {
		v, made = new(V), true
		m[key] = v
	}
	return v, made
}

// addChat measures a chat with its messages, agents and offers.
func (b *builder) addChat(rc store.ReportChat) error {
	c := &chat{ReportChat: rc}
	for _, o := range c.Offers {
		b.addOffer(c, o)
	}
	for _, a := range c.Agents {
		b.addChatAgent(c, a)
	}
	b.place(c)
	b.addMessages(c)
	b.addVisitor(c)
	return nil
}

// addVisitor counts the chat's visitor, rating and volume.
func (b *builder) addVisitor(c *chat) {
	// Chats come in the order they started: a visitor's first one in
	// the period tells whether they had one before.
	if !b.oldVisitors[c.VisitorID] && !b.newVisitors[c.VisitorID] {
		if c.Previous {
			b.oldVisitors[c.VisitorID] = true
		} else {
			b.newVisitors[c.VisitorID] = true
		}
	}
	if c.Stars >= 1 && c.Stars <= 5 {
		b.ratings.Count++
		b.ratings.Distribution[c.Stars-1]++
		b.ratings.Mean += float64(c.Stars)
	}
	unit := volumeUnit(b.o.Since, b.o.Until)
	if i, ok := b.volumeIndex[bucketKey(bucketStart(c.CreatedAt, unit, b.o.Location), unit)]; ok {
		v := &b.volume[i]
		v.Started++
		if !c.AcceptedAt.IsZero() {
			v.Answered++
		}
		if c.Status == store.ChatMissed {
			v.Missed++
		}
	}
}

// addOffer counts an agent's answer and notes an accepted transfer.
func (b *builder) addOffer(c *chat, o store.ReportOffer) {
	a := b.agent(o.Username)
	switch o.Answer {
	case "accepted":
		a.accepted++
		c.transferred = c.transferred || o.Kind == "transfer"
	case "declined":
		a.declined++
	case "timeout":
		a.timedOut++
	}
}

// addChatAgent notes who handled a chat, and who accepted it: its first
// owner (agents come in the order they joined).
func (b *builder) addChatAgent(c *chat, ca store.ReportChatAgent) {
	if ca.Role == store.ChatRoleMonitor {
		return
	}
	key := store.UsernameKey(ca.Username)
	if !slices.Contains(c.handlers, key) {
		c.handlers = append(c.handlers, key)
		b.agent(key).handled++
	}
	if ca.Role == store.ChatRoleOwner && c.owner == "" {
		c.owner = key
	}
}
