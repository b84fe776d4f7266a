-- The helpdesk (SPEC §5): accounts with their SLA, contacts, tickets with
-- their threads and linked chats, per-portal settings (automatic
-- conversion, §5.2) and the chats flagged because they could not be
-- converted. Times are Unix milliseconds (UTC); nullable times are NULL
-- until the thing happens. The *_key columns are the lowercased text
-- (Unicode-aware, computed by the program) that is unique or searched.

-- response_hours and resolution_hours: 0 means none.
CREATE TABLE accounts (
	id               INTEGER PRIMARY KEY,
	portal_id        INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	name             TEXT    NOT NULL,
	name_key         TEXT    NOT NULL,
	sla_name         TEXT    NOT NULL DEFAULT '',
	response_hours   INTEGER NOT NULL DEFAULT 0 CHECK (response_hours >= 0),
	resolution_hours INTEGER NOT NULL DEFAULT 0 CHECK (resolution_hours >= 0),
	contract_name    TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	UNIQUE (portal_id, name_key)
);

-- A contact is one per portal and email (ignoring case). owner is an
-- agent's username ('' for none), kept as text when the agent goes.
CREATE TABLE contacts (
	id         INTEGER PRIMARY KEY,
	portal_id  INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	name       TEXT    NOT NULL DEFAULT '',
	name_key   TEXT    NOT NULL DEFAULT '',
	email      TEXT    NOT NULL,
	email_key  TEXT    NOT NULL,
	phone      TEXT    NOT NULL DEFAULT '',
	account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	owner      TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (portal_id, email_key)
);
CREATE INDEX contacts_account ON contacts (account_id) WHERE account_id IS NOT NULL;

-- next_number is the number the portal's next ticket gets; the row is
-- created with the portal's first ticket, which gets #1.
CREATE TABLE ticket_counters (
	portal_id   INTEGER PRIMARY KEY REFERENCES portals(id) ON DELETE CASCADE,
	next_number INTEGER NOT NULL DEFAULT 1
);

-- priority 0 none, 1 low, 2 medium, 3 high; status 0 open, 1 on hold,
-- 2 escalated, 3 closed; classification 0 none, 1 question, 2 problem,
-- 3 feature, 4 others. department is the department's name. missed = 1:
-- made from a missed chat (the Missed chats view). due_at is created_at
-- plus the resolution hours of the contact's account, NULL for none.
CREATE TABLE tickets (
	id             INTEGER PRIMARY KEY,
	portal_id      INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	number         INTEGER NOT NULL,
	subject        TEXT    NOT NULL,
	subject_key    TEXT    NOT NULL,
	contact_id     INTEGER NOT NULL REFERENCES contacts(id),
	department     TEXT    NOT NULL DEFAULT '',
	priority       INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
	status         INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 3),
	classification INTEGER NOT NULL DEFAULT 0 CHECK (classification BETWEEN 0 AND 4),
	channel        TEXT    NOT NULL DEFAULT 'chat' CHECK (channel IN ('chat', 'cli')),
	missed         INTEGER NOT NULL DEFAULT 0 CHECK (missed IN (0, 1)),
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	due_at         INTEGER,
	UNIQUE (portal_id, number)
);
-- The views, each newest first without sorting: open (status <> 3),
-- closed and missed; "all" uses the UNIQUE index.
CREATE INDEX tickets_open ON tickets (portal_id, number) WHERE status <> 3;
CREATE INDEX tickets_status ON tickets (portal_id, status, number);
CREATE INDEX tickets_missed ON tickets (portal_id, number) WHERE missed = 1;
CREATE INDEX tickets_contact ON tickets (contact_id, number);

-- The chats linked to a ticket; a chat belongs to at most one ticket.
CREATE TABLE ticket_chats (
	ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
	chat_id   INTEGER NOT NULL UNIQUE REFERENCES chats(id) ON DELETE CASCADE,
	PRIMARY KEY (ticket_id, chat_id)
) WITHOUT ROWID;

-- A ticket's thread: chat transcripts (chat_id set; the body is replaced
-- with the full transcript when the chat ends), notes and status changes.
-- author is the agent's username, or '' / 'cli'.
CREATE TABLE ticket_threads (
	id         INTEGER PRIMARY KEY,
	ticket_id  INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
	kind       TEXT    NOT NULL CHECK (kind IN ('transcript', 'note', 'status')),
	chat_id    INTEGER REFERENCES chats(id) ON DELETE SET NULL,
	author     TEXT    NOT NULL DEFAULT '',
	body       TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX ticket_threads_ticket ON ticket_threads (ticket_id, id);
CREATE INDEX ticket_threads_chat ON ticket_threads (chat_id) WHERE chat_id IS NOT NULL;

-- Per-portal settings; a key that is not here has its default.
CREATE TABLE portal_settings (
	portal_id INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	key       TEXT    NOT NULL,
	value     TEXT    NOT NULL,
	PRIMARY KEY (portal_id, key)
) WITHOUT ROWID;

-- Chats that could not be converted automatically (the visitor has no
-- email); resolved_at is set when the chat gets a ticket.
CREATE TABLE flagged_chats (
	chat_id     INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
	portal_id   INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	reason      TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	resolved_at INTEGER
);
CREATE INDEX flagged_chats_open ON flagged_chats (portal_id, created_at, chat_id) WHERE resolved_at IS NULL;
