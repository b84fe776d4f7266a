// Package im connects the portals' IM channels — WhatsApp, Telegram, LINE,
// Facebook Messenger and Instagram (docs/CHANNELS.md) — to the chat
// engine, the way bridge/web connects web visitors: a channel customer is
// a visitor to the rest of the system.
//
//   - Inbound: the webhook /hooks/{channel id} on the HTTP listener
//     verifies the provider's signature or secret before it parses
//     anything (package channels), stores every customer message once
//     (the provider's message id is the key), and only then answers 200.
//     A dispatcher fetches the files a message has into the upload store,
//     recording each on the stored message (files.go), then hands it to
//     the engine, which shows it in a chat exactly once
//     (store.ErrDelivered), also after a crash.
//   - Outbound: an agent's message to a customer is queued in the
//     transaction that shows it in the chat (store.ChatEvent.Outbound). A
//     worker sends each customer's messages in order, retries with backoff
//     on rate limits, 5xx and network errors (honouring the provider's
//     retry-after), and never sends one twice: a row is marked in flight
//     while the provider is asked, and one found in flight after a crash
//     is sent again only where the provider recognises our send key
//     (LINE); elsewhere the agent is told that delivery is uncertain.
//   - Webhook registration: Telegram pushes updates only to a URL given
//     to setWebhook, so Run registers every enabled Telegram channel's
//     webhook URL (Config.PublicURL + /hooks/{id}) at start, trying
//     again while the failure may pass, and ChannelChanged registers a
//     channel again when the CLI adds or changes it. The other providers
//     take the URL in their consoles (channel show prints it).
//   - Failures become one line in the agents' chat window and the
//     channel's or customer's state (store.ChannelStatus, CustomerState),
//     and a Prometheus counter per channel and outcome.
//   - Several nodes: webhooks land on any node and store what they bring
//     there, but the dispatcher and the sender work through the stored
//     queues on exactly one node at a time (RunQueues; two would deliver
//     and send twice). Each node runs RunTyping, for the chats it runs,
//     and Config.Notify carries "something was queued" to the node that
//     runs the queues, which Poke wakes (docs/CLUSTER.md).
//
// Secrets never reach a log line, an error text or a response.
package im

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"jabberdesk/channels"
	"jabberdesk/store"
	"jabberdesk/uploads"
)

// Desk is what the IM channels need of the chat engine.
type Desk interface {
	// CustomerMessage shows a stored customer message in the customer's
	// live chat, or starts a chat with it; store.ErrDelivered if it was
	// shown before.
	CustomerMessage(ctx context.Context, in store.Inbound) error
	// TellChat puts a server line in the windows of a chat's agents (a
	// live chat; nothing otherwise).
	TellChat(chatID int64, line string)
}

// Config configures a Service.
type Config struct {
	Store *store.Store
	Desk  Desk
	// Files is the upload store customers' files are fetched into before
	// their message is delivered; nil: they are not, and agents are told.
	Files *uploads.Store
	// Client makes the provider calls; nil means a client with a 30 s
	// timeout.
	Client *http.Client
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Backoff is the wait before attempt n+1 of a message that failed n
	// times without the provider saying how long to wait; nil means
	// DefaultBackoff.
	Backoff func(n int) time.Duration
	// MaxAttempts ends retries of a message that keeps failing
	// temporarily (default 30: with DefaultBackoff about a day).
	MaxAttempts int
	// PublicURL is the HTTPS address providers reach the HTTP listener
	// at (http.public_url); a channel's webhook URL is PublicURL +
	// "/hooks/" + its public id, which Run registers with Telegram.
	PublicURL string
	// InboundRetry is the wait before stored customer messages that
	// could not be delivered (or whose files could not be fetched yet)
	// are tried again (default 5 s).
	InboundRetry time.Duration
	// Notify, if set, is told that something was queued on this node:
	// a customer message a webhook stored (Inbound), an agent message for
	// a customer (Outbound). With several nodes only one runs the queues
	// (RunQueues): the others pass it on to that one, which Pokes its
	// own. This node's worker, if it runs here, is woken in any case.
	Notify func(q Queue)
}

// Queue is one of the stored queues that RunQueues works through.
type Queue string

// The queues.
const (
	Inbound  Queue = "inbound"  // customer messages to deliver to the engine
	Outbound Queue = "outbound" // agent messages to send to customers
)

// DefaultBackoff doubles from 2 s up to an hour.
func DefaultBackoff(n int) time.Duration {
	d := 2 * time.Second
	for i := 0; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Service runs the channels of every portal.
type Service struct {
	cfg Config
	st  *store.Store
	log *slog.Logger

	inbound       chan struct{} // a customer message was stored
	outbound      chan struct{} // an agent message was queued
	registrations chan struct{} // a webhook registration is to be tried again
	typing        chan typingReq

	mu         sync.Mutex
	providers  map[int64]cachedProvider // by channel id
	counts     map[countKey]int64       // sends by channel and outcome
	typed      map[int64]time.Time      // by customer: when they were last shown typing
	askedName  map[int64]time.Time      // by customer: when their name was last looked up
	regRetries map[int64]regRetry       // webhook registrations to try again, by channel id

	// Sends under way (outbound.go), guarded by mu.
	busyCustomers map[int64]bool // by customer id
	busyChannels  map[int64]int  // by channel id: how many
	// ended are the customers whose send ended since the outbound worker
	// last listed what is due: that list may show their message as it was
	// before the send.
	ended   map[int64]bool
	sending sync.WaitGroup
	// listed, when set (tests), runs after each pass of the outbound
	// worker has listed what is due.
	listed func(due []store.Outbound)
}

type cachedProvider struct {
	fingerprint string
	p           channels.Provider
}

type countKey struct {
	Portal, Channel, Outcome string
}

// New makes a Service; Run starts its work.
func New(cfg Config) *Service {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 30
	}
	if cfg.InboundRetry <= 0 {
		cfg.InboundRetry = 5 * time.Second
	}
	return &Service{cfg: cfg, st: cfg.Store, log: cfg.Logger,
		inbound: make(chan struct{}, 1), outbound: make(chan struct{}, 1), typing: make(chan typingReq, typingQueue),
		registrations: make(chan struct{}, 1), providers: map[int64]cachedProvider{}, counts: map[countKey]int64{},
		typed: map[int64]time.Time{}, askedName: map[int64]time.Time{}, regRetries: map[int64]regRetry{},
		busyCustomers: map[int64]bool{}, busyChannels: map[int64]int{}, ended: map[int64]bool{}}
}

