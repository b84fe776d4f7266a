-- What the supervisor console searches by: a portal's chats in a range
-- of dates, newest first, and the audit log by actor or by action.
CREATE INDEX chats_portal_created ON chats (portal_id, created_at);
CREATE INDEX audit_log_actor ON audit_log (portal, actor, id);
CREATE INDEX audit_log_action ON audit_log (portal, action, id);
