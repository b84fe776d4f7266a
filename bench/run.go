package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// agent is one signed-in session and what the phases track for it.
type agent struct {
	idx    int // position in the ring of signed-in agents
	num    int // account number
	server int // index of its server in the --server list
	c      *Client
	to     []byte // the next agent's bare JID, escaped for an attribute

	// The message phase. sent is the sender goroutine's; lastSeq, seen and
	// fbuf are the reading goroutine's.
	window   chan struct{} // window mode: a token per message in flight
	sent     int64
	recv     atomic.Int64
	recvIn   atomic.Int64 // received before the end of the sending
	dups     atomic.Int64
	ooo      atomic.Int64
	lastRecv atomic.Int64
	lastSeq  int64
	seen     bitset
	lat      recorder
	fbuf     [5][]byte

	// The visitor and command phases.
	chats  []*vchat
	infoCh chan int64

	// ready closes when the server has answered the IQ sent right after
	// the initial presence, and so has handled the presence: a session
	// processes its stanzas in order.
	ready     chan struct{}
	readyOnce sync.Once
}

// run is one benchmark run.
type run struct {
	id      string // in message bodies, to tell this run's messages from others'
	cfg     Config
	clk     *clock
	d       *dialer
	servers []string // the XMPP servers the agents are shared out over
	// procs are each server process's figures, with several PIDs.
	procs  []ProcessResult
	agents []*agent
	// ring is agents for the reading goroutines, which started before the
	// list was complete.
	ring atomic.Pointer[[]*agent]
	res  *Result
	ctx  context.Context

	msgEnd  atomic.Int64 // when the message phase stops sending
	msgErrs atomic.Int64
	errMu   sync.Mutex
	msgErr  string

	closing  atomic.Bool
	discMu   sync.Mutex
	disc     int
	discErr  string
	rssStart *int64

	// Visitors.
	http    *http.Client
	chatsMu sync.Mutex
	chats   map[string]*vchat // by the visitor's bare JID
}

// Run runs the phases cfg asks for against a running server and returns
// what it measured. Failures of logins, messages and chats are in the
// Result (OK, Problems); the error is for a configuration that cannot run.
// Cancelling ctx ends the current phase early and skips the rest.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.Defaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	mech, _ := cfg.mechanism()
	tlsMode := "starttls"
	if cfg.DirectTLS {
		tlsMode = "direct"
	}
	r := &run{
		id:      rand.Text()[:8],
		cfg:     cfg,
		clk:     newClock(),
		ctx:     ctx,
		servers: cfg.Servers(),
		d: &dialer{
			directTLS: cfg.DirectTLS,
			domain:    cfg.Domain,
			tls: &tls.Config{ServerName: cfg.Domain, InsecureSkipVerify: !cfg.Verify, RootCAs: cfg.RootCAs,
				MinVersion: tls.VersionTLS12},
			mechanism: mech,
			timeout:   cfg.Timeout,
			resource:  "bench",
		},
		res: &Result{Server: cfg.Server, TLS: tlsMode, Domain: cfg.Domain, Mechanism: mech.Name, Agents: cfg.Agents,
			Concurrency: cfg.Concurrency, PortalSize: cfg.PortalSize, DepartmentSize: cfg.DepartmentSize},
		chats: map[string]*vchat{},
	}
	switch len(cfg.PIDs) {
	case 0:
	case 1:
		r.res.PID = cfg.PIDs[0]
	default:
		r.res.PIDs = cfg.PIDs
		r.procs = make([]ProcessResult, len(cfg.PIDs))
		for i, pid := range cfg.PIDs {
			r.procs[i].PID = pid
		}
	}
	if lim, err := RaiseFileLimit(); err == nil {
		r.res.Client.FileLimit = lim
	}
	cpu0, _ := procCPU(0)
	defer r.closeAll()

	r.login(ctx)
	if ctx.Err() == nil {
		r.awaitAvailable(ctx)
	}
	if cfg.Messages > 0 && ctx.Err() == nil {
		r.res.Messages = r.messages(ctx)
	}
	if cfg.Idle > 0 && ctx.Err() == nil {
		r.res.Idle = r.idle(ctx)
	}
	if cfg.Visitors > 0 && ctx.Err() == nil {
		r.res.Visitors = r.visitors(ctx)
		if cfg.Commands > 0 && ctx.Err() == nil {
			r.res.Commands = r.commands(ctx)
		}
		r.endChats()
	}

	r.res.Processes = r.procs
	r.res.Interrupted = ctx.Err() != nil
	r.discMu.Lock()
	r.res.Disconnected, r.res.DisconnectError = r.disc, r.discErr
	r.discMu.Unlock()
	r.res.Client.RSSKiB, _ = procRSS(0)
	cpu1, _ := procCPU(0)
	r.res.Client.CPUMs = msDur(cpu1 - cpu0)
	r.res.Client.DurationMs = ms(r.clk.now())
	r.res.judge()
	return r.res, nil
}

