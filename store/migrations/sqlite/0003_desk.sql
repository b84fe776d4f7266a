-- Storage for the agents' hash commands (SPEC §4, §5.1): blocked visitor
-- IP addresses, notes on visitors and canned responses. Times are Unix
-- milliseconds (UTC).

-- ip is the address's canonical text form (IPv4-mapped IPv6 addresses as
-- IPv4, IPv6 compressed and lowercase), so that one address is one row.
-- blocked_by is the agent's username, or 'cli'. chat_id is the chat the
-- block was made from, NULL when none (or when that chat is gone).
CREATE TABLE blocked_ips (
	id         INTEGER PRIMARY KEY,
	portal_id  INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	ip         TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	blocked_by TEXT    NOT NULL,
	chat_id    INTEGER REFERENCES chats(id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (portal_id, ip)
);
CREATE INDEX blocked_ips_chat ON blocked_ips (chat_id) WHERE chat_id IS NOT NULL;

-- Notes agents add to a visitor (#an), shown in every later chat of the
-- same visitor (#n). author is the agent's username and author_name their
-- display name, both as they were when the note was written.
CREATE TABLE visitor_notes (
	id          INTEGER PRIMARY KEY,
	portal_id   INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	visitor_id  INTEGER NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
	chat_id     INTEGER REFERENCES chats(id) ON DELETE SET NULL,
	author      TEXT    NOT NULL,
	author_name TEXT    NOT NULL,
	text        TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX visitor_notes_visitor ON visitor_notes (visitor_id, id);
CREATE INDEX visitor_notes_chat ON visitor_notes (chat_id) WHERE chat_id IS NOT NULL;

-- Canned responses (#r). department_id NULL: for every department of the
-- portal. shortcut_key is the lowercased shortcut; a shortcut is unique per
-- portal and department, the portal-wide ones included (NULLs never
-- collide in a UNIQUE constraint, hence the expression index).
CREATE TABLE canned_responses (
	id            INTEGER PRIMARY KEY,
	portal_id     INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	department_id INTEGER REFERENCES departments(id) ON DELETE CASCADE,
	shortcut      TEXT    NOT NULL,
	shortcut_key  TEXT    NOT NULL,
	category      TEXT    NOT NULL DEFAULT 'General',
	text          TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_responses_key ON canned_responses (portal_id, COALESCE(department_id, 0), shortcut_key);
CREATE INDEX canned_responses_department ON canned_responses (department_id) WHERE department_id IS NOT NULL;
