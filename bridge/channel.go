package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"jabberdesk/store"
)

// This file holds what differs for a channel customer's chat (a
// WhatsApp, Telegram, LINE, Messenger or Instagram user; docs/CHANNELS.md):
// their messages arrive stored by package bridge/im, the agents' words
// leave through its outbound queue, and #b blocks the customer rather
// than an address. Everything else — routing, offers, commands,
// transcripts — is the web visitor's.

// Channels is what the bridge needs of the IM channels (package
// bridge/im). Implementations must not block.
type Channels interface {
	// Wake says that a message was queued for a customer.
	Wake()
	// Typing shows the customer that an agent is typing, where the
	// provider can.
	Typing(channelID, customerID int64)
}

// noChannels stands in until AttachChannels: nothing is queued without
// it, so there is nothing to wake.
type noChannels struct{}

func (noChannels) Wake()               {}
func (noChannels) Typing(int64, int64) {}

// AttachChannels sets the IM channels' side. It must be called before
// Start.
func (e *Engine) AttachChannels(ch Channels) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.channels = ch
}

func (e *Engine) channelsSide() Channels {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.channels == nil {
		return noChannels{}
	}
	return e.channels
}

// isChannel reports whether the chat is a channel customer's.
func (c *Chat) isChannel() bool { return c.info.CustomerID != 0 }

// CustomerMessage shows a stored customer message (bridge/im) in the
// customer's live chat, takes it as the rating of their last chat when it
// answers the question (rating.go), or starts a chat with it routed to
// the channel's department. A blocked customer's message is kept in a chat that is not
// offered (the blocked view). It returns store.ErrDelivered when the
// message was shown before, and ErrAgentBusy when an agent in the chat is
// not keeping up (the caller tries again later).
func (e *Engine) CustomerMessage(ctx context.Context, in store.Inbound) error {
	if e.nodes != nil {
		portal, err := e.channelPortal(ctx, in.ChannelID)
		if err != nil {
			return err
		}
		// The owner reads the message and its customer from the store:
		// as they are now, with what the API form leaves out.
		if _, done, err := forward[int64, none](ctx, e, portal, kindCustomer, in.ID); done {
			return err
		}
	}
	ev := e.customerEvent(in)
	if in.Customer.Blocked {
		return e.keepBlocked(ctx, in, ev)
	}
	sc, live, err := e.store.LiveChatOfCustomer(ctx, in.Customer.ID)
	if err != nil {
		return err
	}
	if live {
		e.mu.Lock()
		c := e.live[sc.ID]
		e.mu.Unlock()
		if c == nil {
			return fmt.Errorf("bridge: customer message: chat %d is live in the store but not running", sc.Number)
		}
		err := c.call(ctx, func() error {
			if c.over {
				return errChatOver
			}
			return c.visitorMessage(ev)
		})
		if !errors.Is(err, errChatOver) {
			return err
		}
		// The chat ended just now: the message, written before the
		// customer could know, starts a new one.
		return e.startCustomerChat(ctx, in, ev)
	}
	if taken, err := e.customerRating(ctx, in); taken || err != nil {
		return err
	}
	return e.startCustomerChat(ctx, in, ev)
}

// startCustomerChat starts a chat with a customer's first message.
func (e *Engine) startCustomerChat(ctx context.Context, in store.Inbound, ev Event) error {
	sc, err := e.newCustomerChat(ctx, in, ev)
	if err != nil {
		return err
	}
	c := e.adopt(sc)
	var status store.ChatStatus
	// No grace timer: a customer is never "connected"; the chat lasts
	// until an agent ends it or nobody accepts it.
	err = c.call(context.WithoutCancel(ctx), func() error {
		c.startQueue()
		c.dispatch(true)
		status = c.info.Status
		return nil
	})
	if err != nil || status == "" {
		status = store.ChatMissed
	}
	e.log.Info("chat started", "portal", sc.Portal, "chat", sc.Number, "channel", sc.Channel, "department", sc.Department, "status", status)
	return nil
}