// judge sets OK and Problems.
func (res *Result) judge() {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if res.Login.Failed > 0 {
		add("%d of %d logins failed (first: %s)", res.Login.Failed, res.Login.Attempted, res.Login.FirstError)
	}
	if res.Login.OK == 0 {
		add("no session could sign in")
	}
	if m := res.Messages; m != nil {
		if m.Lost > 0 {
			add("%d of %d messages lost", m.Lost, m.Sent)
		}
		if m.SendErrors > 0 {
			add("%d senders could not write", m.SendErrors)
		}
	}
	if v := res.Visitors; v != nil {
		if v.Failed > 0 {
			add("%d of %d visitor chats failed (first: %s)", v.Failed, v.Chats, v.FirstError)
		}
		if n := v.VisitorToAgent.Lost + v.AgentToVisitor.Lost; n > 0 {
			add("%d visitor chat messages lost", n)
		}
	}
	if c := res.Commands; c != nil && c.TimedOut > 0 {
		add("%d #info commands got no reply", c.TimedOut)
	}
	if res.Disconnected > 0 {
		add("%d sessions were disconnected (first: %s)", res.Disconnected, res.DisconnectError)
	}
	if res.Interrupted {
		add("interrupted")
	}
	res.Problems = p
	res.OK = len(p) == 0
}

func (r *run) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		_, _ = fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...) // progress on stderr: nowhere to report a failure
	}
}

// serverCPU reads the CPU time of the server processes: their sum, and
// each one's (nil where it could not be read); ok is false without PIDs
// or when a process could not be read.
func (r *run) serverCPU() (sum time.Duration, each []*time.Duration, ok bool) {
	if len(r.cfg.PIDs) == 0 {
		return 0, nil, false
	}
	ok = true
	each = make([]*time.Duration, len(r.cfg.PIDs))
	for i, pid := range r.cfg.PIDs {
		d, err := procCPU(pid)
		if err != nil {
			ok = false
			continue
		}
		each[i] = &d
		sum += d
	}
	return sum, each, ok
}

// serverRSS reads the RSS of the server processes: their sum (nil
// without PIDs or when a process could not be read) and each one's.
func (r *run) serverRSS() (sum *int64, each []*int64) {
	if len(r.cfg.PIDs) == 0 {
		return nil, nil
	}
	var total int64
	complete := true
	each = make([]*int64, len(r.cfg.PIDs))
	for i, pid := range r.cfg.PIDs {
		v, err := procRSS(pid)
		if err != nil {
			complete = false
			continue
		}
		each[i] = &v
		total += v
	}
	if !complete {
		return nil, each
	}
	return &total, each
}

