package im

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"jabberdesk/channels"
	"jabberdesk/store"
)

// changeWait bounds how long ChannelChanged waits for the provider: the
// CLI waits 5 s for the server's answer. A registration cut short is
// tried again in the background.
const changeWait = 4 * time.Second

// errNoPublicURL: without Config.PublicURL there is no address to give.
var errNoPublicURL = errors.New("im: no public URL configured (http.public_url): Telegram webhooks are not registered")

// regRetry is a webhook registration to try again: how often it failed
// for a while, and when to try next.
type regRetry struct {
	failures int
	at       time.Time
}

// registers reports whether jabberdesk registers a channel's webhook
// itself: Telegram only pushes to a URL given to setWebhook; the other
// providers take it in their consoles.
func registers(ch store.Channel) bool { return ch.Type == store.ChannelTelegram && !ch.Disabled }

// WebhookURL is where the provider delivers a channel's webhooks: the
// public base URL, then /hooks/ and the channel's public id.
func (s *Service) WebhookURL(ch store.Channel) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/hooks/" + ch.PublicID
}

// RegisterWebhooks registers the webhook URL of every enabled Telegram
// channel with Telegram; Run calls it at start. Each outcome is logged
// and recorded as the channel's status (token_expired, provider_error
// with the code and text, ok again after one of those); a failure that
// may pass (no answer, 5xx, rate limit) changes no status and is tried
// again while Run runs. The error joins the channels' failures; it is
// errNoPublicURL, and nothing is registered, where there are channels
// to register and Config.PublicURL is empty.
func (s *Service) RegisterWebhooks(ctx context.Context) error {
	chs, err := s.st.Channels(ctx, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, ch := range chs {
		if !registers(ch) {
			continue
		}
		if s.cfg.PublicURL == "" {
			return errNoPublicURL
		}
		if err := s.register(ctx, ch); err != nil {
			errs = append(errs, fmt.Errorf("portal %s channel %s: %w", ch.Portal, ch.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ChannelChanged is told that the CLI added or changed a channel (the
// control socket's channel_changed): an enabled Telegram channel's
// webhook is registered again at once, so that a new bot token, secret
// token or public id takes effect. When it returns, the outcome is the
// channel's status in the store, unless the provider took longer than
// changeWait; then it is tried again in the background. The error is
// only the store's: the registration's own outcome is the status.
func (s *Service) ChannelChanged(ctx context.Context, portal, name string) error {
	ch, err := s.st.Channel(ctx, portal, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil // removed: nothing to register
	}
	if err != nil {
		return err
	}
	if !registers(ch) {
		s.forgetRegistration(ch.ID)
		return nil
	}
	if s.cfg.PublicURL == "" {
		return errNoPublicURL
	}
	rctx, cancel := context.WithTimeout(ctx, changeWait)
	defer cancel()
	_ = s.register(rctx, ch) // logged and recorded as the channel's status
	return nil
}

// register registers one channel's webhook, logs the outcome without
// secrets and records it: the channel's status, or another try later for
// a failure that may pass.
func (s *Service) register(ctx context.Context, ch store.Channel) error {
	hook := s.WebhookURL(ch)
	p, err := s.provider(ch)
	if err == nil {
		err = p.Register(ctx, hook)
	}
	switch f := channels.AsFailure(err); {
	case errors.Is(err, errors.ErrUnsupported):
		return nil
	case errors.Is(err, context.Canceled):
		return err // stopping: the next start registers it
	case err == nil:
		s.forgetRegistration(ch.ID)
		s.log.Info("webhook registered", "portal", ch.Portal, "channel", ch.Name, "url", hook)
	case f != nil && f.Retryable():
		at := s.retryRegistration(ch.ID, f.RetryAfter)
		s.log.Warn("webhook not registered; trying again", "portal", ch.Portal, "channel", ch.Name, "url", hook, "at", at, "err", err)
		return err
	default:
		s.forgetRegistration(ch.ID)
		s.log.Error("webhook not registered", "portal", ch.Portal, "channel", ch.Name, "url", hook, "err", err)
	}
	if st, detail, ok := accountState(ch, err, "webhook not registered"); ok {
		s.setStatus(ctx, ch, st, detail, nil)
	}
	return err
}

// accountState is the status that the answer to a call about the
// channel's account (a token check, a webhook registration) leaves the
// channel in: ok after token_expired or provider_error, token_expired,
// or provider_error with the provider's code and text after what was
// done. record is false where the answer tells nothing new: success on
// a channel that is not in one of those states (a rate limit in force
// stays), or a failure that may pass (no answer, 5xx, rate limit).
func accountState(ch store.Channel, err error, what string) (st store.ChannelStatus, detail string, record bool) {
	if err == nil {
		return store.ChannelOK, "", ch.Status == store.ChannelTokenExpired || ch.Status == store.ChannelProviderError
	}
	f := channels.AsFailure(err)
	switch {
	case f == nil: // the channel's settings: channels.New refused them
		return store.ChannelProviderError, what + ": " + err.Error(), true
	case f.Retryable():
		return "", "", false
	case f.Kind == channels.TokenExpired:
		return store.ChannelTokenExpired, what + ": " + failureCode(f), true
	}
	return store.ChannelProviderError, what + ": " + failureCode(f), true
}

// retryRegistration schedules another try of a channel's registration
// after the backoff of its failures so far, or the provider's wait if
// longer, and returns when.
func (s *Service) retryRegistration(id int64, retryAfter time.Duration) time.Time {
	s.mu.Lock()
	r := s.regRetries[id]
	r.at = s.cfg.Now().Add(max(s.cfg.Backoff(r.failures), retryAfter))
	r.failures++
	s.regRetries[id] = r
	s.mu.Unlock()
	poke(s.registrations)
	return r.at
}

func (s *Service) forgetRegistration(id int64) {
	s.mu.Lock()
	delete(s.regRetries, id)
	s.mu.Unlock()
}

// dueRegistrations are the channels to try again now, and when the next
// of the others is due (zero for none).
func (s *Service) dueRegistrations() (due []int64, next time.Time) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.regRetries {
		switch {
		case !r.at.After(now):
			due = append(due, id)
		case next.IsZero() || r.at.Before(next):
			next = r.at
		}
	}
	return due, next
}

// runRegistrations registers every Telegram webhook, then tries again
// those that failed for a while, until ctx ends.
func (s *Service) runRegistrations(ctx context.Context) {
	if err := s.RegisterWebhooks(ctx); errors.Is(err, errNoPublicURL) {
		s.log.Error("channels: " + err.Error())
	} // each channel's failure is logged where it happens
	timer := time.NewTimer(idleWait)
	defer timer.Stop()
	for {
		due, next := s.dueRegistrations()
		for _, id := range due {
			s.registerAgain(ctx, id)
		}
		wait := idleWait
		if !next.IsZero() {
			wait = min(max(next.Sub(s.cfg.Now()), 0), idleWait)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.registrations:
		case <-timer.C:
		}
	}
}

// registerAgain tries a channel's registration again, as it is now.
func (s *Service) registerAgain(ctx context.Context, id int64) {
	ch, err := s.st.ChannelByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.forgetRegistration(id)
	case err != nil:
		s.log.Error("channels: read a channel to register its webhook", "channel", id, "err", err)
		s.retryRegistration(id, 0)
	case !registers(ch):
		s.forgetRegistration(id)
	default:
		_ = s.register(ctx, ch) // logged and recorded where it happens
	}
}
