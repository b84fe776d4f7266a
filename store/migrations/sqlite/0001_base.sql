-- Portals, departments, agents with SCRAM credentials, the admin audit
-- log and the message board. Times are Unix milliseconds (UTC).

CREATE TABLE portals (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

CREATE TABLE departments (
	id         INTEGER PRIMARY KEY,
	portal_id  INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	name       TEXT    NOT NULL,
	name_key   TEXT    NOT NULL,
	desk_mode  TEXT    NOT NULL DEFAULT 'mapped'
	           CHECK (desk_mode IN ('mapped', 'choose', 'view', 'none')),
	routing    TEXT    NOT NULL DEFAULT 'broadcast'
	           CHECK (routing IN ('broadcast', 'round_robin')),
	created_at INTEGER NOT NULL,
	UNIQUE (portal_id, name_key)
);

CREATE TABLE agents (
	id           INTEGER PRIMARY KEY,
	portal_id    INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	username     TEXT    NOT NULL,
	username_key TEXT    NOT NULL,
	display_name TEXT    NOT NULL,
	email        TEXT    NOT NULL,
	email_key    TEXT    NOT NULL,
	role         TEXT    NOT NULL DEFAULT 'agent'
	             CHECK (role IN ('agent', 'supervisor', 'admin')),
	max_chats    INTEGER NOT NULL DEFAULT 5 CHECK (max_chats >= 0),
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (portal_id, username_key)
);
CREATE UNIQUE INDEX agents_email ON agents (portal_id, email_key);

CREATE TABLE agent_departments (
	agent_id      INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	department_id INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
	PRIMARY KEY (agent_id, department_id)
) WITHOUT ROWID;
CREATE INDEX agent_departments_dept ON agent_departments (department_id);

-- RFC 5802 §3: only salt, iteration count, StoredKey and ServerKey are kept.
CREATE TABLE agent_credentials (
	agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	mechanism  TEXT    NOT NULL CHECK (mechanism IN ('SCRAM-SHA-1', 'SCRAM-SHA-256')),
	salt       BLOB    NOT NULL,
	iterations INTEGER NOT NULL CHECK (iterations >= 4096),
	stored_key BLOB    NOT NULL,
	server_key BLOB    NOT NULL,
	PRIMARY KEY (agent_id, mechanism)
) WITHOUT ROWID;

-- The audit log keeps the portal by name so that it outlives the portal.
CREATE TABLE audit_log (
	id     INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL,
	portal TEXT    NOT NULL DEFAULT '',
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL DEFAULT '',
	detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_portal ON audit_log (portal, id);

CREATE TABLE board_posts (
	id          INTEGER PRIMARY KEY,
	portal_id   INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	author      TEXT    NOT NULL,
	author_name TEXT    NOT NULL,
	body        TEXT    NOT NULL,
	at          INTEGER NOT NULL
);
CREATE INDEX board_posts_portal ON board_posts (portal_id, id);