// cpuUsed is what each server process used between two readings of
// serverCPU, in ms (nil where either reading failed), when there are
// several processes; nil with one or none.
func (r *run) cpuUsed(before, after []*time.Duration) []*float64 {
	if r.procs == nil {
		return nil
	}
	out := make([]*float64, len(r.procs))
	for i := range out {
		if i < len(before) && i < len(after) && before[i] != nil && after[i] != nil {
			out[i] = ptr(msDur(*after[i] - *before[i]))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// login signs Agents sessions in, Concurrency at a time.
func (r *run) login(ctx context.Context) {
	cfg := r.cfg
	n := cfg.Agents
	var rssEach []*int64
	r.rssStart, rssEach = r.serverRSS()
	for i := range r.procs {
		r.procs[i].RSSBeforeKiB = rssEach[i]
	}
	if len(r.servers) > 1 {
		r.progress("login: %d agents, %d at a time, on %d servers (%s)", n, cfg.Concurrency, len(r.servers), strings.Join(r.servers, ", "))
	} else {
		r.progress("login: %d agents, %d at a time, on %s", n, cfg.Concurrency, cfg.Server)
	}
	slots := make([]*agent, n)
	lat := make([]int64, n)
	var next, attempted, failed atomic.Int64
	var errMu sync.Mutex
	var firstErr string
	var firstAt int64
	cpu0, cpuEach0, haveCPU := r.serverCPU()
	start := r.clk.now()
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				attempted.Add(1)
				account := cfg.AccountJID(i)
				t0 := r.clk.now()
				server := i % len(r.servers)
				c, err := r.d.dial(ctx, r.servers[server], account, cfg.AccountPassword(i))
				if err != nil && ctx.Err() != nil {
					attempted.Add(-1) // interrupted, not failed
					return
				}
				if err != nil {
					failed.Add(1)
					at := r.clk.now()
					errMu.Lock()
					if firstErr == "" || at < firstAt {
						firstErr, firstAt = account+": "+err.Error(), at
					}
					errMu.Unlock()
					continue
				}
				lat[i] = r.clk.now() - t0
				a := &agent{num: cfg.number(i), server: server, c: c, infoCh: make(chan int64, 1), ready: make(chan struct{})}
				if cfg.Messages > 0 && cfg.Rate == 0 {
					a.window = make(chan struct{}, cfg.Window)
				}
				slots[i] = a
				c.start(r.clk, func(c *Client, st *Stanza) { r.handle(a, st) }, r.ended)
				// A failed send breaks the connection, which the reader
				// reports (r.ended).
				_ = c.Send([]byte("<presence/><iq type='get' id='" + readyID + "'><ping xmlns='urn:xmpp:ping'/></iq>"))
			}
		}()
	}
	wg.Wait()
	dur := r.clk.now() - start
	cpu1, cpuEach1, _ := r.serverCPU()
	var ok []int64
	for i, a := range slots {
		if a != nil {
			a.idx = len(r.agents)
			r.agents = append(r.agents, a)
			ok = append(ok, lat[i])
		}
	}
	for i, a := range r.agents {
		a.to = []byte(escape(r.agents[(i+1)%len(r.agents)].c.Bare))
	}
	ring := r.agents
	r.ring.Store(&ring)
	lr := LoginResult{Attempted: int(attempted.Load()), OK: len(ok), Failed: int(failed.Load()), FirstError: firstErr,
		DurationMs: ms(dur), Latency: summarize(ok)}
	if dur > 0 {
		lr.PerSecond = round3(float64(len(ok)) / (float64(dur) / 1e9))
	}
	if haveCPU {
		lr.ServerCPUMs = ptr(msDur(cpu1 - cpu0))
		if len(ok) > 0 {
			lr.ServerCPUMsPerLogin = ptr(round3(*lr.ServerCPUMs / float64(len(ok))))
		}
	}
	for i, d := range r.cpuUsed(cpuEach0, cpuEach1) {
		r.procs[i].LoginCPUMs = d
	}
	if len(r.servers) > 1 {
		r.res.Servers = make([]ServerShare, len(r.servers))
		for i, s := range r.servers {
			r.res.Servers[i].Address = s
			r.res.Servers[i].Agents = n / len(r.servers)
			if i < n%len(r.servers) {
				r.res.Servers[i].Agents++
			}
		}
		for _, a := range r.agents {
			r.res.Servers[a.server].SignedIn++
		}
	}
	r.res.Login = lr
	r.progress("login: %d signed in, %d failed in %.2f s (%.1f/s)", lr.OK, lr.Failed, lr.DurationMs/1000, lr.PerSecond)
}

// readyID is the id of the IQ each agent sends after its initial
// presence. Any answer, result or error, will do.
const readyID = "jdbench-ready"

