package bridge

// Milestone is a moment in a chat's life that metrics count
// (Config.ObserveChat).
type Milestone string

// The milestones.
const (
	// Answered: an agent accepted the chat; the time is its assignment
	// time (accepted − created).
	Answered Milestone = "answered"
	// Missed: nobody accepted it; the time is how long it waited.
	Missed Milestone = "missed"
	// FirstResponse: an agent's first message to the visitor; the time
	// is the first response time (first agent message − created).
	FirstResponse Milestone = "first_response"
)

// observe tells Config.ObserveChat that the chat reached a milestone
// now, with the time since it was created.
func (c *Chat) observe(m Milestone) {
	if obs := c.e.cfg.ObserveChat; obs != nil {
		obs(c.portal, m, max(c.e.now().Sub(c.info.CreatedAt), 0))
	}
}

// firstAgentMessage notes an agent's message to the visitor: the first
// one is the chat's first response.
func (c *Chat) firstAgentMessage() {
	if c.replied {
		return
	}
	c.replied = true
	c.observe(FirstResponse)
}
