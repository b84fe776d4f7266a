-- IM channels (docs/CHANNELS.md): a portal's WhatsApp number, Telegram
-- bot, LINE account, Facebook page or Instagram account; the customers
-- who write from them; every inbound message once (by the provider's
-- message id); the outbound queue of agents' messages; WhatsApp message
-- templates. Times are Unix milliseconds (UTC).

-- public_id is the unguessable id in the webhook path /hooks/{public_id}.
-- secrets is a JSON object of the provider's secrets (tokens, app secret,
-- verify token): never printed, never logged. status is the channel's
-- state as the last provider answer left it; status_until is when a
-- rate limit ends.
CREATE TABLE channels (
	id            INTEGER PRIMARY KEY,
	public_id     TEXT    NOT NULL UNIQUE,
	portal_id     INTEGER NOT NULL REFERENCES portals(id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	name_key      TEXT    NOT NULL,
	type          TEXT    NOT NULL CHECK (type IN ('telegram', 'whatsapp', 'line', 'messenger', 'instagram')),
	department_id INTEGER REFERENCES departments(id) ON DELETE SET NULL,
	api_base      TEXT    NOT NULL DEFAULT '',
	secrets       TEXT    NOT NULL DEFAULT '{}',
	disabled      INTEGER NOT NULL DEFAULT 0,
	status        TEXT    NOT NULL DEFAULT 'ok'
	              CHECK (status IN ('ok', 'token_expired', 'rate_limited', 'provider_error')),
	status_detail TEXT    NOT NULL DEFAULT '',
	status_until  INTEGER,
	status_at     INTEGER,
	created_at    INTEGER NOT NULL,
	UNIQUE (portal_id, name_key)
);

-- A customer is one provider user of one channel. visitor_id is the
-- visitor record that stands for them in chats, the same on every chat.
-- state is what the provider told us (customer_blocked: they blocked the
-- account or unfollowed it); blocked is an agent's #b. last_inbound_at
-- opens the 24-hour reply window of WhatsApp, Messenger and Instagram;
-- reply_token is LINE's, valid a short time after reply_token_at.
CREATE TABLE channel_customers (
	id              INTEGER PRIMARY KEY,
	channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	provider_id     TEXT    NOT NULL,
	visitor_id      INTEGER NOT NULL REFERENCES visitors(id),
	name            TEXT    NOT NULL DEFAULT '',
	phone           TEXT    NOT NULL DEFAULT '',
	state           TEXT    NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'customer_blocked')),
	blocked         INTEGER NOT NULL DEFAULT 0,
	blocked_by      TEXT    NOT NULL DEFAULT '',
	blocked_reason  TEXT    NOT NULL DEFAULT '',
	last_inbound_at INTEGER,
	reply_token     TEXT    NOT NULL DEFAULT '',
	reply_token_at  INTEGER,
	created_at      INTEGER NOT NULL,
	UNIQUE (channel_id, provider_id)
);

-- Every message a customer sent, once: a provider's retry of the same
-- message id finds its row. payload is the normalized message as JSON
-- (text, attachments). chat_id and delivered_at are set, in the same
-- transaction as the chat event that shows it, when it reaches a chat, so
-- that a message stored before a crash is delivered after it, once.
CREATE TABLE channel_inbound (
	id                  INTEGER PRIMARY KEY,
	channel_id          INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	customer_id         INTEGER NOT NULL REFERENCES channel_customers(id) ON DELETE CASCADE,
	provider_message_id TEXT    NOT NULL,
	payload             TEXT    NOT NULL,
	received_at         INTEGER NOT NULL,
	chat_id             INTEGER REFERENCES chats(id) ON DELETE SET NULL,
	delivered_at        INTEGER,
	UNIQUE (channel_id, provider_message_id)
);
CREATE INDEX channel_inbound_pending ON channel_inbound (id) WHERE delivered_at IS NULL;

-- The outbound queue: an agent's message to a customer is a row, written
-- with the chat event that shows it, before it is attempted. send_key is
-- our idempotency key (LINE's X-Line-Retry-Key), the same on every
-- attempt. A customer's rows are sent in id order; pending rows wait for
-- next_attempt_at. in_flight is set while the provider is being asked (1:
-- the provider would recognise a repeat of the attempt, 2: it would not):
-- a row still in flight after a crash may or may not have been delivered.
CREATE TABLE channel_outbound (
	id                  INTEGER PRIMARY KEY,
	channel_id          INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	customer_id         INTEGER NOT NULL REFERENCES channel_customers(id) ON DELETE CASCADE,
	chat_id             INTEGER REFERENCES chats(id) ON DELETE SET NULL,
	kind                TEXT    NOT NULL CHECK (kind IN ('text', 'file', 'template')),
	payload             TEXT    NOT NULL,
	send_key            TEXT    NOT NULL UNIQUE,
	state               TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
	attempts            INTEGER NOT NULL DEFAULT 0,
	in_flight           INTEGER NOT NULL DEFAULT 0,
	next_attempt_at     INTEGER NOT NULL,
	last_error          TEXT    NOT NULL DEFAULT '',
	provider_message_id TEXT    NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	done_at             INTEGER
);
CREATE INDEX channel_outbound_pending ON channel_outbound (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX channel_outbound_customer ON channel_outbound (customer_id, id) WHERE state = 'pending';
CREATE INDEX channel_outbound_provider_id ON channel_outbound (channel_id, provider_message_id) WHERE provider_message_id <> '';

-- WhatsApp message templates as approved by Meta; only approved ones are
-- sent. body has the placeholders {{1}}, {{2}}… filled in order.
CREATE TABLE channel_templates (
	id         INTEGER PRIMARY KEY,
	channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	name       TEXT    NOT NULL,
	language   TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	status     TEXT    NOT NULL DEFAULT 'approved' CHECK (status IN ('approved', 'pending', 'rejected')),
	created_at INTEGER NOT NULL,
	UNIQUE (channel_id, name, language)
);

-- A chat with a channel customer names the channel and the customer.
ALTER TABLE chats ADD COLUMN channel_id INTEGER REFERENCES channels(id) ON DELETE SET NULL;
ALTER TABLE chats ADD COLUMN customer_id INTEGER REFERENCES channel_customers(id) ON DELETE SET NULL;
CREATE INDEX chats_customer ON chats (customer_id) WHERE customer_id IS NOT NULL;