// newCustomerChat stores a chat for a customer's message, marking the
// message delivered with it. The words are the chat's question; files
// are its first event, relayed when an agent accepts.
func (e *Engine) newCustomerChat(ctx context.Context, in store.Inbound, ev Event) (store.Chat, error) {
	ch, err := e.store.ChannelByID(ctx, in.ChannelID)
	if err != nil {
		return store.Chat{}, err
	}
	question := ev.words()
	var first *store.ChatEvent
	if len(ev.Files) > 0 {
		if question == "" {
			question = ev.Files[0].title()
		}
		files := Event{Type: EventVisitorMessage, Text: fileText("", ev.Files), Files: ev.Files}
		rec := files.record("visitor", "")
		first = &rec
	}
	return e.store.CreateChat(ctx, store.NewChat{
		Portal: ch.Portal, PublicID: newPublicID(),
		// Nobody holds a visitor token for a customer's chat.
		TokenHash: hashToken(newSecret(24)),
		Name:      in.Customer.Name, Department: ch.Department,
		Question:  truncate(singleLine(question), store.QuestionMax),
		ChannelID: in.ChannelID, CustomerID: in.Customer.ID, InboundID: in.ID, Event: first,
	})
}

// keepBlocked stores a blocked customer's message in their blocked chat
// (one that ended because they are blocked), or in a new one that ends at
// once: kept for the record, offered to nobody.
func (e *Engine) keepBlocked(ctx context.Context, in store.Inbound, ev Event) error {
	sc, ok, err := e.store.BlockedChatOfCustomer(ctx, in.Customer.ID)
	if err != nil {
		return err
	}
	if !ok {
		if sc, err = e.newCustomerChat(ctx, in, ev); err != nil {
			return err
		}
		if err := e.store.SetChatStatus(ctx, sc.ID, store.ChatEnded, e.now(), string(reasonBlocked)); err != nil {
			return err
		}
		e.log.Info("message of a blocked customer kept", "portal", sc.Portal, "chat", sc.Number, "channel", sc.Channel)
		return nil
	}
	ev.At = e.now().UTC()
	_, err = e.store.AppendChatEvent(ctx, sc.ID, ev.record("visitor", ""))
	return err
}

// customerEvent is a customer message as its chat shows it: the words,
// and each file as the upload store keeps it (bridge/im fetched it), or
// why it could not be fetched.
func (e *Engine) customerEvent(in store.Inbound) Event {
	words := strings.TrimSpace(in.Message.Text)
	if utf8.RuneCountInString(words) > MaxMessageLength {
		words = truncate(words, MaxMessageLength)
	}
	var files []File
	for _, a := range in.Message.Attachments {
		f := File{Name: a.FileName, MIME: a.MIME}
		switch {
		case a.Upload != nil:
			f = e.keptFile(*a.Upload)
		case a.FetchError != "":
			f.Error = a.FetchError
		default:
			f.Error = "it was not fetched"
		}
		f.Kind = a.Kind
		files = append(files, f)
	}
	text := fileText(words, files)
	if text == "" {
		text = "[an empty message]"
	}
	return Event{Type: EventVisitorMessage, Text: text, Files: files, inbound: in.ID}
}

// TellChat puts a line from the server (a delivery failure, say) in the
// windows of a live chat's agents; a chat that is over has nobody to
// tell.
func (e *Engine) TellChat(chatID int64, line string) {
	e.mu.Lock()
	c := e.live[chatID]
	e.mu.Unlock()
	if c == nil && e.nodes != nil {
		// It may run on another node.
		e.goAsync(func(ctx context.Context) {
			sc, err := e.store.Chat(ctx, chatID)
			if err == nil && sc.Status.Live() {
				err = e.tellChat(ctx, sc.Portal, chatID, line)
			}
			e.logForward(kindTellChat, sc.Portal, err)
		})
		return
	}
	e.tellLive(c, line)
}

func (e *Engine) tellChat(ctx context.Context, portal string, chatID int64, line string) error {
	if _, done, err := forward[tellCall, none](ctx, e, portal, kindTellChat, tellCall{Portal: portal, Chat: chatID, Line: line}); done {
		return err
	}
	e.mu.Lock()
	c := e.live[chatID]
	e.mu.Unlock()
	e.tellLive(c, line)
	return nil
}