// awaitAvailable waits, up to the drain time, until the server has handled
// every agent's initial presence. Until then a server may take an agent
// for unavailable and keep a message to it offline (RFC 6121 §8.5.2.1.1),
// which the message phase would count as lost.
func (r *run) awaitAvailable(ctx context.Context) {
	limit := time.NewTimer(r.cfg.Drain)
	defer limit.Stop()
	for _, a := range r.agents {
		select {
		case <-a.ready:
		case <-limit.C:
			r.progress("login: not every session's initial presence was answered within %v", r.cfg.Drain)
			return
		case <-ctx.Done():
			return
		}
	}
}

// ended notes a session that stopped reading; the ones the run closes
// itself do not count.
func (r *run) ended(c *Client, err error) {
	if r.closing.Load() {
		return
	}
	r.discMu.Lock()
	defer r.discMu.Unlock()
	r.disc++
	if r.discErr == "" {
		r.discErr = c.Bare + ": " + err.Error()
	}
}

// closeAll ends every session.
func (r *run) closeAll() {
	r.closing.Store(true)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, a := range r.agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			a.c.Close()
			<-sem
		}()
	}
	wg.Wait()
}

// handle is every session's stanza handler, on its reading goroutine.
func (r *run) handle(a *agent, st *Stanza) {
	if st.Name == "iq" && bytes.Equal(st.Attr("id"), []byte(readyID)) {
		a.readyOnce.Do(func() { close(a.ready) })
		return
	}
	if st.Name != "message" {
		return
	}
	b := st.Body()
	if b == nil {
		return
	}
	if bytes.HasPrefix(b, []byte("jdbench ")) {
		if !bytes.HasPrefix(b[len("jdbench "):], []byte(r.id)) {
			return // an earlier run's, kept offline by the server
		}
		if bytes.Equal(st.Attr("type"), []byte("error")) {
			r.msgErrs.Add(1)
			r.errMu.Lock()
			if r.msgErr == "" {
				r.msgErr = string(st.Attr("from")) + ": " + stanzaErrorText(st.Raw)
			}
			r.errMu.Unlock()
			return
		}
		r.received(a, st, b)
		return
	}
	if from := bare(st.Attr("from")); bytes.Contains(from, []byte("|v-")) {
		r.fromVisitor(a, st, from, b)
	}
}

// received counts a message of the message phase: "jdbench RUN SENDER
// SEQ SENT", SENT on the run's clock. Messages of another run (offline
// messages a server kept from an earlier one) are not counted.
func (r *run) received(a *agent, st *Stanza, b []byte) {
	f := fields(b, a.fbuf[:0:5])
	if len(f) != 5 || string(f[1]) != r.id {
		return
	}
	s, ok1 := atoi(f[2])
	seq, ok2 := atoi(f[3])
	ts, ok3 := atoi(f[4])
	ring := r.ring.Load()
	if !ok1 || !ok2 || !ok3 || ring == nil || s >= int64(len(*ring)) {
		return
	}
	if !a.seen.set(seq) {
		a.dups.Add(1)
		return
	}
	if seq < a.lastSeq {
		a.ooo.Add(1)
	}
	a.lastSeq = max(a.lastSeq, seq)
	a.lat.add(st.At - ts)
	a.lastRecv.Store(st.At)
	a.recv.Add(1)
	if st.At <= r.msgEnd.Load() {
		a.recvIn.Add(1)
	}
	if w := (*ring)[s].window; w != nil {
		select {
		case <-w:
		default:
		}
	}
}

