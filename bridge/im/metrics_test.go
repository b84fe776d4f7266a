package im

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jabberdesk/channels"
	"jabberdesk/channels/channelstest"
	"jabberdesk/store"
)

// gather scrapes c through a pedantic registry (which checks the metrics
// against their descriptions) into "name{label=value,…}" → value.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue()
			if mf.GetType().String() == "COUNTER" {
				v = m.GetCounter().GetValue()
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

func messagesMetric(channel, outcome string) string {
	return "jabberdesk_channel_messages_total{channel=" + channel + ",outcome=" + outcome + ",portal=acme}"
}

func statusMetric(channel, status string) string {
	return "jabberdesk_channel_status{channel=" + channel + ",portal=acme,status=" + status + "}"
}

// Sends are counted per channel and outcome; each channel has a status
// series per status, 1 for the one it is in.
func TestCollector(t *testing.T) {
	f := newFixture(t, channels.Telegram, true)
	ctx := context.Background()
	cust, chat := f.chatWith(t, "777")
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.RateLimited})
	f.waitState(t, f.queue(t, cust, chat, "first").ID, store.OutboundSent)
	f.fake.FailNext(1, channelstest.Fault{Kind: channels.TokenExpired})
	f.waitState(t, f.queue(t, cust, chat, "second").ID, store.OutboundFailed)
	off, err := f.st.AddChannel(ctx, store.NewChannel{Portal: "acme", Name: "line-off", Type: store.ChannelLINE}, "test")
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := f.st.UpdateChannel(ctx, "acme", off.Name, store.ChannelUpdate{Disabled: &yes}, "test"); err != nil {
		t.Fatal(err)
	}

	got := gather(t, f.svc.Collector())
	want := map[string]float64{
		messagesMetric("telegram", OutcomeSent):                   1,
		messagesMetric("telegram", OutcomeRetried):                1,
		messagesMetric("telegram", string(channels.TokenExpired)): 1,
	}
	for _, st := range []string{"ok", "token_expired", "rate_limited", "provider_error", "disabled"} {
		want[statusMetric("telegram", st)] = one(st == "token_expired")
		want[statusMetric("line-off", st)] = one(st == "disabled")
	}
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// A rate limit counts while the provider's wait lasts.
func TestMetricStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	for _, tc := range []struct {
		ch   store.Channel
		want string
	}{
		{store.Channel{Status: store.ChannelOK}, "ok"},
		{store.Channel{Status: store.ChannelProviderError}, "provider_error"},
		{store.Channel{Status: store.ChannelTokenExpired, Disabled: true}, "disabled"},
		{store.Channel{Status: store.ChannelRateLimited, StatusUntil: &later}, "rate_limited"},
		{store.Channel{Status: store.ChannelRateLimited, StatusUntil: &earlier}, "ok"},
	} {
		if got := metricStatus(tc.ch, now); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.ch, got, tc.want)
		}
	}
}

// A scrape while the store cannot be read fails instead of showing no
// channels.
func TestCollectorStoreError(t *testing.T) {
	f := newFixture(t, channels.Telegram, false)
	c := f.svc.Collector()
	f.st.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if _, err := reg.Gather(); err == nil {
		t.Error("gathered without a store")
	}
}