// tellLive puts a server line in the windows of c's agents (nil: the chat
// is over, nobody to tell).
func (e *Engine) tellLive(c *Chat, line string) {
	if c == nil {
		return
	}
	c.post(func() {
		for _, m := range c.members {
			c.tell(m.key, line)
		}
	})
}

// customerOut is the outbound message that sends p to the chat's
// channel customer, or the line that says why it cannot be sent now.
func (c *Chat) customerOut(p store.OutboundPayload) (*store.Outbound, string) {
	out, why, err := c.e.outboundTo(c.ctx(), c.info, p)
	c.logStoreError("read the chat's customer", err)
	return out, why
}

// outboundTo is a message for the customer of channel chat sc, or the
// line that says why none may go to them now (err: their record could not
// be read). A template may go outside the provider's reply window (that
// is what it is for); anything else may not.
func (e *Engine) outboundTo(ctx context.Context, sc store.Chat, p store.OutboundPayload) (*store.Outbound, string, error) {
	cu, err := e.store.Customer(ctx, sc.CustomerID)
	if err != nil {
		return nil, "Not sent: the customer's record could not be read; please send it again.", err
	}
	provider := sc.ChannelType.Title()
	switch {
	case cu.Blocked:
		return nil, "Not sent: this customer is blocked.", nil
	case cu.State == store.CustomerBlocked:
		return nil, "Not sent: the customer blocked this " + provider + " account; nothing reaches them until they follow it again.", nil
	case p.Template == nil && !cu.WindowOpen(sc.ChannelType, e.now()):
		if sc.ChannelType.HasTemplates() {
			return nil, "Not sent: the customer last wrote more than 24 hours ago, and " + provider + " then only takes templates: #tpl lists them.", nil
		}
		return nil, "Not sent: the customer last wrote more than 24 hours ago, and " + provider + " only lets us answer within 24 hours of their last message.", nil
	}
	return &store.Outbound{ChannelID: sc.ChannelID, CustomerID: sc.CustomerID, Payload: p}, "", nil
}

// blockCustomer is #b in a channel chat: the customer's id is blocked
// (their later messages are kept, not offered) and the chat ends.
func (c *Chat) blockCustomer(by *member, reason string) (string, error) {
	if err := c.e.store.BlockCustomer(c.ctx(), c.info.CustomerID, true, by.key, reason); err != nil {
		var ue *store.UserError
		if errors.As(err, &ue) {
			return "", refuse(ue.Msg)
		}
		return "", err
	}
	// The chat ends before anyone is told: a message the customer sends
	// once the agent has read the line is kept in this chat, which is by
	// then the customer's blocked chat (keepBlocked).
	others := make([]string, 0, len(c.members))
	for _, m := range c.members {
		if m.key != by.key {
			others = append(others, m.key)
		}
	}
	title := c.title()
	c.endQuietly(reasonBlocked)
	for _, key := range others {
		c.tell(key, by.name+" blocked "+title+" ("+reason+").")
	}
	c.tell(by.key, c.info.ChannelType.Title()+" customer "+c.info.CustomerProviderID+" blocked")
	return "", nil
}

// customerDetails is what the accepting agent learns about a channel
// customer (details).
func (c *Chat) customerDetails() string {
	i := c.info
	lines := []string{
		"You are chatting with " + c.title() + ".",
		"Channel: " + i.Channel + " (" + i.ChannelType.Title() + ")",
		"Customer id: " + i.CustomerProviderID,
	}
	if i.VisitorPhone != "" {
		lines = append(lines, "Phone: "+i.VisitorPhone)
	}
	if i.VisitorEmail != "" {
		lines = append(lines, "Email: "+i.VisitorEmail)
	}
	if i.Department != "" {
		lines = append(lines, "Department: "+i.Department)
	}
	lines = append(lines, "Question: "+i.Question)
	return strings.Join(lines, "\n")
}
