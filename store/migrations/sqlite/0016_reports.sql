-- Reports (docs/REPORTS.md): agents' presence changes, chat ratings, and
-- the indexes that let a report read one period's chats in one pass.
-- Times are Unix milliseconds (UTC). It can run again on a database that
-- has it (a test of an earlier migration winds the version back).

-- An agent's availability for routing, one row each time it changes
-- (xmppd writes them in batches; a crash may lose the last second).
-- state holds from at until the agent's next row; after a restart every
-- agent is offline until they sign in.
CREATE TABLE IF NOT EXISTS agent_presence (
	id         INTEGER PRIMARY KEY,
	portal_id  INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	state      TEXT    NOT NULL CHECK (state IN ('online', 'away', 'busy', 'offline')),
	at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_presence_portal ON agent_presence (portal_id, at);
CREATE INDEX IF NOT EXISTS agent_presence_agent ON agent_presence (agent_id, at);

-- A period's chats in the order they started; a visitor's chats in the
-- same order (their first chat, the one before a chat).
CREATE INDEX IF NOT EXISTS chats_portal_created ON chats (portal_id, created_at);
CREATE INDEX IF NOT EXISTS chats_visitor_created ON chats (visitor_id, created_at);

-- What reports read of a chat that is over, so that they need not read
-- its events, agents and offers again: the packed lists of store's
-- report.go (messages "AT AUTHOR", AUTHOR empty for the visitor's;
-- agents "AT ROLE USERNAME"; offers "AT ANSWERED_AT|n KIND ANSWER|-
-- USERNAME"; times in milliseconds after the chat's start), and how often
-- it was reopened. Written when the chat ends or is missed; a message
-- stored after that (a blocked customer's) or the chat reopened removes
-- it. Offers withdrawn as the chat ends stay pending in it.
CREATE TABLE IF NOT EXISTS chat_digests (
	chat_id  INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
	messages TEXT    NOT NULL,
	agents   TEXT    NOT NULL,
	offers   TEXT    NOT NULL,
	reopened INTEGER NOT NULL
);
INSERT OR REPLACE INTO chat_digests (chat_id, messages, agents, offers, reopened)
	SELECT c.id,
		coalesce((SELECT group_concat((e.at - c.created_at) || ' ' || e.author, ',' ORDER BY e.seq)
			FROM chat_events e WHERE e.chat_id = c.id AND e.type IN ('visitor_message', 'message')), ''),
		coalesce((SELECT group_concat((a.joined_at - c.created_at) || ' ' || a.role || ' ' || a.agent_username, ',' ORDER BY a.joined_at)
			FROM chat_agents a WHERE a.chat_id = c.id), ''),
		coalesce((SELECT group_concat((o.offered_at - c.created_at) || ' ' || coalesce(o.answered_at - c.created_at, 'n') || ' ' ||
				o.kind || ' ' || coalesce(nullif(o.answer, ''), '-') || ' ' || o.agent_username, ',' ORDER BY o.id)
			FROM chat_offers o WHERE o.chat_id = c.id), ''),
		(SELECT count(*) FROM chat_events e WHERE e.chat_id = c.id AND e.type = 'reopened')
	FROM chats c WHERE c.status IN ('ended', 'missed');