// messages is the message phase: agent i writes to agent i+1.
func (r *run) messages(ctx context.Context) *MessageResult {
	cfg := r.cfg
	n := len(r.agents)
	mr := &MessageResult{Mode: "window", Window: cfg.Window, Senders: n}
	if cfg.Rate > 0 {
		mr.Mode, mr.Window, mr.Rate = "rate", 0, cfg.Rate
	}
	if n == 0 {
		return mr
	}
	if cfg.Rate > 0 {
		r.progress("messages: %d senders at %g msgs/s in all for %v", n, cfg.Rate, cfg.Messages)
	} else {
		r.progress("messages: %d senders, %d in flight each, for %v", n, cfg.Window, cfg.Messages)
	}
	if len(r.servers) > 1 {
		cross := 0
		for i, a := range r.agents {
			if a.server != r.agents[(i+1)%n].server {
				cross++
			}
		}
		mr.CrossServer = &cross
		r.progress("messages: %d of %d senders write to an agent on another server", cross, n)
	}
	cpu0, cpuEach0, haveCPU := r.serverCPU()
	start := r.clk.now()
	deadline := start + int64(cfg.Messages)
	r.msgEnd.Store(deadline)
	stop := make(chan struct{})
	timer := time.AfterFunc(cfg.Messages, func() { close(stop) })
	defer timer.Stop()
	cancelStop := context.AfterFunc(ctx, func() {
		if timer.Stop() {
			close(stop)
		}
	})
	defer cancelStop()
	var sendErrs atomic.Int64
	var scheduled, maxLate atomic.Int64
	var wg sync.WaitGroup
	for _, a := range r.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if cfg.Rate > 0 {
				var due, late int64
				due, late, err = r.sendAtRate(a, start, deadline, stop)
				scheduled.Add(due)
				for m := maxLate.Load(); late > m && !maxLate.CompareAndSwap(m, late); m = maxLate.Load() {
				}
			} else {
				err = r.sendWindowed(a, stop)
			}
			if err != nil {
				sendErrs.Add(1)
			}
		}()
	}
	wg.Wait()
	sendEnd := r.clk.now()
	var sent int64
	for _, a := range r.agents {
		sent += a.sent
	}
	// Drain: wait for what is still under way (also when interrupted, so
	// that messages in flight are not taken for lost).
	delivered := func() int64 {
		var d int64
		for _, a := range r.agents {
			d += a.recv.Load()
		}
		return d
	}
	for delivered() < sent && r.clk.now()-sendEnd < int64(cfg.Drain) {
		time.Sleep(5 * time.Millisecond)
	}
	drain := r.clk.now() - sendEnd
	cpu1, cpuEach1, _ := r.serverCPU()
	for i, d := range r.cpuUsed(cpuEach0, cpuEach1) {
		r.procs[i].MessagesCPUMs = d
	}
	var lat []int64
	var last, within int64
	for _, a := range r.agents {
		within += a.recvIn.Load()
		mr.Delivered += a.recv.Load()
		mr.Duplicates += a.dups.Load()
		mr.OutOfOrder += a.ooo.Load()
		last = max(last, a.lastRecv.Load())
		lat = append(lat, a.lat.take()...)
	}
	mr.Sent = sent
	mr.Lost = max(0, sent-mr.Delivered)
	mr.Errors = r.msgErrs.Load()
	r.errMu.Lock()
	mr.FirstError = r.msgErr
	r.errMu.Unlock()
	mr.SendErrors = sendErrs.Load()
	mr.DurationMs = ms(sendEnd - start)
	mr.DrainMs = ms(drain)
	if d := sendEnd - start; d > 0 {
		mr.SentPerS = round3(float64(sent) / (float64(d) / 1e9))
	}
	if d := min(last, sendEnd) - start; d > 0 {
		mr.DeliveredPerS = round3(float64(within) / (float64(d) / 1e9))
	}
	if cfg.Rate > 0 {
		mr.Scheduled = scheduled.Load()
		mr.RateKept = ptr(float64(sent) >= 0.99*float64(mr.Scheduled))
		mr.MaxLateMs = ptr(ms(maxLate.Load()))
	}
	mr.Latency = summarize(lat)
	if haveCPU {
		mr.ServerCPUMs = ptr(msDur(cpu1 - cpu0))
		if mr.Delivered > 0 {
			mr.ServerCPUMsPerMessage = ptr(round3(*mr.ServerCPUMs / float64(mr.Delivered)))
		}
	}
	r.progress("messages: %d sent, %d delivered (%.0f/s), %d lost", mr.Sent, mr.Delivered, mr.DeliveredPerS, mr.Lost)
	return mr
}

