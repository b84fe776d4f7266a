package bridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"jabberdesk/address"
	"jabberdesk/store"
)

// Engine holds the live chats of every portal.
type Engine struct {
	cfg   Config
	store *store.Store
	log   *slog.Logger
	clock clock // the system's; tests set their own before Start

	mu       sync.Mutex
	agents   Agents
	channels Channels                   // nil until AttachChannels: noChannels
	live     map[int64]*Chat            // by chat id
	byNumber map[address.Chat]*Chat     // by portal and number
	contacts map[address.Agent][]*Chat  // chats in the agent's roster
	load     map[address.Agent]int      // chats the agent is in
	rr       map[address.Department]int // round-robin cursor
	closed   bool
	changes  signal // fired when what Live shows changes (live.go)
	wg       sync.WaitGroup
	async    sync.WaitGroup // calls to other nodes nobody waits for (goAsync)

	nodes *nodes // the other nodes (Config.Nodes); nil with one
}

// New makes an Engine; Attach the agents' side before Start.
func New(cfg Config, st *store.Store, log *slog.Logger) *Engine {
	cfg.setDefaults()
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{
		cfg: cfg, store: st, log: log, clock: systemClock{},
		live:     make(map[int64]*Chat),
		byNumber: make(map[address.Chat]*Chat),
		contacts: make(map[address.Agent][]*Chat),
		load:     make(map[address.Agent]int),
		rr:       make(map[address.Department]int),
	}
	if cfg.Nodes != nil {
		e.nodes = newNodes(cfg.Nodes)
	}
	return e
}

// now is the engine's time.
func (e *Engine) now() time.Time { return e.clock.Now() }

// Attach sets the agents' side. It must be called before Start.
func (e *Engine) Attach(a Agents) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.agents = a
}

func (e *Engine) agentsSide() Agents {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.agents
}

// Start restores the chats that were live when the server stopped: active
// chats go on (their visitors have the grace period to come back), waiting
// ones are offered again. With several nodes (Config.Nodes) only the
// portals this node owns are restored, those no live node owns are
// claimed, and the others wait for their owners (nodes.go).
func (e *Engine) Start(ctx context.Context) error {
	if e.nodes != nil {
		return e.startNodes(ctx)
	}
	chats, err := e.store.LiveChats(ctx)
	if err != nil {
		return fmt.Errorf("bridge: restore chats: %w", err)
	}
	e.restoreChats(chats)
	if len(chats) > 0 {
		e.log.Info("restored live chats", "count", len(chats))
	}
	return nil
}

// Stop ends the chats' goroutines (the chats stay live in the database
// and are restored by the next Start).
func (e *Engine) Stop() {
	e.mu.Lock()
	e.closed = true
	chats := make([]*Chat, 0, len(e.live))
	for _, c := range e.live {
		chats = append(chats, c)
	}
	e.mu.Unlock()
	if e.nodes != nil {
		e.stopNodes()
	}
	for _, c := range chats {
		c.stop()
	}
	e.wg.Wait()
	e.async.Wait()
}

// adopt makes a stored chat live.
func (e *Engine) adopt(sc store.Chat) *Chat {
	c := newChat(e, sc)
	e.mu.Lock()
	e.live[c.id] = c
	e.byNumber[c.address()] = c
	e.mu.Unlock()
	e.changed()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		c.run()
	}()
	return c
}

// forget removes an ended chat from the maps.
func (e *Engine) forget(c *Chat) {
	e.mu.Lock()
	delete(e.live, c.id)
	delete(e.byNumber, c.address())
	e.mu.Unlock()
	e.changed()
}

// agentRef names an agent across portals.
func agentRef(portal, agent string) address.Agent { return address.Agent{Portal: portal, Key: agent} }

// setContact records whether a chat is in an agent's roster.
func (e *Engine) setContact(c *Chat, agent string, in bool) {
	ref := agentRef(c.portal, agent)
	defer e.changed() // after the unlock
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.contacts[ref]
	for i, o := range list {
		if o == c {
			if !in {
				list = append(list[:i:i], list[i+1:]...)
				if len(list) == 0 {
					delete(e.contacts, ref)
				} else {
					e.contacts[ref] = list
				}
			}
			return
		}
	}
	if in {
		e.contacts[ref] = append(list, c)
	}
}

// addLoad changes the number of chats an agent is in.
func (e *Engine) addLoad(portal, agent string, d int) {
	defer e.changed() // after the unlock
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := agentRef(portal, agent)
	if e.load[ref] += d; e.load[ref] <= 0 {
		delete(e.load, ref)
	}
}

// Load is the number of chats an agent is in.
func (e *Engine) Load(portal, agent string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.load[agentRef(portal, agent)]
}

// Contacts returns the visitor contacts in an agent's roster: the chats
// offered to the agent or that the agent is in.
func (e *Engine) Contacts(portal, agent string) []Contact {
	out, err := e.rosterContacts(context.Background(), portal, agent)
	e.logForward(kindContacts, portal, err)
	return out
}

func (e *Engine) rosterContacts(ctx context.Context, portal, agent string) ([]Contact, error) {
	if out, done, err := forward[portalCall, []Contact](ctx, e, portal, kindContacts, portalCall{Portal: portal, Agent: agent}); done {
		return out, err
	}
	e.mu.Lock()
	list := append([]*Chat(nil), e.contacts[agentRef(portal, agent)]...)
	e.mu.Unlock()
	out := make([]Contact, 0, len(list))
	for _, c := range list {
		out = append(out, c.contact())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Local < out[j].Local })
	return out, nil
}

// chatByNumber finds a live chat by its number.
func (e *Engine) chatByNumber(portal string, number int64) *Chat {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.byNumber[address.Chat{Portal: portal, Number: number}]
}

// ErrNoChat is returned for a visitor JID that names no chat.
var ErrNoChat = errors.New("bridge: no such chat")

// newSecret returns a random token of n bytes, base64url.
func newSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newPublicID returns a random chat id for the visitor API.
func newPublicID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// tokenOK compares a bearer token with the stored hash in constant time.
func tokenOK(token string, hash []byte) bool {
	return token != "" && subtle.ConstantTimeCompare(hashToken(token), hash) == 1
}

// Counts are the live chats by state, for metrics.
type Counts struct{ Waiting, Offered, Active int }

// Counts counts the live chats by state.
func (e *Engine) Counts() Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n Counts
	for _, c := range e.live {
		switch *c.status.Load() {
		case store.ChatWaiting:
			n.Waiting++
		case store.ChatOffered:
			n.Offered++
		case store.ChatActive:
			n.Active++
		}
	}
	return n
}
