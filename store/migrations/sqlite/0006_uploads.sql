-- HTTP File Upload (XEP-0363): the upload slots handed to agents. Times
-- are Unix milliseconds (UTC). id is random (160 bits, lowercase base32)
-- and is both the unguessable part of the PUT/GET URL and the name of the
-- file under the upload directory; filename is the sanitised name the
-- file is served under (never used on disk). The PUT must start before
-- expires_at; uploaded_at is NULL until the file is completely stored.
CREATE TABLE upload_slots (
	id           TEXT    PRIMARY KEY,
	portal_id    INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	agent_id     INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	filename     TEXT    NOT NULL CHECK (length(CAST(filename AS BLOB)) BETWEEN 1 AND 200),
	size         INTEGER NOT NULL CHECK (size >= 0),
	content_type TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL CHECK (expires_at > created_at),
	uploaded_at  INTEGER
) WITHOUT ROWID;
-- The quota sums an agent's uploaded slots and pending unexpired ones.
CREATE INDEX upload_slots_agent ON upload_slots (agent_id, expires_at);
CREATE INDEX upload_slots_portal ON upload_slots (portal_id);
