package channels

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Type names a provider, as a channel's settings store it.
type Type string

// The provider types.
const (
	Telegram  Type = "telegram"
	WhatsApp  Type = "whatsapp"
	LINE      Type = "line"
	Messenger Type = "messenger"
	Instagram Type = "instagram"
)

// Types lists every provider type, in a fixed order.
func Types() []Type { return []Type{Telegram, WhatsApp, LINE, Messenger, Instagram} }

// ParseType returns the Type named s, or an error naming the known ones.
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Types(), t) {
		return t, nil
	}
	return "", fmt.Errorf("channels: unknown type %q (want telegram, whatsapp, line, messenger or instagram)", s)
}

// DefaultBaseURL is the real API of each provider. The Graph API version
// is part of the base URL for WhatsApp, Messenger and Instagram.
func DefaultBaseURL(t Type) string {
	switch t {
	case Telegram:
		return "https://api.telegram.org"
	case LINE:
		return "https://api.line.me"
	case WhatsApp, Messenger, Instagram:
		return "https://graph.facebook.com/" + GraphVersion
	}
	return ""
}

// GraphVersion is the Meta Graph API version in the default base URLs.
const GraphVersion = "v23.0"

// lineDataURL is the LINE host that serves message content; a channel with
// its own base URL (a test fake) is asked there instead.
const lineDataURL = "https://api-data.line.me"

// Secrets are a channel's credentials. Which ones a type needs:
//
//	telegram              bot_token, secret_token
//	whatsapp              access_token, app_secret, verify_token
//	messenger, instagram  access_token, app_secret, verify_token
//	line                  access_token, channel_secret
//
// They print as [redacted] with fmt and slog; encoding/json writes them
// as they are, so that the store can keep them.
type Secrets struct {
	BotToken      string `json:"bot_token,omitempty"`
	SecretToken   string `json:"secret_token,omitempty"`
	AccessToken   string `json:"access_token,omitempty"`
	AppSecret     string `json:"app_secret,omitempty"`
	VerifyToken   string `json:"verify_token,omitempty"`
	ChannelSecret string `json:"channel_secret,omitempty"`
}

const redacted = "[redacted]"

func (Secrets) String() string               { return "channels.Secrets{" + redacted + "}" }
func (s Secrets) GoString() string           { return s.String() }
func (s Secrets) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue keeps the secrets out of slog output.
func (Secrets) LogValue() slog.Value { return slog.StringValue(redacted) }

// values lists the non-empty secrets, for scrubbing error texts.
func (s Secrets) values() []string {
	var v []string
	for _, x := range []string{s.BotToken, s.SecretToken, s.AccessToken, s.AppSecret, s.VerifyToken, s.ChannelSecret} {
		if x != "" {
			v = append(v, x)
		}
	}
	return v
}

// Config is what New needs to talk to one channel's provider.
type Config struct {
	Type Type
	// BaseURL is the provider's API, without a trailing slash; empty means
	// DefaultBaseURL. Tests point it at a fake.
	BaseURL string
	// PhoneNumberID is the WhatsApp business phone number messages are
	// sent from (the {phone_number_id} of the Cloud API). Other types
	// leave it empty.
	PhoneNumberID string
	Secrets       Secrets
	// Client makes every provider call; nil means a client with a 30 s
	// timeout. Its timeout bounds media downloads too.
	Client *http.Client
	// Now is the clock for Event.ReceivedAt and reply token ages; nil
	// means time.Now.
	Now func() time.Time
}

// Check says what a Config lacks for its type.
func (c Config) Check() error {
	if _, err := ParseType(string(c.Type)); err != nil {
		return err
	}
	s := c.Secrets
	var missing []string
	need := func(name, v string) {
		if v == "" {
			missing = append(missing, name)
		}
	}
	switch c.Type {
	case Telegram:
		need("bot_token", s.BotToken)
		need("secret_token", s.SecretToken)
	case LINE:
		need("access_token", s.AccessToken)
		need("channel_secret", s.ChannelSecret)
	default:
		need("access_token", s.AccessToken)
		need("app_secret", s.AppSecret)
		need("verify_token", s.VerifyToken)
	}
	if c.Type == WhatsApp && c.PhoneNumberID == "" {
		missing = append(missing, "phone_number_id")
	}
	if len(missing) > 0 {
		return fmt.Errorf("channels: %s channel needs %s", c.Type, strings.Join(missing, ", "))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("channels: base URL %q is not an http(s) URL", c.BaseURL)
		}
	}
	return nil
}

