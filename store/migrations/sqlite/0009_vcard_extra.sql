-- The rest of an agent's vCard (XEP-0054): everything the agent's client
-- sent besides the nickname, the photo and what the directory owns (name,
-- address, role, organisation), kept as sent, serialized as a
-- <vCard xmlns='vcard-temp'/> element; NULL for none.
ALTER TABLE vcards ADD COLUMN extra BLOB CHECK (extra IS NULL OR length(extra) <= 32768);
