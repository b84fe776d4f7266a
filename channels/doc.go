// Package channels speaks the wire protocols of the messaging providers
// customers write from: Telegram, WhatsApp, LINE, Facebook Messenger and
// Instagram. It knows nothing of the store, the chat engine or HTTP
// routing: the webhook handler gives it a request's header and body and
// gets normalized events back; the outbound worker gives it an agent's
// message and gets the provider's message id or a typed *Failure.
//
// # Using it
//
//	p, err := channels.New(channels.Config{Type: channels.LINE, Secrets: s, BaseURL: setting})
//
//	// GET /hooks/{id}: Meta's subscription check
//	challenge, err := p.Handshake(r.URL.Query()) // write it as text/plain, or WebhookStatus(err)
//
//	// POST /hooks/{id}
//	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, channels.MaxWebhookBody))
//	events, err := p.Webhook(r.Header, body) // store them, then answer 200; else WebhookStatus(err)
//
//	// where the provider delivers webhooks: Telegram setWebhook;
//	// errors.ErrUnsupported where an administrator enters it in a console
//	err = p.Register(ctx, "https://desk.example.com/hooks/"+id)
//
//	// outbound
//	res, err := p.Send(ctx, channels.Message{To: e.UserID, Text: "Hello", SendID: id})
//	if f := channels.AsFailure(err); f != nil && f.Retryable() { retry after max(f.RetryAfter, backoff) }
//
// # Providers and the documentation followed
//
//   - telegram: Telegram Bot API, core.telegram.org/bots/api (setWebhook
//     secret_token and its X-Telegram-Bot-Api-Secret-Token header, Update,
//     Message, sendMessage, sendPhoto, sendDocument, sendChatAction,
//     getFile and /file/bot<token>/<file_path>, getMe, the ok/error_code/
//     description/parameters.retry_after answer, "Sending files").
//   - whatsapp: WhatsApp Cloud API, developers.facebook.com/docs/whatsapp
//     and Meta's OpenAPI specification (github.com/facebook/openapi,
//     business-messaging-api_v23.0.yaml): webhook payloads for messages,
//     contacts and statuses, POST /{phone_number_id}/messages, media
//     retrieval by id, and the Cloud API error codes.
//   - line: LINE Messaging API, developers.line.biz/en/reference/messaging-api
//     and github.com/line/line-openapi (messaging-api.yml, webhook.yml):
//     x-line-signature, message/follow/unfollow events, reply, push with
//     X-Line-Retry-Key and its 409, profile, content on api-data.line.me,
//     the loading animation; "Retry failed API requests" for retry keys.
//   - messenger, instagram: Messenger Platform webhooks and Send API,
//     developers.facebook.com/docs/messenger-platform (messages webhook
//     event, Send API with messaging_type RESPONSE, sender actions, User
//     Profile API, Send API error codes), and the Instagram messaging
//     errors (code 10 subcode 2534022 outside the window).
//
// The Graph API version is part of the base URL (GraphVersion). Each
// channel's base URL is a setting so that tests and staging point it at a
// fake; for LINE, a channel with its own base URL is asked for message
// content there too, instead of api-data.line.me.
//
// # Invariants
//
//   - Verify before parse. Webhook checks the secret header or the HMAC
//     signature over the raw body, in constant time, before it decodes a
//     byte; a request that fails is ErrUnauthorized (401), and a wrong
//     verify token on Meta's GET handshake is ErrForbidden (403).
//   - Secrets never print. Secrets format as [redacted] with fmt and slog;
//     every error text is scrubbed of them, including the net/http errors
//     that quote a Telegram URL with the bot token in its path; a
//     *Failure unwraps to nothing but context errors.
//   - Bounded parsing. A webhook body is at most MaxWebhookBody bytes, with
//     at most MaxEvents events; texts, names and ids are cut to sane
//     lengths; downloads stop at the caller's limit. Event kinds the
//     package does not know are skipped, not errors.
//   - One error type. Every provider call fails with a *Failure whose Kind
//     says what to do: token_expired, customer_blocked, outside_window,
//     rate_limited (RetryAfter), provider_error (Code, Text) or temporary.
//
// channels/channelstest has fake provider servers, built from the same
// documentation, for tests here and in the packages that use this one.
package channels
