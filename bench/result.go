package bench

// Result is everything a run measured. Its JSON form is the BENCH line;
// durations are in milliseconds, phases that did not run are left out,
// and figures that need --pid are left out without it.
type Result struct {
	Server      string `json:"server"` // as given: one HOST:PORT, or several comma-separated
	TLS         string `json:"tls"`    // "starttls" or "direct"
	Domain      string `json:"domain"`
	Mechanism   string `json:"mechanism"`
	Agents      int    `json:"agents"`
	Concurrency int    `json:"concurrency"`
	PID         int    `json:"pid,omitempty"`  // with one --pid
	PIDs        []int  `json:"pids,omitempty"` // with several

	// Servers is how the sessions were shared out, with several --server.
	Servers []ServerShare `json:"servers,omitempty"`
	// Processes are each process's own figures, with several --pid (the
	// phases' figures are their sums).
	Processes []ProcessResult `json:"processes,omitempty"`
	// The accounts' spread over portals and departments, if any.
	PortalSize     int `json:"portal_size,omitempty"`
	DepartmentSize int `json:"department_size,omitempty"`

	Provision *ProvisionResult `json:"provision,omitempty"`
	Login     LoginResult      `json:"login"`
	Messages  *MessageResult   `json:"messages,omitempty"`
	Idle      *IdleResult      `json:"idle,omitempty"`
	Visitors  *VisitorResult   `json:"visitors,omitempty"`
	Commands  *CommandResult   `json:"commands,omitempty"`

	// Sessions the server ended (or lost) during the run.
	Disconnected    int    `json:"disconnected"`
	DisconnectError string `json:"disconnect_error,omitempty"`

	Client ClientResult `json:"client"`

	// Interrupted is set when the run was cut short (SIGINT, SIGTERM).
	Interrupted bool `json:"interrupted,omitempty"`

	// OK is false when anything failed or was lost; Problems says what.
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
}

// ServerShare is one of several XMPP servers of a run.
type ServerShare struct {
	Address  string `json:"address"`
	Agents   int    `json:"agents"`    // agents whose turn it was to sign in here
	SignedIn int    `json:"signed_in"` // sessions that signed in here
}

// ProcessResult is one of several server processes of a run: its CPU
// time in the login and message phases and its RSS before the login and
// at the end of the idle phase, each left out when not measured.
type ProcessResult struct {
	PID           int      `json:"pid"`
	LoginCPUMs    *float64 `json:"login_cpu_ms,omitempty"`
	MessagesCPUMs *float64 `json:"messages_cpu_ms,omitempty"`
	RSSBeforeKiB  *int64   `json:"rss_before_kib,omitempty"`
	RSSKiB        *int64   `json:"rss_kib,omitempty"`
}

// ProvisionResult is what --provision did (filled in by the command,
// which has the store).
type ProvisionResult struct {
	Portal     string  `json:"portal"` // the first, with several
	Portals    int     `json:"portals,omitempty"`
	Created    int     `json:"created"`
	Existing   int     `json:"existing"`
	DurationMs float64 `json:"duration_ms"`
	PerSecond  float64 `json:"accounts_per_s"`
}

