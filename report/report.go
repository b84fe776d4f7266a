// Package report measures a portal's chats over a period
// (docs/REPORTS.md): how many started, were answered, missed, ended,
// transferred, reopened and made tickets; how long visitors waited for an
// agent and for answers; how long chats lasted and how many messages they
// had; new and returning contacts; each agent's chats, offers, times and
// presence; and the visitors' ratings. One definition serves every way of
// showing them: JSON, CSV, the CLI's tables and the HTML page with its
// charts (WriteHTML), which a web console can serve as it is.
//
// It only reads, through the small Source it declares (*store.Store
// implements it), and reads each of the period's rows once; percentiles
// are computed here.
package report

import (
	"context"
	"time"

	"jabberdesk/store"
)

// Source is what a report reads: the period's chats with their
// messages, agents and offers, the agents' presence changes, the chats
// waiting now and the portal's agents. *store.Store implements it.
type Source interface {
	ReportChats(ctx context.Context, portal string, since, until time.Time, f func(store.ReportChat) error) error
	PresenceChanges(ctx context.Context, portal string, since, until time.Time) ([]store.PresenceChange, error)
	WaitingNow(ctx context.Context, portal string) (chats, visitors int, err error)
	Agents(ctx context.Context, portal string) ([]store.Agent, error)
}

// Options say what to measure.
type Options struct {
	Portal       string
	Since, Until time.Time // the period [Since, Until)
	By           Grouping  // "" for totals only
	Location     *time.Location
	// Now is the time of the report: presence is counted up to it, not
	// beyond, and "waiting now" is as of it.
	Now time.Time
}

// Report is a portal's measures over a period. Its JSON field names are
// stable (docs/REPORTS.md §4).
type Report struct {
	Portal   string    `json:"portal"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	TimeZone string    `json:"time_zone"`
	By       Grouping  `json:"by,omitempty"`

	Totals Measures `json:"totals"`
	// Groups are the measures per day, hour, agent, department or
	// channel (By); days and hours run through the whole period.
	Groups []Group `json:"groups,omitempty"`
	// Volume is started, answered and missed chats per hour (periods of
	// up to two days) or per day, for charts.
	VolumeUnit Grouping `json:"volume_unit"`
	Volume     []Volume `json:"volume"`

	// Distributions of the assignment and first response times.
	AssignmentHistogram    []Bin `json:"assignment_histogram"`
	FirstResponseHistogram []Bin `json:"first_response_histogram"`

	Contacts Contacts `json:"contacts"`
	Agents   []Agent  `json:"agents"`
	Ratings  Ratings  `json:"ratings"`
}

// Measures are what is measured of a set of chats.
type Measures struct {
	Chats         Chats     `json:"chats"`
	Assignment    Durations `json:"assignment"`     // accepted − created
	FirstResponse Durations `json:"first_response"` // first agent message − created
	Response      Durations `json:"response"`       // next agent message − customer message, while active
	Duration      Durations `json:"duration"`       // ended − accepted, of answered chats that ended
	Messages      Numbers   `json:"messages"`       // visitor and agent messages per answered chat
}

// Chats counts chats by what became of them.
type Chats struct {
	Started     int `json:"started"`
	Answered    int `json:"answered"`    // an agent accepted it
	Missed      int `json:"missed"`      // nobody accepted it in time
	Ended       int `json:"ended"`       // over, not missed (the visitor may have left before an agent came)
	Resolved    int `json:"resolved"`    // ended after at least one agent message
	Transferred int `json:"transferred"` // a transfer of it was accepted
	Reopened    int `json:"reopened"`    // it was reopened after it ended (#reopen)
	Converted   int `json:"converted"`   // it belongs to a ticket
}

// Durations summarise times, in seconds.
type Durations struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_seconds"`
	P50   float64 `json:"p50_seconds"`
	P90   float64 `json:"p90_seconds"`
}

// Numbers summarise counts.
type Numbers struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
}

// Group is the measures of one day, hour, agent, department or channel.
// Start is the beginning of a day or hour, in the report's time zone.
type Group struct {
	Key   string     `json:"key"`
	Start *time.Time `json:"start,omitempty"`
	Measures
}

// Volume is a day's or hour's chats.
type Volume struct {
	Start    time.Time `json:"start"`
	Started  int       `json:"started"`
	Answered int       `json:"answered"`
	Missed   int       `json:"missed"`
}

// Bin is a range of a histogram: From ≤ time < To seconds (To 0: no
// upper bound).
type Bin struct {
	Label string  `json:"label"`
	From  float64 `json:"from_seconds"`
	To    float64 `json:"to_seconds,omitempty"`
	Count int     `json:"count"`
}

// Contacts counts the visitors of the period's chats: New had their
// first chat ever in it, Returning had chats before. WaitingNow is the
// visitors whose chat waits for an agent at the time of the report.
type Contacts struct {
	New        int `json:"new"`
	Returning  int `json:"returning"`
	WaitingNow int `json:"waiting_now"`
}

// Agent is one agent's part of the period.
type Agent struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	// Handled is the chats they were in as owner or invited agent.
	Handled       int       `json:"chats_handled"`
	Accepted      int       `json:"offers_accepted"`
	Declined      int       `json:"offers_declined"`
	TimedOut      int       `json:"offers_timed_out"`
	Assignment    Durations `json:"assignment"`     // of the chats they accepted
	FirstResponse Durations `json:"first_response"` // of the chats they answered first
	Response      Durations `json:"response"`       // of the messages they answered
	Presence      Presence  `json:"presence"`
}

// Presence is the time an agent spent in each state for routing, in
// seconds, within the period and up to the time of the report.
type Presence struct {
	Available float64 `json:"available_seconds"`
	Away      float64 `json:"away_seconds"`
	Busy      float64 `json:"busy_seconds"` // do not disturb
	Offline   float64 `json:"offline_seconds"`
}

// Ratings are the visitors' ratings of the period's chats. Distribution
// counts them by stars: [0] is one star, [4] five.
type Ratings struct {
	Count        int     `json:"count"`
	Mean         float64 `json:"mean"`
	Distribution [5]int  `json:"distribution"`
}