// New returns the Provider for c.Type, or the error of c.Check.
func New(c Config) (Provider, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL(c.Type)
	}
	cl := newClient(c, base)
	switch c.Type {
	case Telegram:
		return &telegram{client: cl}, nil
	case WhatsApp:
		return &whatsApp{client: cl, phoneID: c.PhoneNumberID}, nil
	case LINE:
		data := lineDataURL
		if c.BaseURL != "" {
			data = base
		}
		return &line{client: cl, dataURL: data}, nil
	default:
		return &meta{client: cl}, nil
	}
}

// Provider is one channel's provider: its webhook on the way in, its API
// on the way out. It is safe for concurrent use.
//
// Every method that calls the provider returns a *Failure as its error.
type Provider interface {
	Type() Type

	// Handshake answers the provider's GET subscription check (WhatsApp,
	// Messenger, Instagram: hub.mode, hub.verify_token, hub.challenge)
	// with the challenge to write back with status 200. A wrong mode or
	// verify token is ErrForbidden (403); Telegram and LINE have no
	// handshake (errors.ErrUnsupported, 405).
	Handshake(query url.Values) (challenge string, err error)

	// Webhook verifies a POST (header and raw body) and only then parses
	// it. A missing or wrong secret or signature is ErrUnauthorized (401)
	// and nothing is parsed; a body over MaxWebhookBody is ErrTooLarge;
	// a verified body that is not the provider's JSON, or has more than
	// MaxEvents events, is ErrBadPayload. Kinds of events this package
	// does not know are skipped. WebhookStatus maps the error to the
	// HTTP status to answer.
	Webhook(header http.Header, body []byte) ([]Event, error)

	// Send delivers one agent message: text, a file by URL, or (WhatsApp)
	// a template.
	Send(ctx context.Context, m Message) (Result, error)

	// Typing shows the customer that the agent is typing: Telegram
	// sendChatAction, LINE loading animation, Messenger and Instagram
	// typing_on. WhatsApp has none here and returns nil.
	Typing(ctx context.Context, to string) error

	// Profile looks up a customer's display name where webhooks do not
	// carry it (LINE, Messenger, Instagram); Telegram and WhatsApp give
	// the name in every message and return errors.ErrUnsupported.
	Profile(ctx context.Context, userID string) (Profile, error)

	// Fetch downloads a customer's file. The body stops with
	// ErrFileTooLarge past max bytes (max <= 0 means DefaultMaxMedia);
	// the caller closes it.
	Fetch(ctx context.Context, a Attachment, max int64) (*Media, error)

	// Check calls the provider with the channel's token (Telegram getMe,
	// WhatsApp phone number, LINE bot info, Meta /me) and says whose
	// account it is.
	Check(ctx context.Context) (Account, error)

	// Register tells the provider the channel's webhook URL. Telegram
	// pushes updates only to a URL given to setWebhook: Register sends it
	// with the channel's secret token (which Telegram then puts in the
	// X-Telegram-Bot-Api-Secret-Token header of every webhook),
	// allowed_updates ["message"] (the only updates Webhook reads) and
	// drop_pending_updates false (what customers wrote meanwhile is still
	// delivered); calling it again with the same URL is harmless.
	// WhatsApp, Messenger, Instagram and LINE take the URL in their
	// consoles (Meta's app dashboard, the LINE Developers console) and
	// return errors.ErrUnsupported: an administrator enters it there.
	// Telegram refuses a URL that is not https with a ProviderError.
	Register(ctx context.Context, webhookURL string) error

	// Unregister removes the webhook registration, for a channel that is
	// removed: Telegram deleteWebhook (drop_pending_updates false), after
	// which the bot's updates wait at Telegram, unread, for up to 24
	// hours. The others return errors.ErrUnsupported: an administrator
	// removes the URL in the provider's console.
	Unregister(ctx context.Context) error
}

// Limits of webhook parsing and of downloads.
const (
	// MaxWebhookBody is the largest webhook body accepted. The HTTP layer
	// reads at most this much (http.MaxBytesReader) before calling Webhook.
	MaxWebhookBody = 2 << 20
	// MaxEvents bounds the events of one webhook (Meta batches at most
	// 1000 changes; LINE and Telegram send far fewer).
	MaxEvents = 1000
	// MaxAttachments bounds the files kept from one customer message.
	MaxAttachments = 20
	// MaxText bounds the text kept from one message, in bytes.
	MaxText = 16 << 10
	// DefaultMaxMedia is Fetch's limit when the caller gives none: the
	// 20 MB the Telegram Bot API lets bots download.
	DefaultMaxMedia = 20 << 20
)

