-- Ratings (docs/CHATS.md §7.5): when a chat an agent took part in ends,
-- the visitor (the widget) or the channel customer (a message) is asked
-- for 1 to 5 stars and an optional comment. A chat is rated once.
-- source says where the rating came from; at is Unix milliseconds (UTC).
CREATE TABLE IF NOT EXISTS chat_ratings (
	chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
	stars   INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
	comment TEXT    NOT NULL DEFAULT '',
	at      INTEGER NOT NULL,
	source  TEXT    NOT NULL CHECK (source IN ('widget', 'channel'))
);
