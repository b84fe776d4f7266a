-- The supervisor console's sessions, as SQLite's migration 0018 keeps
-- them (see there): only the SHA-256 of a session's id, the agent, a
-- digest of the agent's credentials at sign-in, the CSRF token, the
-- outcome of the last change, and when the session began and was last
-- used (Unix milliseconds).
CREATE TABLE console_sessions (
	key_hash BYTEA  NOT NULL PRIMARY KEY CHECK (length(key_hash) = 32),
	agent_id BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	cred     BYTEA  NOT NULL CHECK (length(cred) = 32),
	csrf     TEXT COLLATE "C" NOT NULL CHECK (length(csrf) BETWEEN 1 AND 64),
	flash    TEXT COLLATE "C" NOT NULL DEFAULT '',
	born_at  BIGINT NOT NULL,
	seen_at  BIGINT NOT NULL
);

CREATE INDEX console_sessions_agent ON console_sessions (agent_id, born_at);

CREATE INDEX console_sessions_born ON console_sessions (born_at);
