-- When each agent was last signed in to see message board posts as they
-- came: posts made since are delivered at the agent's next sign-in.
-- seen_at is Unix milliseconds (UTC).
CREATE TABLE board_seen (
	agent_id INTEGER PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
	seen_at  INTEGER NOT NULL
);