// EventKind says what an inbound Event is.
type EventKind string

// The kinds of inbound events.
const (
	EventMessage  EventKind = "message"  // a customer's message
	EventFollow   EventKind = "follow"   // LINE: added as a friend, or unblocked
	EventUnfollow EventKind = "unfollow" // LINE: blocked; pushes are not delivered until a follow
	EventStatus   EventKind = "status"   // WhatsApp: delivery status of a message we sent
)

// Event is one normalized inbound event.
type Event struct {
	Kind EventKind
	// UserID is the customer: Telegram chat id, WhatsApp wa_id, LINE
	// userId, Messenger PSID, Instagram IGSID. It is Message.To on replies.
	UserID string
	// Name is the display name when the payload carries it.
	Name string
	// Phone is the WhatsApp number the message came from.
	Phone string
	// MessageID identifies the event within the channel; a provider's
	// retry of the same webhook repeats it, so it is the dedupe key.
	MessageID   string
	Text        string
	Attachments []Attachment
	// Time is when the provider says the event happened; ReceivedAt is
	// when Webhook parsed it.
	Time       time.Time
	ReceivedAt time.Time
	// ReplyToken is LINE's token for a free reply; see UseReplyToken.
	ReplyToken string
	// Status is set for EventStatus.
	Status *Status
}

// Attachment is a customer's file, as a reference for Fetch.
type Attachment struct {
	Kind string // image, video, audio, file or sticker
	// ID is the provider's reference: Telegram file_id, WhatsApp media
	// id, LINE message id. URL is set instead where the payload carries
	// the file's address (Messenger, Instagram, LINE external content).
	ID   string
	URL  string
	MIME string
	Name string
	Size int64 // 0 when unknown
}

// Status is a delivery report for a message we sent.
type Status struct {
	MessageID string // the provider's id of our message (Result.MessageID)
	State     string // sent, delivered, read or failed
	Failure   *Failure
}

// Message is an agent's message to a customer. Exactly one of Text (alone),
// File (Text is then its caption) or Template is the content.
type Message struct {
	To       string
	Text     string
	File     *File
	Template *Template
	// SendID is the caller's id of this agent message, the same on every
	// retry. LINE pushes carry it as X-Line-Retry-Key (a UUID is used as
	// it is, anything else is turned into a UUID derived from it), so that
	// a retry of an accepted push is not delivered twice. LINE keeps retry
	// keys for 24 hours. The other providers have no idempotency key.
	SendID string
	// ReplyToken and ReplyTokenAt (Event.ReplyToken and Event.ReceivedAt)
	// let LINE reply for free while UseReplyToken says the token is fresh;
	// otherwise, or when LINE refuses the token, the message is pushed.
	// A token is good for one reply: pass it on the first attempt of the
	// first answer to that message only.
	ReplyToken   string
	ReplyTokenAt time.Time
	// QuickReplies are answers the customer can tap instead of typing
	// (at most MaxQuickReplies of at most QuickReplyMax characters), with
	// a text message: Telegram shows them as a reply keyboard that hides
	// once used, LINE as quick reply buttons, Messenger and Instagram as
	// quick_replies. A tap sends the answer's text as the customer's
	// message. WhatsApp sends the text alone.
	QuickReplies []string
}

// Limits of quick replies: LINE, Messenger and Instagram show at most 13,
// and cut labels longer than 20 characters.
const (
	MaxQuickReplies = 13
	QuickReplyMax   = 20
)

// File is an agent's file, by an HTTPS URL the provider fetches.
type File struct {
	URL  string
	Name string
	MIME string
	// PreviewURL is LINE's preview image; empty means URL.
	PreviewURL string
}

// Template is a WhatsApp message template: its name, language code and
// the body parameters {{1}}, {{2}}… in order.
type Template struct {
	Name     string
	Language string
	Params   []string
}

// Result is a delivered message.
type Result struct {
	// MessageID is the provider's id of the message; WhatsApp status
	// events refer to it. It may be empty after a LINE 409.
	MessageID string
	// Replied is true when LINE took the message as a (free) reply.
	Replied bool
	// Duplicate is true when LINE answered 409: the retry key was already
	// accepted, so an earlier attempt delivered this message.
	Duplicate bool
}

// Media is a downloaded customer file.
type Media struct {
	Body io.ReadCloser
	MIME string
	Name string
	Size int64 // -1 when the provider did not say
}

// Profile is what a provider tells of a customer.
type Profile struct {
	Name string
}

// Account is whom a channel's token belongs to.
type Account struct {
	ID   string
	Name string
}
