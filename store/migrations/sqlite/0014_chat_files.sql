-- Files in chats: besides the files agents upload (XEP-0363), the upload
-- store keeps the files web visitors attach to a chat and the files
-- channel customers send, fetched from their provider. A slot belongs to
-- at most one of an agent, a chat (a web visitor's file) or a channel
-- customer; each of them has its own quota. A customer's files stay
-- when the customer goes (the channel was removed): the chats that show
-- them are kept too. SQLite cannot relax a NOT NULL column in place, so
-- the table is made again with what it held.
CREATE TABLE upload_slots_new (
	id           TEXT    PRIMARY KEY,
	portal_id    INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	agent_id     INTEGER REFERENCES agents(id) ON DELETE CASCADE,
	chat_id      INTEGER REFERENCES chats(id) ON DELETE CASCADE,
	customer_id  INTEGER REFERENCES channel_customers(id) ON DELETE SET NULL,
	filename     TEXT    NOT NULL CHECK (length(CAST(filename AS BLOB)) BETWEEN 1 AND 200),
	size         INTEGER NOT NULL CHECK (size >= 0),
	content_type TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL CHECK (expires_at > created_at),
	uploaded_at  INTEGER,
	CHECK ((agent_id IS NOT NULL) + (chat_id IS NOT NULL) + (customer_id IS NOT NULL) <= 1)
) WITHOUT ROWID;
INSERT INTO upload_slots_new (id, portal_id, agent_id, filename, size, content_type, created_at, expires_at, uploaded_at)
	SELECT id, portal_id, agent_id, filename, size, content_type, created_at, expires_at, uploaded_at FROM upload_slots;
DROP TABLE upload_slots;
ALTER TABLE upload_slots_new RENAME TO upload_slots;
-- The quotas sum an owner's uploaded slots and pending unexpired ones.
CREATE INDEX upload_slots_agent ON upload_slots (agent_id, expires_at);
CREATE INDEX upload_slots_chat ON upload_slots (chat_id) WHERE chat_id IS NOT NULL;
CREATE INDEX upload_slots_customer ON upload_slots (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX upload_slots_portal ON upload_slots (portal_id);
