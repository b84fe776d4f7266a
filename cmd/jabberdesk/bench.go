package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"jabberdesk/address"
	"jabberdesk/bench"
	"jabberdesk/internal/control"
	"jabberdesk/store"
)

func newBenchCmd(e *env) *cobra.Command {
	var cfg bench.Config
	var provision bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a running XMPP server (jabberdesk, Prosody, ejabberd) with synthetic agents and visitors",
		Long: `Bench drives a running server over real TLS with synthetic agents and
prints a report, then one line "BENCH {json}" with every figure (durations
in milliseconds) for scripts; --json prints only that line. The exit status
is 1 when anything failed or was lost: a login, a message, a visitor chat or
its messages, an #info reply, a session the server dropped.

The agent phases speak plain XMPP (RFC 6120/6121), so bench measures any
server: point --server at Prosody or ejabberd with accounts that exist
there (--account agent%d, --password FORMAT). The visitor phases use
jabberdesk's visitor API.

Phases, in this order:
  login     --agents sessions sign in, --concurrency at a time (STARTTLS, or
            direct TLS with --tls; SASL --mechanism), bind and send presence:
            logins/s, latency from connect to bound, failures
  messages  (--messages DURATION) agent i writes to agent i+1, the last to
            the first; --window messages in flight per sender, or a fixed
            total --rate; the body carries the send time: delivered/s,
            latency, lost (not received after a drain wait of 5 s)
  idle      (--idle DURATION) hold the sessions; with --pid the server's RSS
            before login and now, per session
  visitors  (--visitors M) M chats through POST /api/v1/chats to --portal and
            --department, followed on their WebSocket; every agent offered a
            chat answers y, the first wins; then --visitor-messages each way:
            visitor-to-agent and agent-to-visitor latency
  commands  (--commands DURATION) agents in active chats send #info and wait
            for the reply: round-trip latency

With --pid (the server's process id, on this machine) bench reads the
server's CPU time (/proc/PID/stat) around the login and message phases and
reports CPU milliseconds per login and per delivered message.

Several servers (the nodes of a jabberdesk cluster): --server takes a
comma-separated list and agent i (from 0) signs in to the (i mod n)-th,
so that in the message phase each agent writes to one on another server
(the report says how many); --http likewise shares the visitor chats
out, and --pid takes every server's process id, comma-separated: CPU
time and RSS are their sums, and each process's are reported too.

--provision first creates the accounts in jabberdesk's own database (the
one --config names, like other commands): the portal (the part of --account
before "|") if missing, --department if given, and the agents with their
passwords (existing ones are kept). Provisioned agents take up to
max(5, visitors/agents) chats. A running server is told at once.

--portal-size N spreads the accounts over portals of N agents: the portal
part of --account gets the portal's number (acme1|agent1 … acme1|agentN,
acme2|agentN+1, …, by account number); --provision creates every portal.
--department-size M puts the provisioned agents of each portal in
departments of M ("team 1", "team 2", …), which shapes department rosters
(docs/AGENTS.md §3.1).

Bench raises its open-file limit to the hard limit; for thousands of
sessions against jabberdesk set [limits] connections_per_ip = 0 (and, for
many visitor chats, a high [http] chat_rate and chat_burst) on the server.`,
		Example: `  jabberdesk bench --provision --agents 1000
  jabberdesk bench --agents 1000 --messages 10s --pid $(pidof jabberdesk)
  jabberdesk bench --agents 1000 --messages 10s --rate 2000 --mechanism PLAIN
  jabberdesk bench --agents 5000 --idle 10s --pid $(pidof jabberdesk)
  jabberdesk bench --agents 100 --visitors 500 --commands 10s
  jabberdesk bench --provision --agents 5000 --portal-size 50 --department-size 50
  jabberdesk bench --server 127.0.0.1:5222 --account 'agent%d' --agents 1000 --messages 10s --json
  jabberdesk bench --server 127.0.0.1:6222,127.0.0.1:6232 --agents 1000 --messages 10s --pid 4211,4260`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Defaults()
			if err := cfg.Check(); err != nil {
				return &usageError{err}
			}
			for _, pid := range cfg.PIDs {
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil {
					return usagef("--pid %d: no such process on this machine", pid)
				}
			}
			if !e.jsonOut {
				cfg.Progress = cmd.ErrOrStderr()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var prov *bench.ProvisionResult
			if provision {
				var err error
				if prov, err = e.provisionAgents(ctx, cmd, cfg); err != nil {
					return err
				}
			}
			res, err := bench.Run(ctx, cfg)
			if err != nil {
				return err
			}
			res.Provision = prov
			out := cmd.OutOrStdout()
			if !e.jsonOut {
				if err := res.WriteReport(out); err != nil {
					return err
				}
				if _, err := fmt.Fprintln(out); err != nil {
					return err
				}
			}
			if _, err := fmt.Fprintln(out, res.JSONLine()); err != nil {
				return err
			}
			if !res.OK {
				return errors.New(strings.Join(res.Problems, "; "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", bench.DefaultServer, "XMPP server `HOST:PORT`; several comma-separated: agent i signs in to the (i mod n)-th")
	f.BoolVar(&cfg.DirectTLS, "tls", false, "TLS from the first byte (direct TLS) instead of STARTTLS")
	f.StringVar(&cfg.Domain, "domain", bench.DefaultDomain, "XMPP `DOMAIN`, also the TLS server name")
	f.BoolVar(&cfg.Verify, "verify", false, "verify the server's certificate (default: not verified)")
	f.IntVar(&cfg.Agents, "agents", bench.DefaultAgents, "`N` agent sessions")
	f.StringVar(&cfg.Account, "account", bench.DefaultAccount, "account `FORMAT`: %d is the agent's number; @DOMAIN is added unless given")
	f.StringVar(&cfg.Password, "password", bench.DefaultPassword, "password `FORMAT`; %d (optional) is the agent's number")
	f.IntVar(&cfg.First, "first", 1, "number of the first account")
	f.StringVar(&cfg.Mechanism, "mechanism", bench.DefaultMechanism, "SASL `MECHANISM`: SCRAM-SHA-256 or PLAIN")
	f.IntVar(&cfg.Concurrency, "concurrency", bench.DefaultConcurrency, "`N` logins (and visitor chat starts) in flight")
	f.DurationVar(&cfg.Messages, "messages", 0, "run the message phase for `DURATION` (0: skip it)")
	f.Float64Var(&cfg.Rate, "rate", 0, "`N` messages per second in all, at a fixed rate (0: window mode)")
	f.IntVar(&cfg.Window, "window", bench.DefaultWindow, "`N` messages in flight per sender in window mode")
	f.DurationVar(&cfg.Idle, "idle", 0, "hold the sessions for `DURATION` and measure the server's memory")
	f.IntSliceVar(&cfg.PIDs, "pid", nil, "the server's process `PID`, for its CPU time and RSS (from /proc); several comma-separated: summed")
	f.IntVar(&cfg.Visitors, "visitors", 0, "`M` visitor chats through jabberdesk's visitor API")
	f.StringVar(&cfg.HTTP, "http", bench.DefaultHTTP, "jabberdesk's visitor API `URL`; several comma-separated: chat i goes through the (i mod n)-th")
	f.StringVar(&cfg.Portal, "portal", "", "`PORTAL` of the visitor chats (default: --account up to \"|\")")
	f.StringVar(&cfg.Department, "department", "", "`DEPARTMENT` of the visitor chats (default: none, any agent)")
	f.IntVar(&cfg.VisitorMessages, "visitor-messages", bench.DefaultVisitorMessages, "`N` messages each way per visitor chat")
	f.DurationVar(&cfg.Commands, "commands", 0, "send #info in active chats for `DURATION` (needs --visitors)")
	f.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "bound on one login, one reply and one HTTP call")
	f.IntVar(&cfg.PortalSize, "portal-size", 0, "spread the accounts over portals of `N` agents: PORTAL1|agent1…, PORTAL2|… (0: one portal)")
	f.IntVar(&cfg.DepartmentSize, "department-size", 0, "with --provision, put each portal's agents in departments of `N` (\"team 1\", …; 0: none)")
	f.BoolVar(&provision, "provision", false, "create the portal and the agents' accounts in jabberdesk's database first")
	return cmd
}

// provisionAgents creates the bench's accounts in the store: each
// portal if missing, the departments (--department, or the teams of
// --department-size) if missing, and the agents that do not exist yet.
func (e *env) provisionAgents(ctx context.Context, cmd *cobra.Command, cfg bench.Config) (*bench.ProvisionResult, error) {
	if _, _, ok := address.SplitLocal(cfg.Account); !ok {
		return nil, usagef("--provision needs an --account like PORTAL|agent%%d (jabberdesk accounts are PORTAL|USERNAME)")
	}
	st, err := e.store()
	if err != nil {
		return nil, err
	}
	// run closes the store too and reports its error; this close only
	// frees it before the benchmark starts.
	defer func() { _ = e.close() }()
	start := time.Now()
	portals, byPortal := benchAgents(cfg)
	if cfg.Progress != nil {
		_, _ = fmt.Fprintf(cfg.Progress, "bench: provisioning %d agents in %d portal(s) from %s\n", cfg.Agents, len(portals), portals[0]) // stderr: nowhere to report a failure
	}
	created := 0
	for _, portal := range portals {
		n, err := provisionPortal(ctx, st, portal, byPortal[portal])
		if err != nil {
			return nil, err
		}
		created += n
		e.notify(cmd, control.OpAgentsChanged, portal)
	}
	took := time.Since(start)
	pr := &bench.ProvisionResult{Portal: portals[0], Created: created, Existing: cfg.Agents - created,
		DurationMs: float64(took.Microseconds()) / 1000}
	if len(portals) > 1 {
		pr.Portals = len(portals)
	}
	if took > 0 {
		pr.PerSecond = float64(int64(float64(created)/took.Seconds()*10+0.5)) / 10
	}
	if cfg.Progress != nil {
		_, _ = fmt.Fprintf(cfg.Progress, "bench: provisioned %d agents (%d existed) in %.2f s\n", created, pr.Existing, took.Seconds()) // stderr: nowhere to report a failure
	}
	return pr, nil
}

// benchAgents are the agents to provision, by portal, and the portals in
// the order of their first agent.
func benchAgents(cfg bench.Config) ([]string, map[string][]store.NewAgent) {
	maxChats := max(store.DefaultMaxChats, (cfg.Visitors+cfg.Agents-1)/cfg.Agents)
	var portals []string
	byPortal := map[string][]store.NewAgent{}
	for i := range cfg.Agents {
		portal, name, _ := address.SplitLocal(cfg.AccountName(i))
		var depts []string
		if d := cfg.AccountDepartment(i); d != "" {
			depts = []string{d}
		} else if cfg.Department != "" {
			depts = []string{cfg.Department}
		}
		if _, ok := byPortal[portal]; !ok {
			portals = append(portals, portal)
		}
		byPortal[portal] = append(byPortal[portal], store.NewAgent{Username: name, DisplayName: "Bench " + name,
			Email: strings.ToLower(name) + "@bench.invalid", Departments: depts, MaxChats: maxChats, Password: cfg.AccountPassword(i)})
	}
	return portals, byPortal
}

// provisionPortal creates a portal and the departments of its agents if
// missing, then the agents that do not exist yet; it returns how many
// it created.
func provisionPortal(ctx context.Context, st *store.Store, portal string, agents []store.NewAgent) (int, error) {
	if _, err := st.Portal(ctx, portal); errors.Is(err, store.ErrNotFound) {
		if _, err := st.AddPortal(ctx, portal, actor()); err != nil {
			return 0, err
		}
	} else if err != nil {
		return 0, err
	}
	made := map[string]bool{}
	for _, a := range agents {
		for _, d := range a.Departments {
			if made[d] {
				continue
			}
			made[d] = true
			if _, err := st.Department(ctx, portal, d); errors.Is(err, store.ErrNotFound) {
				if _, err := st.AddDepartment(ctx, portal, d, "", "", actor()); err != nil {
					return 0, err
				}
			} else if err != nil {
				return 0, err
			}
		}
	}
	return st.AddAgentsBulk(ctx, portal, agents, actor())
}
