package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"jabberdesk/bridge"
	"jabberdesk/bridge/web"
	"jabberdesk/xmppd"
)

// The admin listener (localhost by default) serves what operators and
// their tools need: /healthz, Prometheus /metrics, and net/http/pprof
// under /debug/pprof/ for profiling under load.

// metrics registers jabberdesk's Prometheus metrics; gauges and counters
// are read from the subsystems when scraped.
type metrics struct {
	reg      *prometheus.Registry
	regr     prometheus.Registerer // reg, labelled with the node's name in a cluster
	commands *prometheus.HistogramVec
	// Chats by portal (portals are few, made by administrators).
	answered, missed          *prometheus.CounterVec
	assignment, firstResponse *prometheus.HistogramVec
}

// newMetrics makes the server's metrics; in a cluster (node != "") each
// carries the label node.
func newMetrics(node string) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.regr = m.reg
	if node != "" {
		m.regr = prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, m.reg)
	}
	m.regr.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.commands = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "jabberdesk_command_seconds",
		Help:    "Time to run an agent's hash command.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"command"})
	m.regr.MustRegister(m.commands)
	chatTimes := []float64{1, 5, 10, 20, 30, 60, 120, 300, 600, 1800}
	m.answered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jabberdesk_chats_answered_total",
		Help: "Chats an agent accepted."}, []string{"portal"})
	m.missed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jabberdesk_chats_missed_total",
		Help: "Chats nobody accepted."}, []string{"portal"})
	m.assignment = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jabberdesk_chat_assignment_seconds",
		Help: "Time from a chat's start to an agent accepting it.", Buckets: chatTimes}, []string{"portal"})
	m.firstResponse = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jabberdesk_chat_first_response_seconds",
		Help: "Time from a chat's start to the first agent message.", Buckets: chatTimes}, []string{"portal"})
	m.regr.MustRegister(m.answered, m.missed, m.assignment, m.firstResponse)
	return m
}

// observeChat is the bridge's hook for chats answered, missed and first
// answered (docs/REPORTS.md §6).
func (m *metrics) observeChat(portal string, what bridge.Milestone, d time.Duration) {
	switch what {
	case bridge.Answered:
		m.answered.WithLabelValues(portal).Inc()
		m.assignment.WithLabelValues(portal).Observe(d.Seconds())
	case bridge.Missed:
		m.missed.WithLabelValues(portal).Inc()
	case bridge.FirstResponse:
		m.firstResponse.WithLabelValues(portal).Observe(d.Seconds())
	}
}

// observeCommand is the bridge's hook for command latency.
func (m *metrics) observeCommand(name string, d time.Duration) {
	m.commands.WithLabelValues(name).Observe(d.Seconds())
}

// watch registers the gauges and counters of the running subsystems (w
// is nil without an HTTP listener).
func (m *metrics) watch(x *xmppd.Server, b *bridge.Engine, w *web.Server) {
	if w != nil {
		m.regr.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "jabberdesk_http_streams", Help: "Visitors' WebSockets and long polls open."},
			func() float64 { return float64(w.OpenStreams()) }))
		m.regr.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "jabberdesk_http_connections_refused_total", Help: "Visitor API connections refused over http.connections_per_ip."},
			func() float64 { return float64(w.Refused()) }))
	}
	stat := func(name, help string, kind prometheus.ValueType, f func(xmppd.Stats) int64) {
		desc := prometheus.NewDesc(name, help, nil, nil)
		m.regr.MustRegister(funcCollector{desc: desc, collect: func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(desc, kind, float64(f(x.Stats())))
		}})
	}
	stat("jabberdesk_xmpp_connections", "Open XMPP connections.", prometheus.GaugeValue, func(s xmppd.Stats) int64 { return s.Connections })
	stat("jabberdesk_xmpp_sessions", "Bound XMPP sessions (hibernating ones included).", prometheus.GaugeValue, func(s xmppd.Stats) int64 { return s.Sessions })
	stat("jabberdesk_xmpp_logins_total", "Successful sign-ins.", prometheus.CounterValue, func(s xmppd.Stats) int64 { return s.Logins })
	stat("jabberdesk_xmpp_login_failures_total", "Failed sign-ins.", prometheus.CounterValue, func(s xmppd.Stats) int64 { return s.LoginFailures })
	stat("jabberdesk_xmpp_login_spaced_total", "Sign-in attempts that waited for their turn after repeated failures (per address or per account).", prometheus.CounterValue, func(s xmppd.Stats) int64 { return s.LoginsSpaced })
	stat("jabberdesk_xmpp_login_refused_total", "Sign-in attempts refused without a password check after repeated failures (temporary-auth-failure).", prometheus.CounterValue, func(s xmppd.Stats) int64 { return s.LoginsRefused })
	stat("jabberdesk_xmpp_stanzas_in_total", "Stanzas received from clients.", prometheus.CounterValue, func(s xmppd.Stats) int64 { return s.StanzasIn })
	stat("jabberdesk_xmpp_stanzas_out_total", "Stanzas queued for clients.", prometheus.CounterValue, func(s xmppd.Stats) int64 { return s.StanzasOut })
	chats := prometheus.NewDesc("jabberdesk_chats", "Live visitor chats by state.", []string{"state"}, nil)
	m.regr.MustRegister(funcCollector{desc: chats, collect: func(ch chan<- prometheus.Metric) {
		n := b.Counts()
		ch <- prometheus.MustNewConstMetric(chats, prometheus.GaugeValue, float64(n.Waiting), "waiting")
		ch <- prometheus.MustNewConstMetric(chats, prometheus.GaugeValue, float64(n.Offered), "offered")
		ch <- prometheus.MustNewConstMetric(chats, prometheus.GaugeValue, float64(n.Active), "active")
	}})
	queue := prometheus.NewDesc("jabberdesk_queue_length", "Chats waiting for an agent (waiting or offered).", nil, nil)
	m.regr.MustRegister(funcCollector{desc: queue, collect: func(ch chan<- prometheus.Metric) {
		n := b.Counts()
		ch <- prometheus.MustNewConstMetric(queue, prometheus.GaugeValue, float64(n.Waiting+n.Offered))
	}})
}

