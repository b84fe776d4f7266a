-- Messages kept for a session that waits to be resumed (XEP-0198) are
-- stored at once, so that nothing acknowledged to their sender lives only
-- in memory. Until that session finishes they are its own: held_for is
-- its stream management id, and an ordinary sign-in does not take them.
-- A restart releases them (no session outlives the process).
ALTER TABLE offline_messages ADD COLUMN held_for TEXT NOT NULL DEFAULT '';
