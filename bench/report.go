package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"jabberdesk/internal/textout"
)

// JSONLine is the machine-readable line: "BENCH " and the Result as JSON.
func (res *Result) JSONLine() string {
	b, err := json.Marshal(res)
	if err != nil {
		// Only floats that are NaN or infinite could fail; none are made.
		panic("bench: " + err.Error())
	}
	return "BENCH " + string(b)
}

// WriteReport writes the readable report.
func (res *Result) WriteReport(w io.Writer) error {
	tls := "STARTTLS"
	if res.TLS == "direct" {
		tls = "direct TLS"
	}
	head := fmt.Sprintf("jabberdesk bench: %d agents on %s (%s, %s, domain %s)", res.Agents, res.Server, tls, res.Mechanism, res.Domain)
	if spread := (&Config{PortalSize: res.PortalSize, DepartmentSize: res.DepartmentSize}).PortalsText(); spread != "" {
		head += " in " + spread
	}
	if res.PID != 0 {
		head += fmt.Sprintf(", server PID %d", res.PID)
	}
	if len(res.PIDs) > 0 {
		pids := make([]string, len(res.PIDs))
		for i, pid := range res.PIDs {
			pids[i] = strconv.Itoa(pid)
		}
		head += ", server PIDs " + strings.Join(pids, ", ")
	}
	out := textout.New(w)
	out.Println(head)
	out.Println()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	rows := textout.New(tw) // keeps the first failed write for the end
	line := func(label, format string, args ...any) {
		rows.Printf("%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	lat := func(l Latency) string {
		if l.N == 0 {
			return "no samples"
		}
		return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s ms  (%d samples)", num(l.P50), num(l.P90), num(l.P99), num(l.Max), l.N)
	}

	if p := res.Provision; p != nil {
		line("Provision", "portal %s: %d accounts created, %d existed, in %.2f s (%.0f accounts/s)",
			p.Portal, p.Created, p.Existing, p.DurationMs/1000, p.PerSecond)
	}
	l := res.Login
	line("Login", "%d signed in, %d failed, in %.2f s with %d in flight", l.OK, l.Failed, l.DurationMs/1000, min(res.Concurrency, res.Agents))
	line("", "%s logins/s", num(l.PerSecond))
	line("", "latency (connect to bound)  %s", lat(l.Latency))
	if len(res.Servers) > 0 {
		per := make([]string, len(res.Servers))
		for i, s := range res.Servers {
			per[i] = fmt.Sprintf("%s %d of %d", s.Address, s.SignedIn, s.Agents)
		}
		line("", "signed in per server  %s", strings.Join(per, ", "))
	}
	summed := ""
	if len(res.PIDs) > 1 {
		summed = fmt.Sprintf(" (%d processes together)", len(res.PIDs))
	}
	if l.ServerCPUMsPerLogin != nil {
		line("", "server CPU  %s ms per login%s", num(*l.ServerCPUMsPerLogin), summed)
	}
	if l.FirstError != "" {
		line("", "first failure: %s", l.FirstError)
	}

	if m := res.Messages; m != nil {
		line("", "")
		if m.Mode == "rate" {
			line("Messages", "%g msgs/s in all from %d senders for %.1f s", m.Rate, m.Senders, m.DurationMs/1000)
		} else {
			line("Messages", "window of %d per sender, %d senders, for %.1f s", m.Window, m.Senders, m.DurationMs/1000)
		}
		if m.CrossServer != nil {
			line("", "%d of %d senders write to an agent on another server", *m.CrossServer, m.Senders)
		}
		line("", "sent %d (%s/s), delivered %d (%s/s), lost %d", m.Sent, num(m.SentPerS), m.Delivered, num(m.DeliveredPerS), m.Lost)
		if m.RateKept != nil {
			kept := "kept"
			if !*m.RateKept {
				kept = fmt.Sprintf("NOT kept: %d of %d due were sent", m.Sent, m.Scheduled)
			}
			line("", "rate %s (latest send %s ms behind schedule)", kept, num(*m.MaxLateMs))
		}
		line("", "latency  %s", lat(m.Latency))
		if m.ServerCPUMsPerMessage != nil {
			line("", "server CPU  %s ms per delivered message%s", num(*m.ServerCPUMsPerMessage), summed)
		}
		if m.Duplicates+m.OutOfOrder+m.Errors+m.SendErrors > 0 {
			line("", "duplicates %d, out of order %d, bounced %d, senders failed %d", m.Duplicates, m.OutOfOrder, m.Errors, m.SendErrors)
		}
		if m.FirstError != "" {
			line("", "first bounce: %s", m.FirstError)
		}
	}

	if i := res.Idle; i != nil {
		line("", "")
		line("Idle", "%d sessions held for %.1f s", i.Sessions, i.DurationMs/1000)
		if i.ServerRSSKiB != nil && i.ServerRSSBeforeKiB != nil {
			per := "-"
			if i.KiBPerSession != nil {
				per = num(*i.KiBPerSession)
			}
			line("", "server RSS  %d KiB before login, %d KiB now: %s KiB per session%s", *i.ServerRSSBeforeKiB, *i.ServerRSSKiB, per, summed)
		} else {
			line("", "server RSS not measured (give --pid)")
		}
	}

	if v := res.Visitors; v != nil {
		line("", "")
		line("Visitors", "%d chats: %d started, %d accepted, %d failed, in %.2f s", v.Chats, v.Started, v.Accepted, v.Failed, v.StartMs/1000)
		if len(v.HTTP) > 0 {
			per := make([]string, len(v.HTTP))
			for i, h := range v.HTTP {
				per[i] = fmt.Sprintf("%s %d of %d", h.URL, h.Started, h.Chats)
			}
			line("", "started per visitor API  %s", strings.Join(per, ", "))
		}
		line("", "accept (POST to the agent's details)  %s", lat(v.AcceptLatency))
		line("", "visitor → agent  %s; %d sent, %d lost", lat(v.VisitorToAgent.Latency), v.VisitorToAgent.Sent, v.VisitorToAgent.Lost)
		line("", "agent → visitor  %s; %d sent, %d lost", lat(v.AgentToVisitor.Latency), v.AgentToVisitor.Sent, v.AgentToVisitor.Lost)
		if v.FirstError != "" {
			line("", "first failure: %s", v.FirstError)
		}
	}

	if c := res.Commands; c != nil {
		line("", "")
		line("Commands", "#info in %d chats of %d agents for %.1f s: %d replies (%s/s), %d timed out", c.Chats, c.Agents, c.DurationMs/1000, c.Replied, num(c.PerSecond), c.TimedOut)
		line("", "round trip  %s", lat(c.Latency))
	}

	if len(res.Processes) > 0 {
		line("", "")
		for i, p := range res.Processes {
			label := ""
			if i == 0 {
				label = "Processes"
			}
			var parts []string
			if p.LoginCPUMs != nil {
				parts = append(parts, fmt.Sprintf("CPU %.2f s in the login phase", *p.LoginCPUMs/1000))
			}
			if p.MessagesCPUMs != nil {
				parts = append(parts, fmt.Sprintf("%.2f s in the message phase", *p.MessagesCPUMs/1000))
			}
			if p.RSSBeforeKiB != nil && p.RSSKiB != nil {
				parts = append(parts, fmt.Sprintf("RSS %d KiB before login, %d KiB after the idle phase", *p.RSSBeforeKiB, *p.RSSKiB))
			} else if p.RSSBeforeKiB != nil {
				parts = append(parts, fmt.Sprintf("RSS %d KiB before login", *p.RSSBeforeKiB))
			}
			if len(parts) == 0 {
				parts = append(parts, "not readable")
			}
			line(label, "PID %d: %s", p.PID, strings.Join(parts, ", "))
		}
	}

	line("", "")
	if res.Disconnected > 0 {
		line("Sessions", "%d disconnected by the server (first: %s)", res.Disconnected, res.DisconnectError)
	}
	line("Client", "RSS %d KiB, CPU %.2f s in %.1f s", res.Client.RSSKiB, res.Client.CPUMs/1000, res.Client.DurationMs/1000)
	if res.OK {
		line("Result", "OK: nothing failed, nothing lost")
	} else {
		line("Result", "FAILED: %s", strings.Join(res.Problems, "; "))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tw.Flush()
}

// num prints a figure with about three significant digits after the
// point for small values.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