// Wake tells the outbound worker that a message was queued, wherever it
// runs (Config.Notify).
func (s *Service) Wake() {
	poke(s.outbound)
	s.notify(Outbound)
}

// Poke wakes this node's worker of q, not telling Notify: for what
// another node queued and its Notify passed on.
func (s *Service) Poke(q Queue) {
	switch q {
	case Inbound:
		poke(s.inbound)
	case Outbound:
		poke(s.outbound)
	}
}

// notify tells Config.Notify that something was queued for q.
func (s *Service) notify(q Queue) {
	if s.cfg.Notify != nil {
		s.cfg.Notify(q)
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default: // already poked
	}
}

// Run does the channels' work of a single node until ctx ends: the
// queues (RunQueues) and the typing indications (RunTyping).
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.RunTyping(ctx) }()
	s.RunQueues(ctx)
	wg.Wait()
}

// RunQueues delivers stored customer messages and sends queued agent
// messages until ctx ends. At start it registers the Telegram channels'
// webhooks (RegisterWebhooks, trying again those that failed for a
// while), settles what a crash, or the node that ran the queues before,
// left in flight and delivers what was stored but not shown. Exactly one
// node may run it at a time: with several, the one that holds the
// channels' lease, until it loses it (ctx ends then).
func (s *Service) RunQueues(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); s.runRegistrations(ctx) }()
	s.recoverInFlight(ctx)
	go func() { defer wg.Done(); s.runInbound(ctx) }()
	go func() { defer wg.Done(); s.runOutbound(ctx) }()
	wg.Wait()
}

// RunTyping shows customers the typing of agents in the chats this node
// runs (Typing) until ctx ends; every node runs it.
func (s *Service) RunTyping(ctx context.Context) { s.runTyping(ctx) }

// Counts are the send attempts so far by channel and outcome (the
// Outcome constants, or the failure.Kind a message was given up for),
// for metrics (Collector).
func (s *Service) Counts() map[countKey]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[countKey]int64, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

func (s *Service) count(ch store.Channel, outcome string) {
	s.mu.Lock()
	s.counts[countKey{ch.Portal, ch.Name, outcome}]++
	s.mu.Unlock()
}

// provider returns the provider client of a channel, made again when the
// channel's settings changed (the CLI changes them in the store).
func (s *Service) provider(ch store.Channel) (channels.Provider, error) {
	fp, err := json.Marshal([]any{ch.Type, ch.APIBase, ch.Secrets})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.providers[ch.ID]; ok && c.fingerprint == string(fp) {
		return c.p, nil
	}
	p, err := channels.New(providerConfig(ch, s.cfg.Client, s.cfg.Now))
	if err != nil {
		return nil, err
	}
	s.providers[ch.ID] = cachedProvider{string(fp), p}
	return p, nil
}

// providerConfig maps a stored channel to the provider's configuration.
func providerConfig(ch store.Channel, client *http.Client, now func() time.Time) channels.Config {
	sec := ch.Secrets
	return channels.Config{
		Type: channels.Type(ch.Type), BaseURL: ch.APIBase, PhoneNumberID: sec["phone_number_id"],
		Secrets: channels.Secrets{BotToken: sec["bot_token"], SecretToken: sec["secret_token"], AccessToken: sec["access_token"],
			AppSecret: sec["app_secret"], VerifyToken: sec["verify_token"], ChannelSecret: sec["channel_secret"]},
		Client: client, Now: now,
	}
}

// Check asks a channel's provider whether its token works (channel check).
func Check(ctx context.Context, ch store.Channel, client *http.Client) (channels.Account, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	p, err := channels.New(providerConfig(ch, client, nil))
	if err != nil {
		return channels.Account{}, err
	}
	return p.Check(ctx)
}

// Unregister removes a channel's webhook registration at the provider
// (channel remove): Telegram's deleteWebhook; errors.ErrUnsupported where
// the URL is entered in the provider's console.
func Unregister(ctx context.Context, ch store.Channel, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	p, err := channels.New(providerConfig(ch, client, nil))
	if err != nil {
		return err
	}
	return p.Unregister(ctx)
}

// CheckChannel is Check with the answer recorded as the channel's status
// (channel check): ok after token_expired or provider_error,
// token_expired, or provider_error with the provider's code and text; a
// failure that may pass (no answer, 5xx, rate limit) changes nothing.
// The error is Check's, joined with the store's if recording failed.
func CheckChannel(ctx context.Context, st *store.Store, ch store.Channel, client *http.Client) (channels.Account, error) {
	acct, err := Check(ctx, ch, client)
	if status, detail, ok := accountState(ch, err, "token check"); ok {
		if _, serr := st.SetChannelStatus(ctx, ch.ID, status, detail, nil); serr != nil {
			return acct, errors.Join(err, serr)
		}
	}
	return acct, err
}
