package im

import (
	"context"
	"time"

	"jabberdesk/store"
)

// typingEvery is how often a customer is shown that an agent is typing:
// the providers' indicators last about five seconds (Telegram's chat
// action, LINE's loading animation at its shortest) or until the next
// message (Messenger), so more would only spend rate limit.
const typingEvery = 4 * time.Second

// typingQueue bounds the typing indications waiting to go out; past it
// they are dropped: typing is the first thing to go.
const typingQueue = 64

type typingReq struct{ channelID, customerID int64 }

// Typing shows a customer that an agent is typing, where the provider
// can (bridge.Channels). It never blocks: the indication is dropped when
// the queue is full or the customer was shown one a moment ago.
func (s *Service) Typing(channelID, customerID int64) {
	now := s.cfg.Now()
	s.mu.Lock()
	if last, ok := s.typed[customerID]; ok && now.Sub(last) < typingEvery {
		s.mu.Unlock()
		return
	}
	s.typed[customerID] = now
	s.mu.Unlock()
	select {
	case s.typing <- typingReq{channelID, customerID}:
	default:
	}
}

// runTyping sends typing indications until ctx ends, forgetting the
// customers it has not shown one for a while.
func (s *Service) runTyping(ctx context.Context) {
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.typing:
			s.sendTyping(ctx, r)
		case <-sweep.C:
			s.forgetTyping()
		}
	}
}

func (s *Service) forgetTyping() {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range s.typed {
		if now.Sub(at) >= typingEvery {
			delete(s.typed, id)
		}
	}
}

// sendTyping asks the provider to show the indication. A failure is
// logged and otherwise ignored: the next message tells the customer more
// than a typing indicator could.
func (s *Service) sendTyping(ctx context.Context, r typingReq) {
	ch, err := s.st.ChannelByID(ctx, r.channelID)
	if err != nil || ch.Disabled {
		return // removed or switched off since: nothing to show
	}
	cu, err := s.st.Customer(ctx, r.customerID)
	if err != nil || cu.State == store.CustomerBlocked {
		return
	}
	p, err := s.provider(ch)
	if err != nil {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Typing(tctx, cu.ProviderID); err != nil {
		s.log.Info("channels: typing indication not shown", "channel", ch.Name, "portal", ch.Portal, "err", err)
	}
}
