package im

import (
	"context"
	"errors"
	"fmt"
	"time"

	"jabberdesk/channels"
	"jabberdesk/store"
)

// Sends under way at once: in all, and to one channel. A provider that
// is slow to answer holds only its own channel's share, so that it
// cannot stall the others; one customer has at most one message under
// way, so that each chat's messages go in order.
const (
	maxSending           = 64
	maxSendingPerChannel = 8
)

// idleWait is how long the worker sleeps with nothing pending; a queued
// message wakes it at once.
const idleWait = time.Minute

// runOutbound sends due messages, waking when one is queued, a send
// ends or the next retry is due. It returns when ctx ends and the sends
// under way have finished.
func (s *Service) runOutbound(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer s.sending.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.outbound:
		case <-timer.C:
		}
		wait := s.sendDue(ctx)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// sendDue starts a send of each due message, within the limits on sends
// under way; each send that ends wakes the worker for what is next. It
// returns how long the worker may sleep.
func (s *Service) sendDue(ctx context.Context) time.Duration {
	s.mu.Lock()
	clear(s.ended)
	s.mu.Unlock()
	listed := s.cfg.Now()
	// Each listing reads at most maxSending messages, leaving out the
	// channels with no room for another send: a backlog is not read
	// again and again only to be skipped. A listing that one channel's
	// room cut short is made again without that channel.
	for ctx.Err() == nil {
		room, full := s.room()
		if room == 0 {
			break // every send slot is taken: the end of one wakes the worker
		}
		due, err := s.st.DueOutbound(ctx, listed, maxSending, full...)
		if err != nil {
			s.log.Error("channels: list queued messages", "err", err)
			break
		}
		if s.listed != nil {
			s.listed(due)
		}
		if started := s.startDue(ctx, due); started == 0 || len(due) < maxSending {
			break
		}
	}
	return s.nextWait(ctx, listed)
}

// startDue starts a send of each listed message there is room for, and
// says how many it started.
func (s *Service) startDue(ctx context.Context, due []store.Outbound) (started int) {
	for _, o := range due {
		if ctx.Err() != nil || !s.startSending(o) {
			continue
		}
		started++
		s.sending.Add(1)
		go func() {
			defer s.sending.Done()
			if err := s.send(ctx, o); err != nil {
				s.log.Error("channels: send a queued message", "message", o.ID, "err", err)
			}
			s.doneSending(o)
			poke(s.outbound)
		}()
	}
	return started
}

// nextWait is how long the worker may sleep after a pass that listed
// what was due at listed: until the next message that was not due then
// comes due, which may be now. (What was due then was started, or waits
// for a send under way, whose end wakes the worker.)
func (s *Service) nextWait(ctx context.Context, listed time.Time) time.Duration {
	at, ok, err := s.st.NextOutboundAt(ctx)
	if err != nil || !ok || !at.After(listed) {
		return idleWait
	}
	return min(max(at.Sub(s.cfg.Now()), 0), idleWait)
}

// room is how many more sends may start now, and the channels that have
// no room for another: what a pass need read of the queue.
func (s *Service) room() (int, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var full []int64
	for id, n := range s.busyChannels {
		if n >= maxSendingPerChannel {
			full = append(full, id)
		}
	}
	return max(maxSending-len(s.busyCustomers), 0), full
}

// startSending claims a send of o, unless its customer has one under way
// or the limits are reached. A customer whose send ended after the list
// holding o was read waits for the next pass (the end wakes the worker):
// o may be the message that send just delivered, or one whose retry is
// not due yet.
func (s *Service) startSending(o store.Outbound) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busyCustomers[o.CustomerID] || s.ended[o.CustomerID] ||
		s.busyChannels[o.ChannelID] >= maxSendingPerChannel || len(s.busyCustomers) >= maxSending {
		return false
	}
	s.busyCustomers[o.CustomerID] = true
	s.busyChannels[o.ChannelID]++
	return true
}

func (s *Service) doneSending(o store.Outbound) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busyCustomers, o.CustomerID)
	s.ended[o.CustomerID] = true
	if s.busyChannels[o.ChannelID]--; s.busyChannels[o.ChannelID] <= 0 {
		delete(s.busyChannels, o.ChannelID)
	}
}