// message appends the stanza of a message of the message phase.
func (r *run) message(buf []byte, a *agent, seq int64) []byte {
	buf = append(buf, "<message type='chat' to='"...)
	buf = append(buf, a.to...)
	buf = append(buf, "'><body>jdbench "...)
	buf = append(buf, r.id...)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(a.idx), 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, r.clk.now(), 10)
	return append(buf, "</body></message>"...)
}

// sendWindowed keeps up to Window messages of a in flight until stop.
// When several slots are free at once, their messages go out in one
// write, as a client with a backlog would send them.
func (r *run) sendWindowed(a *agent, stop <-chan struct{}) error {
	buf := make([]byte, 0, 160*cap(a.window))
	seq := int64(0)
	for {
		select {
		case a.window <- struct{}{}:
		case <-stop:
			return nil
		}
		select {
		case <-stop:
			return nil
		default:
		}
		seq++
		buf = r.message(buf[:0], a, seq)
		n := int64(1)
	more:
		for {
			select {
			case a.window <- struct{}{}:
				seq++
				buf = r.message(buf, a, seq)
				n++
			default:
				break more
			}
		}
		if err := a.c.Send(buf); err != nil {
			return err
		}
		a.sent += n
	}
}

// sendAtRate sends a's share of the total rate on a fixed schedule, the
// senders spread evenly over one interval, until deadline. It returns
// how many messages were due and how late the latest one went out.
func (r *run) sendAtRate(a *agent, start, deadline int64, stop <-chan struct{}) (due, maxLate int64, err error) {
	n := int64(len(r.agents))
	interval := int64(float64(n) / r.cfg.Rate * 1e9)
	first := start + interval*int64(a.idx)/n
	if first < deadline {
		due = (deadline-first-1)/interval + 1
	}
	buf := make([]byte, 0, 160)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for k := int64(0); k < due; k++ {
		at := first + k*interval
		if wait := at - r.clk.now(); wait > 0 {
			t.Reset(time.Duration(wait))
			select {
			case <-t.C:
			case <-stop:
				return due, maxLate, nil
			}
		}
		now := r.clk.now()
		if now >= deadline {
			return due, maxLate, nil // behind schedule: the rest is not sent
		}
		select {
		case <-stop:
			return due, maxLate, nil
		default:
		}
		maxLate = max(maxLate, now-at)
		buf = r.message(buf[:0], a, k+1)
		if err := a.c.Send(buf); err != nil {
			return due, maxLate, err
		}
		a.sent++
	}
	return due, maxLate, nil
}

// idle holds the sessions and reads the server's memory.
func (r *run) idle(ctx context.Context) *IdleResult {
	r.progress("idle: holding %d sessions for %v", len(r.agents), r.cfg.Idle)
	start := r.clk.now()
	select {
	case <-time.After(r.cfg.Idle):
	case <-ctx.Done():
	}
	ir := &IdleResult{DurationMs: ms(r.clk.now() - start), Sessions: r.live()}
	ir.ServerRSSBeforeKiB = r.rssStart
	var rssEach []*int64
	ir.ServerRSSKiB, rssEach = r.serverRSS()
	for i := range r.procs {
		r.procs[i].RSSKiB = rssEach[i]
	}
	if ir.ServerRSSBeforeKiB != nil && ir.ServerRSSKiB != nil && ir.Sessions > 0 {
		ir.KiBPerSession = ptr(round3(float64(*ir.ServerRSSKiB-*ir.ServerRSSBeforeKiB) / float64(ir.Sessions)))
	}
	return ir
}

// live counts the sessions still up.
func (r *run) live() int {
	n := 0
	for _, a := range r.agents {
		select {
		case <-a.c.Done():
		default:
			n++
		}
	}
	return n
}

// bitset records which sequence numbers a receiver has seen.
type bitset []uint64

// set marks n and says whether it was new.
func (b *bitset) set(n int64) bool {
	w := int(n / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w-len(*b)+1+len(*b)/2)...)
	}
	m := uint64(1) << (n % 64)
	if (*b)[w]&m != 0 {
		return false
	}
	(*b)[w] |= m
	return true
}