// LoginResult is the login phase.
type LoginResult struct {
	Attempted  int     `json:"attempted"`
	OK         int     `json:"ok"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	DurationMs float64 `json:"duration_ms"`
	PerSecond  float64 `json:"logins_per_s"`
	// Latency is from the TCP connect to the bound resource.
	Latency             Latency  `json:"latency_ms"`
	ServerCPUMsPerLogin *float64 `json:"server_cpu_ms_per_login,omitempty"`
	ServerCPUMs         *float64 `json:"server_cpu_ms,omitempty"`
}

// MessageResult is the message phase.
type MessageResult struct {
	Mode    string  `json:"mode"` // "window" or "rate"
	Window  int     `json:"window,omitempty"`
	Rate    float64 `json:"rate,omitempty"`
	Senders int     `json:"senders"`
	// CrossServer counts the senders whose receiver signed in to another
	// server than theirs (with several --server).
	CrossServer *int    `json:"cross_server,omitempty"`
	DurationMs  float64 `json:"duration_ms"`
	Sent        int64   `json:"sent"`
	// Delivered counts distinct messages received; Lost is Sent minus
	// Delivered after the drain wait.
	Delivered  int64  `json:"delivered"`
	Lost       int64  `json:"lost"`
	Duplicates int64  `json:"duplicates"`
	OutOfOrder int64  `json:"out_of_order"`
	Errors     int64  `json:"errors"` // bounced (type=error) messages
	FirstError string `json:"first_error,omitempty"`
	SendErrors int64  `json:"send_errors"`
	// SentPerS is the rate messages went out at; DeliveredPerS is the rate
	// they arrived at while the senders were sending (what arrives during
	// the drain is counted as delivered, not in the rate).
	SentPerS      float64 `json:"sent_per_s"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	// Rate mode: whether the senders kept to the schedule (sent at least
	// 99% of the messages due), and by how much the latest one was late.
	Scheduled             int64    `json:"scheduled,omitempty"`
	RateKept              *bool    `json:"rate_kept,omitempty"`
	MaxLateMs             *float64 `json:"max_late_ms,omitempty"`
	DrainMs               float64  `json:"drain_ms"`
	Latency               Latency  `json:"latency_ms"`
	ServerCPUMsPerMessage *float64 `json:"server_cpu_ms_per_message,omitempty"`
	ServerCPUMs           *float64 `json:"server_cpu_ms,omitempty"`
}

// IdleResult is the idle phase.
type IdleResult struct {
	DurationMs         float64  `json:"duration_ms"`
	Sessions           int      `json:"sessions"`
	ServerRSSBeforeKiB *int64   `json:"server_rss_before_kib,omitempty"`
	ServerRSSKiB       *int64   `json:"server_rss_kib,omitempty"`
	KiBPerSession      *float64 `json:"kib_per_session,omitempty"`
}

// VisitorResult is the visitor phase.
type VisitorResult struct {
	Chats      int    `json:"chats"`
	Started    int    `json:"started"`
	Accepted   int    `json:"accepted"`
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	// StartMs is the time from the first POST until every chat was
	// accepted (or given up on).
	StartMs float64 `json:"start_ms"`
	// AcceptLatency is from POST /api/v1/chats to the agent reading the
	// chat's details after answering y.
	AcceptLatency   Latency `json:"accept_latency_ms"`
	MessagesPerChat int     `json:"messages_per_chat"`
	VisitorToAgent  Flow    `json:"visitor_to_agent"`
	AgentToVisitor  Flow    `json:"agent_to_visitor"`
	// HTTP is how the chats were shared out, with several --http.
	HTTP []HTTPShare `json:"http,omitempty"`
}

// HTTPShare is one of several visitor APIs of a run.
type HTTPShare struct {
	URL     string `json:"url"`
	Chats   int    `json:"chats"`   // chats whose turn it was to start here
	Started int    `json:"started"` // chats started here (their WebSocket open)
}

// Flow is one direction of visitor chat messages.
type Flow struct {
	Sent     int     `json:"sent"`
	Received int     `json:"received"`
	Lost     int     `json:"lost"`
	Latency  Latency `json:"latency_ms"`
}

// CommandResult is the #info phase.
type CommandResult struct {
	DurationMs float64 `json:"duration_ms"`
	Agents     int     `json:"agents"`
	Chats      int     `json:"chats"`
	Sent       int     `json:"sent"`
	Replied    int     `json:"replied"`
	TimedOut   int     `json:"timed_out"`
	PerSecond  float64 `json:"replies_per_s"`
	Latency    Latency `json:"latency_ms"`
}

// ClientResult is what the load generator itself used.
type ClientResult struct {
	RSSKiB     int64   `json:"rss_kib"`
	CPUMs      float64 `json:"cpu_ms"`
	FileLimit  uint64  `json:"file_limit,omitempty"`
	DurationMs float64 `json:"duration_ms"`
}
