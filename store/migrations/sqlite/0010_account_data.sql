-- What agents' clients keep on the server, each row an agent's own.
--
-- Private XML storage (XEP-0049): one element per namespace and name,
-- serialized as the client sent it.
CREATE TABLE private_xml (
	agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	ns         TEXT    NOT NULL,
	local      TEXT    NOT NULL,
	xml        BLOB    NOT NULL CHECK (length(xml) <= 65536),
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (agent_id, ns, local)
) WITHOUT ROWID;

-- The blocking command (XEP-0191): the JIDs (bare or full) an agent
-- blocks.
CREATE TABLE blocklist (
	agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	jid        TEXT    NOT NULL CHECK (length(jid) BETWEEN 1 AND 3071),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (agent_id, jid)
) WITHOUT ROWID;

-- Personal eventing (XEP-0163): the items of the agent's own nodes
-- (avatars, nickname, bookmarks, …). access is 'presence' (colleagues may
-- read them) or 'whitelist' (only the agent). seq orders items by
-- publication.
CREATE TABLE pep_items (
	seq          INTEGER PRIMARY KEY,
	agent_id     INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	node         TEXT    NOT NULL CHECK (length(node) BETWEEN 1 AND 1024),
	item_id      TEXT    NOT NULL CHECK (length(item_id) BETWEEN 1 AND 1024),
	payload      BLOB    NOT NULL CHECK (length(payload) <= 131072),
	access       TEXT    NOT NULL CHECK (access IN ('presence', 'whitelist')),
	published_at INTEGER NOT NULL,
	UNIQUE (agent_id, node, item_id)
);
CREATE INDEX pep_items_node ON pep_items (agent_id, node, seq);