// funcCollector is a Prometheus collector made of a function.
type funcCollector struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (f funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f funcCollector) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

// adminHandler serves /healthz, /metrics and /debug/pprof/.
func (a *app) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthHandler(a.store.Engine(), func() int64 { return a.xmpp.Stats().Sessions }, a.healthChecks()))
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// A healthCheck is one thing /healthz checks: its name, and a function
// that says what is wrong within its context's deadline.
type healthCheck struct {
	name  string
	check func(context.Context) error
}

// healthTimeout bounds each check of /healthz.
const healthTimeout = 2 * time.Second

// healthChecks are what /healthz checks: the store answers a read and,
// in a cluster, the NATS server answers a round trip.
func (a *app) healthChecks() []healthCheck {
	checks := []healthCheck{
		{name: "store", check: a.store.Ping},
	}
	if a.cluster != nil {
		checks = append(checks, healthCheck{name: "nats", check: a.clusterHealth})
	}
	return checks
}

// healthResult is the outcome of one healthCheck.
type healthResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// healthReport is the body of /healthz.
type healthReport struct {
	Status   string         `json:"status"` // "ok" or "failing"
	Engine   string         `json:"engine"` // the store's: "sqlite" or "postgres"
	Sessions int64          `json:"sessions"`
	Checks   []healthResult `json:"checks"`
	Error    string         `json:"error,omitempty"` // the failed checks' errors, "; " between them
}

// healthHandler answers /healthz: it runs the checks at once, each within
// healthTimeout, and answers 200 when all pass, else 503 naming each
// failure as "NAME: what is wrong".
func healthHandler(engine string, sessions func() int64, checks []healthCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := healthReport{Status: "ok", Engine: engine, Sessions: sessions(), Checks: make([]healthResult, len(checks))}
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
				defer cancel()
				rep.Checks[i] = healthResult{Name: c.name, OK: true}
				if err := c.check(ctx); err != nil {
					msg := err.Error()
					if errors.Is(err, context.DeadlineExceeded) {
						msg = "no answer in time: " + msg
					}
					rep.Checks[i] = healthResult{Name: c.name, Error: c.name + ": " + strings.TrimPrefix(msg, c.name+": ")}
				}
			})
		}
		wg.Wait()
		var failed []string
		for _, c := range rep.Checks {
			if !c.OK {
				failed = append(failed, c.Error)
			}
		}
		code := http.StatusOK
		if len(failed) > 0 {
			rep.Status, rep.Error, code = "failing", strings.Join(failed, "; "), http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		// A failed write: whoever asked is gone.
		_ = json.NewEncoder(w).Encode(rep)
	})
}

// startAdmin starts the admin listener.
func (a *app) startAdmin(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for the admin endpoints on %s: %w", addr, err)
	}
	a.addrs["admin"] = ln.Addr().String()
	a.admin = &http.Server{
		Handler:           a.adminHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		// Long enough for a CPU profile or trace of up to 100 s.
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  time.Minute,
	}
	go func() {
		if err := a.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errc <- err
		}
	}()
	return nil
}
