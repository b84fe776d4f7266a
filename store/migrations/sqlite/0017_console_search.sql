-- What the supervisor console searches by: the audit log by actor or by
-- action (a portal's chats in a range of dates use chats_portal_created
-- of the reports). IF NOT EXISTS: a test runs later migrations again.
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (portal, actor, id);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (portal, action, id);
