-- Mobile-grade XMPP (SPEC §8): messages kept for agents who have no
-- session, the archive of agent-to-agent messages (XEP-0313; visitor-chat
-- history is read from chat_events, not copied here) and the agents' own
-- vCards (XEP-0054). Times are Unix milliseconds (UTC).

-- Messages to an agent with no session, delivered at the next sign-in and
-- deleted once the delivery is acknowledged. from_jid is the sender's
-- JID as stamped on the stanza; stanza is the serialized <message/>.
CREATE TABLE offline_messages (
	id         INTEGER PRIMARY KEY,
	portal_id  INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	from_jid   TEXT    NOT NULL,
	stanza     BLOB    NOT NULL CHECK (length(stanza) BETWEEN 1 AND 262144),
	created_at INTEGER NOT NULL
);
CREATE INDEX offline_messages_agent ON offline_messages (agent_id, id);

-- Each agent's archive of one-to-one messages with colleagues: one row per
-- owner, so a message between two agents is two rows with the same
-- stanza_id (the id the server gave the message). with_jid is the other
-- party's bare JID; outgoing = 1 when the owner sent it; stanza is the
-- message as routed.
CREATE TABLE archive (
	id        INTEGER PRIMARY KEY,
	portal_id INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	owner_id  INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	with_jid  TEXT    NOT NULL,
	outgoing  INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
	stanza_id TEXT    NOT NULL,
	body      TEXT    NOT NULL,
	stanza    BLOB,
	at        INTEGER NOT NULL,
	UNIQUE (owner_id, stanza_id)
);
-- A query pages through one owner's archive in (at, id) order, all of it
-- or with one party.
CREATE INDEX archive_owner_at ON archive (owner_id, at, id);
CREATE INDEX archive_owner_with ON archive (owner_id, with_jid, at, id);

-- An agent's own vCard: nickname and photo. No row: none set.
CREATE TABLE vcards (
	agent_id   INTEGER PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
	nickname   TEXT    NOT NULL DEFAULT '',
	photo_type TEXT    NOT NULL DEFAULT '',
	photo      BLOB    CHECK (photo IS NULL OR length(photo) <= 65536),
	updated_at INTEGER NOT NULL
);
