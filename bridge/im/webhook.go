package im

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"jabberdesk/channels"
	"jabberdesk/store"
)

// ServeHTTP answers a provider's webhook at /hooks/{id} (the request's
// path value "id"): Meta's GET subscription check, or a POST of events.
// The provider's signature or secret is checked before anything is read
// from the body's content; 200 means every event is stored.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ch, err := s.st.ChannelByPublicID(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		hookError(w, http.StatusNotFound, "no such webhook")
		return
	case err != nil:
		s.log.Error("webhook: read channel", "err", err)
		hookError(w, http.StatusInternalServerError, "try again later")
		return
	case ch.Disabled:
		// The provider keeps what it could not deliver and tries again.
		w.Header().Set("Retry-After", "300")
		hookError(w, http.StatusServiceUnavailable, "this channel is disabled")
		return
	}
	p, err := s.provider(ch)
	if err != nil {
		s.log.Error("webhook: channel settings", "portal", ch.Portal, "channel", ch.Name, "err", err)
		hookError(w, http.StatusServiceUnavailable, "this channel is not set up")
		return
	}
	switch r.Method {
	case http.MethodGet:
		challenge, err := p.Handshake(r.URL.Query())
		if err != nil {
			hookError(w, channels.WebhookStatus(err), "verification failed")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, challenge) // the provider may have gone; it asks again
	case http.MethodPost:
		s.receive(w, r, ch, p)
	default:
		w.Header().Set("Allow", "GET, POST")
		hookError(w, http.StatusMethodNotAllowed, "GET or POST")
	}
}

func (s *Service) receive(w http.ResponseWriter, r *http.Request, ch store.Channel, p channels.Provider) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, channels.MaxWebhookBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		hookError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	if err != nil {
		hookError(w, http.StatusBadRequest, "could not read the body")
		return
	}
	events, err := p.Webhook(r.Header, body)
	if err != nil {
		status := channels.WebhookStatus(err)
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			s.log.Warn("webhook refused", "portal", ch.Portal, "channel", ch.Name, "status", status, "from", r.RemoteAddr)
		}
		hookError(w, status, http.StatusText(status))
		return
	}
	stored := 0
	for _, ev := range events {
		n, err := s.event(r.Context(), ch, ev)
		if err != nil {
			// Nothing is acknowledged: the provider delivers the update
			// again, and what was stored is recognised then.
			s.log.Error("webhook: store event", "portal", ch.Portal, "channel", ch.Name, "err", err)
			status := http.StatusInternalServerError
			if errors.Is(err, store.ErrStorageFull) {
				status = http.StatusInsufficientStorage
			}
			hookError(w, status, "try again later")
			return
		}
		stored += n
	}
	if stored > 0 {
		poke(s.inbound)
		s.notify(Inbound)
	}
	w.WriteHeader(http.StatusOK)
}

// event stores one inbound event; n is the number of new customer
// messages.
func (s *Service) event(ctx context.Context, ch store.Channel, ev channels.Event) (n int, err error) {
	switch ev.Kind {
	case channels.EventMessage:
		_, dup, err := s.st.StoreInbound(ctx, ch.ID, inboundMessage(ev))
		if err != nil || dup {
			return 0, err
		}
		return 1, nil
	case channels.EventFollow:
		return 0, s.customerState(ctx, ch, ev.UserID, store.CustomerOK,
			"The customer follows this "+ch.Type.Title()+" account again: messages reach them.")
	case channels.EventUnfollow:
		// LINE: the customer blocked the account; pushes are accepted but
		// not delivered until they follow again.
		return 0, s.customerState(ctx, ch, ev.UserID, store.CustomerBlocked,
			"The customer blocked this "+ch.Type.Title()+" account: nothing reaches them until they follow it again.")
	case channels.EventStatus:
		return 0, s.status(ctx, ch, ev)
	}
	return 0, nil
}

// customerState records a customer's state and, when it changed, tells
// the agents of the customer's live chat.
func (s *Service) customerState(ctx context.Context, ch store.Channel, userID string, st store.CustomerState, line string) error {
	changed, err := s.st.SetCustomerState(ctx, ch.ID, userID, st)
	if err != nil || !changed {
		return err
	}
	cu, err := s.st.CustomerByProviderID(ctx, ch.ID, userID)
	if err != nil {
		return err
	}
	chat, live, err := s.st.LiveChatOfCustomer(ctx, cu.ID)
	if err != nil || !live {
		return err
	}
	s.cfg.Desk.TellChat(chat.ID, line)
	return nil
}

func inboundMessage(ev channels.Event) store.InboundMessage {
	m := store.InboundMessage{ProviderMessageID: ev.MessageID, CustomerID: ev.UserID, Name: ev.Name, Phone: ev.Phone,
		Text: ev.Text, ReplyToken: ev.ReplyToken, At: ev.ReceivedAt}
	for _, a := range ev.Attachments {
		ref := a.ID
		if ref == "" {
			ref = a.URL
		}
		m.Attachments = append(m.Attachments, store.InboundAttachment{Ref: ref, Kind: a.Kind, MIME: a.MIME, FileName: a.Name, Size: a.Size})
	}
	return m
}

// status handles a delivery report: a message that failed after the
// provider took it (WhatsApp) is reported to the agents of its chat.
func (s *Service) status(ctx context.Context, ch store.Channel, ev channels.Event) error {
	if ev.Status == nil || ev.Status.Failure == nil {
		return nil
	}
	o, err := s.st.OutboundByProviderID(ctx, ch.ID, ev.Status.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not ours, or from before the queue kept it
	}
	if err != nil {
		return err
	}
	f := ev.Status.Failure
	if f.Kind == channels.CustomerBlocked {
		if _, err := s.st.SetCustomerState(ctx, ch.ID, ev.UserID, store.CustomerBlocked); err != nil {
			return err
		}
	}
	s.count(ch, OutcomeFailedAfterSent)
	if o.ChatID != 0 {
		s.cfg.Desk.TellChat(o.ChatID, failureLine(ch, f, true))
	}
	return nil
}

// hookError answers a webhook request with a status and a short text:
// providers only look at the status.
func hookError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, strconv.Itoa(status)+" "+msg) // the provider may have gone
}
