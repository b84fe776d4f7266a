-- The supervisor console's sessions (docs/CONSOLE.md §2.3), kept here so
-- that every node sharing the database knows them. key_hash is the
-- SHA-256 of the session's id (the id is in the browser's cookie only);
-- cred the SHA-256 of the agent's SCRAM-SHA-256 StoredKey at sign-in (a
-- new password ends the session); csrf the token the session's forms
-- carry; flash the outcome of its last change, shown once. born_at and
-- seen_at are Unix milliseconds (UTC); seen_at is written at most about
-- once a minute, not on every request. IF NOT EXISTS: a test runs later
-- migrations again.
CREATE TABLE IF NOT EXISTS console_sessions (
	key_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(key_hash) = 32),
	agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	cred     BLOB    NOT NULL CHECK (length(cred) = 32),
	csrf     TEXT    NOT NULL CHECK (length(csrf) BETWEEN 1 AND 64),
	flash    TEXT    NOT NULL DEFAULT '',
	born_at  INTEGER NOT NULL,
	seen_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS console_sessions_agent ON console_sessions (agent_id, born_at);
CREATE INDEX IF NOT EXISTS console_sessions_born ON console_sessions (born_at);
