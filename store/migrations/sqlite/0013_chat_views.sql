-- The views of a portal's chats (docs/CHATS.md §11): mine, unassigned,
-- active, live, ended, blocked, all; whether an agent answered the
-- customer's last message; by channel.

-- last_message_from is who wrote the chat's last message: 'visitor' (the
-- web visitor or the channel customer), 'agent', or '' before anyone
-- wrote. Kept by the store as messages are appended, so that replied and
-- unreplied are a column, not a search of each chat's events.
ALTER TABLE chats ADD COLUMN last_message_from TEXT NOT NULL DEFAULT ''
	CHECK (last_message_from IN ('', 'visitor', 'agent'));
UPDATE chats SET last_message_from = coalesce((SELECT e.author_kind FROM chat_events e
	WHERE e.chat_id = chats.id AND e.type IN ('message', 'visitor_message') AND e.author_kind IN ('visitor', 'agent')
	ORDER BY e.seq DESC LIMIT 1), '');

-- A channel's chats, newest first (the channel filter).
CREATE INDEX chats_channel ON chats (channel_id, number) WHERE channel_id IS NOT NULL;
-- The blocked view: the few blocked customers.
CREATE INDEX channel_customers_blocked ON channel_customers (id) WHERE blocked = 1;
