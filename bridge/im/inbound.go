package im

import (
	"context"
	"errors"
	"strings"
	"time"

	"jabberdesk/store"
)

// inboundBatch is how many stored customer messages one pass delivers.
const inboundBatch = 100

// runInbound hands stored customer messages to the engine, oldest first,
// whenever one is stored, and again after a failure.
func (s *Service) runInbound(ctx context.Context) {
	retry := time.NewTimer(0) // a first pass: what was stored before a restart
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.inbound:
		case <-retry.C:
		}
		if again := s.deliverPending(ctx); again {
			retry.Reset(s.cfg.InboundRetry)
		}
	}
}

// deliverPending delivers what is stored and not yet shown; again reports
// that something could not be delivered and should be tried later.
func (s *Service) deliverPending(ctx context.Context) (again bool) {
	for ctx.Err() == nil {
		pending, err := s.st.PendingInbound(ctx, inboundBatch)
		if err != nil {
			s.log.Error("channels: list stored customer messages", "err", err)
			return true
		}
		failed := 0
		held := map[int64]bool{} // customers whose earlier message waits: theirs keep their order
		for _, in := range pending {
			if held[in.Customer.ID] || s.deliverOne(ctx, in) {
				held[in.Customer.ID] = true
				failed++
			}
		}
		if failed > 0 {
			return true
		}
		if len(pending) < inboundBatch {
			return false
		}
	}
	return false
}

// deliverOne fetches a stored message's files and hands it to the
// engine; wait reports that it is not delivered yet (a file failed for
// now, or the engine could not take it): it is tried again later.
func (s *Service) deliverOne(ctx context.Context, in store.Inbound) (wait bool) {
	s.nameCustomer(ctx, &in)
	var err error
	ready := true
	if !in.Customer.Blocked { // kept for the record only: their files are not worth the disk
		ready, err = s.fetchFiles(ctx, &in)
	}
	if err == nil && ready {
		err = s.cfg.Desk.CustomerMessage(ctx, in)
	}
	if errors.Is(err, store.ErrDelivered) {
		return false
	}
	if err != nil {
		s.log.Error("channels: deliver a customer message", "channel", in.ChannelID, "message", in.ID, "err", err)
	}
	return err != nil || !ready
}

// nameCustomer asks the provider for the name of a customer whose
// messages carry none (LINE, Messenger, Instagram), once.
func (s *Service) nameCustomer(ctx context.Context, in *store.Inbound) {
	if in.Message.Name != "" || !strings.HasPrefix(in.Customer.Name, "Customer ") || !s.mayAskName(in.Customer.ID) {
		return
	}
	ch, err := s.st.ChannelByID(ctx, in.ChannelID)
	if err != nil {
		return
	}
	p, err := s.provider(ch)
	if err != nil {
		return
	}
	// The dispatcher waits for the answer: a provider slow to give it
	// holds up every channel's messages, so the wait is short.
	pctx, cancel := context.WithTimeout(ctx, profileTimeout)
	defer cancel()
	prof, err := p.Profile(pctx, in.Customer.ProviderID)
	if err != nil || prof.Name == "" {
		return // the default name stays; not worth holding the message
	}
	if err := s.st.SetCustomerName(ctx, in.Customer.ID, prof.Name); err == nil {
		in.Customer.Name = prof.Name
	}
}

// How long a name lookup may take, and how long after one was asked a
// customer's name is not asked again (a provider that does not answer is
// not asked on every message).
const (
	profileTimeout = 3 * time.Second
	profileRetry   = 10 * time.Minute
)

// mayAskName reports whether the customer's name may be looked up now,
// and notes that it is.
func (s *Service) mayAskName(customerID int64) bool {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.askedName[customerID]; ok && now.Sub(at) < profileRetry {
		return false
	}
	for id, at := range s.askedName { // forget the old ones: the map stays small
		if now.Sub(at) >= profileRetry {
			delete(s.askedName, id)
		}
	}
	s.askedName[customerID] = now
	return true
}
