-- Visitor chats (SPEC §3): visitors, per-portal visitor numbers, chats,
-- the agents in each chat, the chat's event log (which is also its
-- transcript) and the offers made to agents. Times are Unix milliseconds
-- (UTC); nullable times are NULL until the thing happens.

-- A visitor with an email is one record per portal and email (ignoring
-- case): email_key is the lowercased email, or NULL when the visitor gave
-- none, and NULLs never collide, so a visitor without email is always new.
CREATE TABLE visitors (
	id           INTEGER PRIMARY KEY,
	portal_id    INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	email        TEXT    NOT NULL DEFAULT '',
	email_key    TEXT,
	phone        TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	UNIQUE (portal_id, email_key)
);

-- next_visitor_number is the number the portal's next chat gets. The row
-- is created with the portal's first chat, which gets #1001: visitor
-- numbers start at 1001, so that they have four digits from the start.
CREATE TABLE portal_counters (
	portal_id           INTEGER PRIMARY KEY REFERENCES portals(id) ON DELETE CASCADE,
	next_visitor_number INTEGER NOT NULL DEFAULT 1001
);

-- department is the department's name when the chat started ('' for
-- none), kept when the department is renamed or removed. token_hash is
-- the SHA-256 of the visitor's bearer token; the token itself is never
-- stored. last_seq is the seq of the newest chat_events row.
CREATE TABLE chats (
	id              INTEGER PRIMARY KEY,
	public_id       TEXT    NOT NULL UNIQUE,
	portal_id       INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	number          INTEGER NOT NULL,
	visitor_id      INTEGER NOT NULL REFERENCES visitors(id),
	department_id   INTEGER REFERENCES departments(id) ON DELETE SET NULL,
	department      TEXT    NOT NULL DEFAULT '',
	question        TEXT    NOT NULL,
	status          TEXT    NOT NULL DEFAULT 'waiting'
	                CHECK (status IN ('waiting', 'offered', 'active', 'ended', 'missed')),
	token_hash      BLOB    NOT NULL,
	ip              TEXT    NOT NULL DEFAULT '',
	user_agent      TEXT    NOT NULL DEFAULT '',
	browser         TEXT    NOT NULL DEFAULT '',
	os              TEXT    NOT NULL DEFAULT '',
	country         TEXT    NOT NULL DEFAULT '',
	page_url        TEXT    NOT NULL DEFAULT '',
	language        TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	offered_at      INTEGER,
	accepted_at     INTEGER,
	first_reply_at  INTEGER,
	ended_at        INTEGER,
	end_reason      TEXT    NOT NULL DEFAULT '',
	last_visitor_at INTEGER,
	last_seq        INTEGER NOT NULL DEFAULT 0,
	UNIQUE (portal_id, number)
);
CREATE INDEX chats_portal_status ON chats (portal_id, status);
CREATE INDEX chats_visitor ON chats (visitor_id);
CREATE INDEX chats_department ON chats (department_id);
-- Only the few live chats, for restoring them after a restart.
CREATE INDEX chats_live ON chats (id) WHERE status IN ('waiting', 'offered', 'active');

-- Who is or was in a chat. agent_username and agent_name are snapshots
-- taken when the agent joined. An agent has at most one open row (left_at
-- NULL) per chat.
CREATE TABLE chat_agents (
	chat_id        INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
	agent_id       INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	agent_username TEXT    NOT NULL,
	agent_name     TEXT    NOT NULL,
	role           TEXT    NOT NULL CHECK (role IN ('owner', 'invited', 'monitor')),
	joined_at      INTEGER NOT NULL,
	left_at        INTEGER,
	PRIMARY KEY (chat_id, agent_id, joined_at)
) WITHOUT ROWID;
CREATE UNIQUE INDEX chat_agents_open ON chat_agents (chat_id, agent_id) WHERE left_at IS NULL;
CREATE INDEX chat_agents_agent ON chat_agents (agent_id);

-- Everything that happened in a chat, numbered 1, 2, 3, ... per chat. The
-- rows with visible = 1 are the visitor's event stream (read with
-- seq > after); all rows together are the transcript. author is the
-- agent's username for agent rows, else ''; data is JSON or ''.
CREATE TABLE chat_events (
	chat_id     INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	type        TEXT    NOT NULL,
	author_kind TEXT    NOT NULL CHECK (author_kind IN ('visitor', 'agent', 'system')),
	author      TEXT    NOT NULL DEFAULT '',
	author_name TEXT    NOT NULL DEFAULT '',
	text        TEXT    NOT NULL DEFAULT '',
	data        TEXT    NOT NULL DEFAULT '',
	visible     INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
	PRIMARY KEY (chat_id, seq)
) WITHOUT ROWID;

-- Offers of a chat to an agent: a new chat, a transfer or an invitation.
-- answer is '' until the agent answers or the offer ends otherwise.
CREATE TABLE chat_offers (
	id             INTEGER PRIMARY KEY,
	chat_id        INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
	agent_id       INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	agent_username TEXT    NOT NULL,
	kind           TEXT    NOT NULL CHECK (kind IN ('chat', 'transfer', 'invite')),
	offered_at     INTEGER NOT NULL,
	answered_at    INTEGER,
	answer         TEXT    NOT NULL DEFAULT ''
	               CHECK (answer IN ('', 'accepted', 'declined', 'timeout', 'withdrawn'))
);
CREATE INDEX chat_offers_chat ON chat_offers (chat_id);
CREATE INDEX chat_offers_agent ON chat_offers (agent_id);