// send makes one attempt at a queued message and records its outcome.
func (s *Service) send(ctx context.Context, o store.Outbound) error {
	ch, err := s.st.ChannelByID(ctx, o.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return s.st.OutboundFailed(ctx, o.ID, "the channel was removed")
	}
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	switch {
	case ch.Disabled:
		return s.st.OutboundRetry(ctx, o.ID, now.Add(5*time.Minute), "the channel is disabled")
	case ch.Status == store.ChannelRateLimited && ch.StatusUntil != nil && ch.StatusUntil.After(now):
		return s.st.OutboundRetry(ctx, o.ID, *ch.StatusUntil, "rate limited")
	}
	cust, err := s.st.Customer(ctx, o.CustomerID)
	if err != nil {
		return err
	}
	p, err := s.provider(ch)
	if err != nil {
		return s.fail(ctx, ch, o, &channels.Failure{Kind: channels.ProviderError, Provider: channels.Type(ch.Type), Text: err.Error()})
	}
	msg := message(o, cust)
	if ch.Type == store.ChannelLINE && o.Attempts == 0 {
		// A reply token is good once: only the first attempt may use it.
		tok, err := s.st.TakeReplyToken(ctx, cust.ID, now.Add(-channels.ReplyTokenTTL))
		if err != nil {
			return err
		}
		if tok != "" {
			msg.ReplyToken, msg.ReplyTokenAt = tok, now
		}
	}
	flight := store.InFlightOnce
	if recognisesRepeats(ch.Type) && msg.ReplyToken == "" {
		flight = store.InFlightRepeatable // a LINE push with our retry key; a reply has none
	}
	if err := s.st.OutboundInFlight(ctx, o.ID, flight); err != nil {
		return err
	}
	// A send under way finishes even when the service stops (the client's
	// timeout bounds it), and its outcome is recorded: stopping must not
	// leave it in flight.
	ctx = context.WithoutCancel(ctx)
	res, err := p.Send(ctx, msg)
	if err == nil {
		if err := s.st.OutboundSent(ctx, o.ID, res.MessageID); err != nil {
			return err
		}
		s.count(ch, OutcomeSent)
		s.setStatus(ctx, ch, store.ChannelOK, "", nil)
		return nil
	}
	f := channels.AsFailure(err)
	if f == nil {
		f = &channels.Failure{Kind: channels.Temporary, Provider: channels.Type(ch.Type), Text: "no answer"}
	}
	if f.Uncertain && flight != store.InFlightRepeatable {
		// The provider may have delivered it: sending it again could
		// deliver it twice.
		return s.giveUpUncertain(ctx, ch, o, "no answer from "+ch.Type.Title()+" after the message was sent")
	}
	if f.Retryable() && o.Attempts+1 < s.cfg.MaxAttempts {
		wait := s.cfg.Backoff(o.Attempts)
		if f.RetryAfter > 0 {
			wait = f.RetryAfter
		}
		if f.Kind == channels.RateLimited {
			until := now.Add(wait)
			s.setStatus(ctx, ch, store.ChannelRateLimited, f.Text, &until)
		}
		s.count(ch, OutcomeRetried)
		return s.st.OutboundRetry(ctx, o.ID, now.Add(wait), f.Error())
	}
	return s.fail(ctx, ch, o, f)
}

// message is the provider message of a queued one.
func message(o store.Outbound, cust store.ChannelCustomer) channels.Message {
	m := channels.Message{To: cust.ProviderID, Text: o.Payload.Text, SendID: o.SendKey, QuickReplies: o.Payload.QuickReplies}
	if f := o.Payload.File; f != nil {
		m.File = &channels.File{URL: f.URL, Name: f.Name, MIME: f.MIME}
	}
	if t := o.Payload.Template; t != nil {
		m.Template = &channels.Template{Name: t.Name, Language: t.Language, Params: t.Args}
	}
	return m
}

// fail gives a message up: the channel's or customer's state, the line
// in the chat, the count.
func (s *Service) fail(ctx context.Context, ch store.Channel, o store.Outbound, f *channels.Failure) error {
	switch f.Kind {
	case channels.TokenExpired:
		s.setStatus(ctx, ch, store.ChannelTokenExpired, f.Text, nil)
	case channels.ProviderError:
		s.setStatus(ctx, ch, store.ChannelProviderError, failureCode(f), nil)
	case channels.CustomerBlocked:
		cust, err := s.st.Customer(ctx, o.CustomerID)
		if err == nil {
			_, err = s.st.SetCustomerState(ctx, ch.ID, cust.ProviderID, store.CustomerBlocked)
		}
		if err != nil {
			return err
		}
	}
	if err := s.st.OutboundFailed(ctx, o.ID, string(f.Kind)+": "+f.Text); err != nil {
		return err
	}
	s.count(ch, string(f.Kind))
	if o.ChatID != 0 {
		s.cfg.Desk.TellChat(o.ChatID, failureLine(ch, f, false))
	}
	return nil
}

