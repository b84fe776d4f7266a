// Package bridge is jabberdesk's chat engine: it holds the live visitor
// chats and bridges them into agents' XMPP rosters (docs/CHATS.md). A visitor
// starts a chat through the visitor API (package bridge/web); the chat is
// offered to agents as a roster contact PORTAL|v-NUMBER@DOMAIN; an agent
// answers "y" or "n"; then text and chat states (XEP-0085) flow both ways,
// and everything is stored as the chat's transcript.
//
// The bridge reaches agents only through the small Agents interface, which
// the XMPP server implements; it knows nothing of XMPP beyond that.
//
// Invariants:
//   - Each live chat's state is owned by one goroutine (Chat.run); every
//     change to a chat — visitor input, agent input, timers — is a function
//     run there, one at a time, so offers, accepts, timers and ends cannot
//     race: the first "y" wins exactly once.
//   - The engine's lock guards only its maps (live chats, agents' contacts
//     and loads); no I/O, no database call and no call into Agents happens
//     under it.
//   - Visitor events are stored with a per-chat sequence number before
//     they are published, so a visitor who comes back with after=SEQ
//     misses nothing; typing events are the only ones not stored (seq 0).
//   - Nothing crosses portals: chats are found by (portal, number), and
//     routing only considers the chat's portal's agents.
//   - A visitor never costs an agent their connection: a message for an
//     agent whose client is not keeping up (Agents.Busy) is refused with
//     ErrAgentBusy, typing for them is dropped.
//   - What agents see from a visitor contact cannot be forged: the
//     server's lines start with SystemPrefix, a colleague's copies with
//     "[Name] ", and any line of someone else's that could pass for either
//     is quoted (unforgeable.go).
//   - With several nodes (Config.Nodes, docs/CLUSTER.md), a portal's live
//     chats run on exactly one node, its owner: every public method that
//     reaches a live chat runs there, sent by forward when this node is
//     not the owner (forward.go), and its errors come back as the same
//     kinds. A forwarded call is never forwarded again, and sent a second
//     time only to another node when the first could not have run it.
//   - A visitor's stream reads what is stored and uses the chat only to
//     wake up, on any node: the owner publishes each stored event on the
//     chat's topic, and a stream that sees a gap, falls behind or is told
//     the chat is over reads the store (watch.go). The owner counts the
//     visitor as present while another node's watch says so.
package bridge

import "time"

// Availability is an agent's state for routing (docs/AGENTS.md §4.2), from least to
// most available.
type Availability int

// Availabilities.
const (
	Offline Availability = iota
	Away                 // away or xa
	Busy                 // dnd
	Online               // available or chat
)

func (a Availability) String() string {
	switch a {
	case Away:
		return "away"
	case Busy:
		return "busy"
	case Online:
		return "online"
	}
	return "offline"
}

// Agents is what the bridge needs from the agents' side (the XMPP server).
// Implementations must not block: they queue what they send.
type Agents interface {
	// Availability of an agent, by username key.
	Availability(portal, agent string) Availability
	// Contact adds, updates or removes a visitor contact in the agent's
	// roster, with its presence.
	Contact(portal, agent string, c Contact)
	// Message sends a message from a visitor contact to every available
	// resource of the agent; it reports whether one was available.
	Message(portal, agent string, m Message) bool
	// Busy reports whether the agent's client is not keeping up: what is
	// queued for it is past a safe share of its limit, so that more could
	// cost the agent their connection. A visitor's message then waits
	// (the visitor is asked to send it again) and typing is dropped.
	Busy(portal, agent string) bool
}

// Contact is a visitor chat as an agent's roster contact.
type Contact struct {
	Local     string // localpart after "PORTAL|", e.g. "v-1042"
	Name      string // "Ann (#1042)"
	Status    string // presence status: "QUESTION — DEPARTMENT"
	Available bool
	Remove    bool // take it out of the roster
}

// Message is a message from a visitor contact to an agent.
type Message struct {
	From      string // localpart, e.g. "v-1042"
	Body      string // "" for a bare chat state
	ChatState string // XEP-0085 state: active, composing, paused, …; "" for none
	System    bool   // the server speaks, not the visitor (shown with SystemPrefix)
	// Attachment is the file whose address Body is: sent with it as
	// out-of-band data (XEP-0066), which clients show inline.
	Attachment *File
}

// SystemPrefix marks text that comes from jabberdesk rather than from the
// visitor, so that agents can tell the two apart in any client.
const SystemPrefix = "» "

// Config configures an Engine.
type Config struct {
	Domain       string
	QueueTimeout time.Duration // a chat nobody accepts is missed after this (default 120 s)
	OfferTimeout time.Duration // round robin moves on after this (default 30 s)
	VisitorGrace time.Duration // a chat whose visitor is gone this long ends (default 60 s)
	MissedText   string        // told to the visitor of a missed chat
	// EndTimerUnit is how long one "second" of #e 30 lasts: a second,
	// unless a test wants the timer to run out quickly.
	EndTimerUnit time.Duration
	// ObserveCommand, if set, is told how long each hash command took
	// (for metrics).
	ObserveCommand func(name string, d time.Duration)
	// ObserveChat, if set, is told when a chat of a portal is answered,
	// missed, or gets its first agent message, with the time since the
	// chat was created (for metrics). It runs on the chat's goroutine and
	// must not block.
	ObserveChat func(portal string, m Milestone, sinceCreated time.Duration)
	// Files is the upload store: the addresses of visitors' and
	// customers' files, and the agents' files their messages name. Nil:
	// agents' addresses stay text.
	Files Files
	// Nodes are the other nodes when several run the engine, each the
	// owner of some portals' chats (nodes.go, docs/CLUSTER.md); nil: this
	// node runs every chat.
	Nodes Nodes
}

func (c *Config) setDefaults() {
	if c.QueueTimeout <= 0 {
		c.QueueTimeout = 120 * time.Second
	}
	if c.OfferTimeout <= 0 {
		c.OfferTimeout = 30 * time.Second
	}
	if c.VisitorGrace <= 0 {
		c.VisitorGrace = 60 * time.Second
	}
	if c.EndTimerUnit <= 0 {
		c.EndTimerUnit = time.Second
	}
	if c.MissedText == "" {
		c.MissedText = "Sorry, nobody is available to answer right now. Please leave your email and we will get back to you."
	}
}
