-- The archive of messages between agents keeps one row per message
-- instead of one per agent: from_id and to_id are the sender and the
-- recipient (NULL once that agent is removed, or for a message archived
-- for one side only), from_jid and to_jid their bare JIDs as routed ('' when
-- not known). An agent's archive is the rows they sent and the rows they
-- received; a message to oneself is one row with to_id NULL.
-- Migrated pairs keep the id of the sender's row (the recipient's archive
-- ids change; stanza ids stay), unpaired rows keep theirs.
CREATE INDEX archive_pairing ON archive (stanza_id, outgoing, portal_id);

CREATE TEMP TABLE archive_pairs AS
	SELECT o.id AS out_id,
		(SELECT min(i.id) FROM archive i
			WHERE i.stanza_id = o.stanza_id AND i.outgoing = 0 AND i.portal_id = o.portal_id
				AND i.owner_id <> o.owner_id AND i.at = o.at) AS in_id
	FROM archive o WHERE o.outgoing = 1;

CREATE TABLE archive_messages (
	id        INTEGER PRIMARY KEY,
	portal_id INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	from_id   INTEGER REFERENCES agents(id) ON DELETE SET NULL,
	to_id     INTEGER REFERENCES agents(id) ON DELETE SET NULL,
	from_jid  TEXT    NOT NULL,
	to_jid    TEXT    NOT NULL,
	stanza_id TEXT    NOT NULL,
	body      TEXT    NOT NULL,
	stanza    BLOB,
	at        INTEGER NOT NULL
);

INSERT INTO archive_messages (id, portal_id, from_id, to_id, from_jid, to_jid, stanza_id, body, stanza, at)
	SELECT o.id, o.portal_id, o.owner_id, i.owner_id, coalesce(i.with_jid, ''), o.with_jid, o.stanza_id, o.body, o.stanza, o.at
	FROM archive_pairs p JOIN archive o ON o.id = p.out_id LEFT JOIN archive i ON i.id = p.in_id;

INSERT INTO archive_messages (id, portal_id, from_id, to_id, from_jid, to_jid, stanza_id, body, stanza, at)
	SELECT i.id, i.portal_id, NULL, i.owner_id, i.with_jid, '', i.stanza_id, i.body, i.stanza, i.at
	FROM archive i WHERE i.outgoing = 0
		AND i.id NOT IN (SELECT in_id FROM archive_pairs WHERE in_id IS NOT NULL);

DROP TABLE archive_pairs;
DROP TABLE archive;
ALTER TABLE archive_messages RENAME TO archive;

-- A query pages through the rows an agent sent and those they received,
-- each in (at, id) order, all of them or with one party; a client's
-- cursor may be a stanza id.
CREATE INDEX archive_from_at ON archive (from_id, at, id);
CREATE INDEX archive_to_at ON archive (to_id, at, id);
CREATE INDEX archive_from_with ON archive (from_id, to_jid, at, id);
CREATE INDEX archive_to_with ON archive (to_id, from_jid, at, id);
CREATE INDEX archive_stanza_id ON archive (stanza_id);