// setStatus records a channel's state when it changed, and logs it.
func (s *Service) setStatus(ctx context.Context, ch store.Channel, st store.ChannelStatus, detail string, until *time.Time) {
	if ch.Status == st && st == store.ChannelOK {
		return // the common case: no write
	}
	changed, err := s.st.SetChannelStatus(ctx, ch.ID, st, detail, until)
	switch {
	case err != nil:
		s.log.Error("channels: record the channel's state", "portal", ch.Portal, "channel", ch.Name, "err", err)
	case changed:
		s.log.Warn("channel state", "portal", ch.Portal, "channel", ch.Name, "state", st, "detail", detail)
	}
}

func failureCode(f *channels.Failure) string {
	if f.Code != 0 {
		return fmt.Sprintf("%d %s", f.Code, f.Text)
	}
	return f.Text
}

// failureLine is what agents read in the chat when a message could not
// be delivered (after: the provider took it and reported the failure
// later).
func failureLine(ch store.Channel, f *channels.Failure, after bool) string {
	provider := ch.Type.Title()
	switch f.Kind {
	case channels.CustomerBlocked:
		return "Not delivered: the customer blocked this " + provider + " account."
	case channels.OutsideWindow:
		return "Not delivered: " + provider + " allows free replies only within 24 hours of the customer's last message. " +
			"Send an approved template instead (#tpl lists them)."
	case channels.TokenExpired:
		return "Not delivered: the " + provider + " channel " + ch.Name + " is no longer authorised (its token expired or was revoked); " +
			"an administrator must set a new one: jabberdesk channel set " + ch.Portal + " " + ch.Name + " --secrets-stdin"
	case channels.RateLimited, channels.Temporary:
		return "Not delivered: " + provider + " kept refusing or not answering (" + clip(f.Text, 120) + "); the message was given up."
	}
	if after {
		return "Not delivered: " + provider + " reported error " + clip(failureCode(f), 160) + "."
	}
	return "Not delivered: " + provider + " refused the message: " + clip(failureCode(f), 160) + "."
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// recognisesRepeats reports whether the provider knows a repeated send
// by our send key, so that a send whose outcome is unknown can be made
// again (LINE's X-Line-Retry-Key, on pushes).
func recognisesRepeats(t store.ChannelType) bool { return t == store.ChannelLINE }

// giveUpUncertain ends a message that may or may not have been delivered,
// and tells the agents so.
func (s *Service) giveUpUncertain(ctx context.Context, ch store.Channel, o store.Outbound, why string) error {
	if err := s.st.OutboundFailed(ctx, o.ID, "uncertain: "+why); err != nil {
		return err
	}
	s.count(ch, OutcomeUncertain)
	if o.ChatID != 0 {
		what := "your message"
		if o.Payload.Text != "" {
			what = "your message \"" + clip(o.Payload.Text, 60) + "\""
		}
		s.cfg.Desk.TellChat(o.ChatID, "Delivery unknown: "+why+" ("+what+"). It was not sent again, so that it does not arrive twice; "+
			"check with the customer before you repeat it.")
	}
	return nil
}

// recoverInFlight settles the messages a crash left in flight: where the
// provider recognises a repeated send they are simply sent again;
// elsewhere they might have been delivered, so they are not sent again
// and the agents are told.
func (s *Service) recoverInFlight(ctx context.Context) {
	rows, err := s.st.InFlightOutbound(ctx)
	if err != nil {
		s.log.Error("channels: list messages in flight", "err", err)
		return
	}
	for _, o := range rows {
		ch, err := s.st.ChannelByID(ctx, o.ChannelID)
		switch {
		case err != nil:
		case o.InFlight == store.InFlightRepeatable:
			err = s.st.OutboundInFlight(ctx, o.ID, store.NotInFlight)
		default:
			err = s.giveUpUncertain(ctx, ch, o, "the server stopped while sending to "+ch.Type.Title())
		}
		if err != nil {
			s.log.Error("channels: settle a message in flight", "message", o.ID, "err", err)
		}
	}
}
