package im

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jabberdesk/store"
)

// The outcomes of an attempt at sending a queued message, as Counts and
// jabberdesk_channel_messages_total count them. A message given up is
// counted by its failure's channels.Kind: token_expired,
// customer_blocked, outside_window, rate_limited, provider_error or
// temporary.
const (
	OutcomeSent            = "sent"              // the provider took it
	OutcomeRetried         = "retried"           // rate limited, 5xx or no answer: tried again later
	OutcomeUncertain       = "uncertain"         // no answer after it was sent: not sent again, agents told
	OutcomeFailedAfterSent = "failed_after_sent" // the provider took it, then reported it failed (WhatsApp)
)

// statusDisabled is the status metric of a disabled channel, whatever
// the provider last said.
const statusDisabled = "disabled"

// metricStatuses are the statuses every channel has a status series for.
var metricStatuses = []string{string(store.ChannelOK), string(store.ChannelTokenExpired), string(store.ChannelRateLimited),
	string(store.ChannelProviderError), statusDisabled}

// scrapeTimeout bounds the store read of a scrape.
const scrapeTimeout = 5 * time.Second

// Collector returns the Prometheus collector of the channels:
//
//   - jabberdesk_channel_messages_total{portal,channel,outcome}, a
//     counter of send attempts by outcome (the Outcome constants and the
//     failure kinds), since the server started;
//   - jabberdesk_channel_status{portal,channel,status}, a gauge that is
//     1 for the channel's current status and 0 for the others (ok,
//     token_expired, rate_limited while the provider's wait lasts,
//     provider_error, disabled), read from the store when scraped.
//
// Channels are created by administrators, so the label values are
// bounded. Register it with the server's registry.
func (s *Service) Collector() prometheus.Collector {
	return &collector{s: s,
		messages: prometheus.NewDesc("jabberdesk_channel_messages_total",
			"Attempts at sending agents' messages to IM channel customers, by outcome: sent, retried, uncertain, failed_after_sent, or the failure a message was given up for.",
			[]string{"portal", "channel", "outcome"}, nil),
		status: prometheus.NewDesc("jabberdesk_channel_status",
			"1 for the IM channel's current status (ok, token_expired, rate_limited, provider_error, disabled), 0 for the others.",
			[]string{"portal", "channel", "status"}, nil),
	}
}

type collector struct {
	s                *Service
	messages, status *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.status
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for k, n := range c.s.Counts() {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.CounterValue, float64(n), k.Portal, k.Channel, k.Outcome)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	chs, err := c.s.st.Channels(ctx, "")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.status, err)
		return
	}
	now := c.s.cfg.Now()
	for _, channel := range chs {
		current := metricStatus(channel, now)
		for _, st := range metricStatuses {
			ch <- prometheus.MustNewConstMetric(c.status, prometheus.GaugeValue, one(st == current), channel.Portal, channel.Name, st)
		}
		if !slices.Contains(metricStatuses, current) {
			ch <- prometheus.MustNewConstMetric(c.status, prometheus.GaugeValue, 1, channel.Portal, channel.Name, current)
		}
	}
}

// metricStatus is a channel's status as the gauge shows it: disabled
// first, and a rate limit only while its wait lasts.
func metricStatus(ch store.Channel, now time.Time) string {
	switch {
	case ch.Disabled:
		return statusDisabled
	case ch.Status == store.ChannelRateLimited && ch.StatusUntil != nil && !ch.StatusUntil.After(now):
		return string(store.ChannelOK)
	}
	return string(ch.Status)
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
