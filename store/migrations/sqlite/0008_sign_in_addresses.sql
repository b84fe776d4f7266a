-- The addresses each agent signed in from (a client's address, or its
-- IPv6 /64), so that the sign-in guard can let the agent through while
-- someone elsewhere guesses the account's password, after a restart as
-- well. last_at is Unix milliseconds (UTC); rows unused for 90 days are
-- pruned as new ones are written.
CREATE TABLE sign_in_addresses (
	agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	addr     TEXT    NOT NULL CHECK (length(addr) BETWEEN 1 AND 64),
	last_at  INTEGER NOT NULL,
	PRIMARY KEY (agent_id, addr)
) WITHOUT ROWID;
