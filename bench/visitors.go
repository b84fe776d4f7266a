package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// vchat is one visitor chat. The agent side finds it by the visitor's JID
// (a contact PORTAL|v-N@DOMAIN), possibly before the POST that started it
// has returned.
type vchat struct {
	jid      string
	accepted chan struct{} // closed when an agent read the chat's details
	once     sync.Once
	agent    atomic.Pointer[agent]
	acceptAt atomic.Int64
	over     chan struct{} // closed when the visitor's socket says the chat ended
	overOnce sync.Once
	reason   atomic.Value  // string: why it ended
	gotV     chan [2]int64 // round, latency: the agent read the visitor's message
	gotA     chan [2]int64 // round, latency: the visitor read the agent's message

	// Set by the goroutine that started the chat.
	base      string // the visitor API it went through
	id, token string
	created   int64
	ws        *websocket.Conn
}

// chat returns the chat of a visitor JID, creating it if needed.
func (r *run) chat(jid string) *vchat {
	r.chatsMu.Lock()
	defer r.chatsMu.Unlock()
	vc := r.chats[jid]
	if vc == nil {
		vc = &vchat{jid: jid, accepted: make(chan struct{}), over: make(chan struct{}),
			gotV: make(chan [2]int64, 1), gotA: make(chan [2]int64, 1)}
		r.chats[jid] = vc
	}
	return vc
}

// fromVisitor handles what an agent gets from a visitor contact: the
// visitor's bench messages, replies to #info, offers (answered y) and the
// details that say the agent won the chat.
func (r *run) fromVisitor(a *agent, st *Stanza, from, b []byte) {
	switch {
	case bytes.HasPrefix(b, []byte("jdv ")):
		round, ts, ok := roundAndTime(b)
		if !ok {
			return
		}
		r.chatsMu.Lock()
		vc := r.chats[string(from)]
		r.chatsMu.Unlock()
		if vc != nil {
			select {
			case vc.gotV <- [2]int64{round, st.At - ts}:
			default:
			}
		}
	case bytes.Contains(b, []byte("Visitor last seen")):
		select {
		case a.infoCh <- st.At:
		default:
		}
	case bytes.Contains(b, []byte("Reply y to accept")):
		// A failed send breaks the connection, which the reader reports.
		_ = a.c.Send([]byte("<message type='chat' to='" + escape(string(from)) + "'><body>y</body></message>"))
	case bytes.Contains(b, []byte("You are chatting with")):
		// "» You are chatting with …": the details the winner of the y
		// race gets (the reply to #info holds them too, so it is matched
		// first).
		vc := r.chat(string(from))
		vc.once.Do(func() {
			vc.agent.Store(a)
			vc.acceptAt.Store(st.At)
			close(vc.accepted)
		})
	}
}

// roundAndTime parses "jdv ROUND SENT" or "jda ROUND SENT".
func roundAndTime(b []byte) (round, ts int64, ok bool) {
	var buf [3][]byte
	f := fields(b, buf[:0:3])
	if len(f) != 3 {
		return 0, 0, false
	}
	round, ok1 := atoi(f[1])
	ts, ok2 := atoi(f[2])
	return round, ts, ok1 && ok2
}

// apiError is the visitor API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// api calls the visitor API at base and decodes a JSON answer into out.
func (r *run) api(ctx context.Context, base, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }() // read as far as needed: closing loses nothing
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		var ae apiError
		if json.Unmarshal(data, &ae) == nil && ae.Error.Message != "" {
			msg := fmt.Sprintf("%s %s: %d %s", method, path, res.StatusCode, ae.Error.Message)
			if res.StatusCode == http.StatusTooManyRequests {
				msg += " (raise [http] chat_rate and chat_burst in the server's configuration)"
			}
			return errors.New(msg)
		}
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// failures records failures and the first one.
type failures struct {
	mu    sync.Mutex
	n     int
	first string
}

func (f *failures) add(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.first == "" {
		f.first = err.Error()
	}
}

// visitors is the visitor phase: chats started through the visitor API,
// accepted by the agents, then messages both ways.
func (r *run) visitors(ctx context.Context) *VisitorResult {
	cfg := r.cfg
	m := cfg.Visitors
	vr := &VisitorResult{Chats: m, MessagesPerChat: cfg.VisitorMessages}
	r.progress("visitors: %d chats to portal %q through %s", m, cfg.Portal, cfg.HTTP)
	conns := max(cfg.Concurrency, min(m, 4096))
	r.http = &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}}
	bases := cfg.HTTPBases()
	wsBases := make([]string, len(bases))
	for i, b := range bases {
		ws, err := url.Parse(b)
		if err != nil {
			vr.Failed, vr.FirstError = m, fmt.Sprintf("--http %q: %v", b, err)
			return vr
		}
		ws.Scheme = strings.Replace(ws.Scheme, "http", "ws", 1)
		wsBases[i] = strings.TrimSuffix(ws.String(), "/")
	}

	var fail failures
	chats := make([]*vchat, m)
	var next atomic.Int64
	start := r.clk.now()
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, m) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= m || ctx.Err() != nil {
					return
				}
				vc, err := r.startChat(ctx, i, bases[i%len(bases)], wsBases[i%len(bases)])
				if err != nil {
					fail.add(err)
					continue
				}
				chats[i] = vc
			}
		}()
	}
	wg.Wait()
	if len(bases) > 1 {
		vr.HTTP = make([]HTTPShare, len(bases))
		for i, b := range bases {
			vr.HTTP[i].URL = b
		}
		for i, vc := range chats {
			vr.HTTP[i%len(bases)].Chats++
			if vc != nil {
				vr.HTTP[i%len(bases)].Started++
			}
		}
	}
	// Every chat started is accepted or given up on within the timeout.
	var accepted []*vchat
	var acceptLat []int64
	giveUp := time.NewTimer(cfg.Timeout)
	defer giveUp.Stop()
	timedOut := false
	for _, vc := range chats {
		if vc == nil {
			continue
		}
		vr.Started++
		if !timedOut {
			select {
			case <-vc.accepted:
			case <-vc.over:
			case <-giveUp.C:
				timedOut = true
			case <-ctx.Done():
				timedOut = true
			}
		}
		select {
		case <-vc.accepted:
			accepted = append(accepted, vc)
			acceptLat = append(acceptLat, vc.acceptAt.Load()-vc.created)
		default:
			why := fmt.Sprintf("chat %s was not accepted within %v", vc.jid, cfg.Timeout)
			select {
			case <-vc.over:
				why = fmt.Sprintf("chat %s ended before an agent accepted it (%v)", vc.jid, vc.reason.Load())
			default:
			}
			fail.add(errors.New(why))
		}
	}
	vr.StartMs = ms(r.clk.now() - start)
	vr.Accepted = len(accepted)
	vr.AcceptLatency = summarize(acceptLat)
	r.progress("visitors: %d started, %d accepted in %.2f s", vr.Started, vr.Accepted, vr.StartMs/1000)

	// Messages both ways, every chat at once, one round trip at a time.
	var v2a, a2v recorder
	var v2aSent, a2vSent, v2aLost, a2vLost atomic.Int64
	for _, vc := range accepted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := vc.agent.Load()
			t := time.NewTimer(cfg.Timeout)
			defer t.Stop()
			wait := func(ch chan [2]int64, round int64, rec *recorder) bool {
				t.Reset(cfg.Timeout)
				for {
					select {
					case got := <-ch:
						if got[0] == round {
							rec.add(got[1])
							return true
						}
					case <-t.C:
						return false
					case <-vc.over:
						return false
					case <-ctx.Done():
						return false
					}
				}
			}
			for round := int64(1); round <= int64(cfg.VisitorMessages) && ctx.Err() == nil; round++ {
				text := "jdv " + strconv.FormatInt(round, 10) + " " + strconv.FormatInt(r.clk.now(), 10)
				v2aSent.Add(1)
				err := r.api(ctx, vc.base, "POST", "/api/v1/chats/"+vc.id+"/messages", vc.token, map[string]string{"text": text}, nil)
				if err != nil {
					v2aLost.Add(1)
				} else if !wait(vc.gotV, round, &v2a) {
					v2aLost.Add(1)
				}
				body := "jda " + strconv.FormatInt(round, 10) + " " + strconv.FormatInt(r.clk.now(), 10)
				a2vSent.Add(1)
				if err := a.c.Send([]byte("<message type='chat' to='" + escape(vc.jid) + "'><body>" + body + "</body></message>")); err != nil {
					a2vLost.Add(1)
				} else if !wait(vc.gotA, round, &a2v) {
					a2vLost.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	flow := func(sent, lost int64, rec *recorder) Flow {
		return Flow{Sent: int(sent), Received: int(sent - lost), Lost: int(lost), Latency: summarize(rec.take())}
	}
	vr.VisitorToAgent = flow(v2aSent.Load(), v2aLost.Load(), &v2a)
	vr.AgentToVisitor = flow(a2vSent.Load(), a2vLost.Load(), &a2v)
	vr.Failed = m - vr.Accepted
	vr.FirstError = fail.first
	r.progress("visitors: visitor→agent p50 %.2f ms p99 %.2f ms; agent→visitor p50 %.2f ms p99 %.2f ms",
		vr.VisitorToAgent.Latency.P50, vr.VisitorToAgent.Latency.P99, vr.AgentToVisitor.Latency.P50, vr.AgentToVisitor.Latency.P99)
	return vr
}

// startChat starts the i-th chat through the visitor API at base (wsBase
// for its WebSocket) and opens its WebSocket.
func (r *run) startChat(ctx context.Context, i int, base, wsBase string) (*vchat, error) {
	cfg := r.cfg
	body := map[string]string{"portal": cfg.Portal, "name": "Bench visitor " + strconv.Itoa(i+1),
		"question": "Bench question " + strconv.Itoa(i+1)}
	if cfg.Department != "" {
		body["department"] = cfg.Department
	}
	var created struct {
		ChatID string `json:"chat_id"`
		Token  string `json:"token"`
		JID    string `json:"visitor_jid"`
		Status string `json:"status"`
	}
	t0 := r.clk.now()
	if err := r.api(ctx, base, "POST", "/api/v1/chats", "", body, &created); err != nil {
		return nil, err
	}
	if created.Status == "missed" {
		return nil, fmt.Errorf("chat %s was missed at once: no agent of portal %q (department %q) is online", created.JID, cfg.Portal, cfg.Department)
	}
	vc := r.chat(created.JID)
	vc.base, vc.id, vc.token, vc.created = base, created.ChatID, created.Token, t0
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsBase+"/api/v1/chats/"+url.PathEscape(vc.id)+"/ws?token="+url.QueryEscape(vc.token),
		&websocket.DialOptions{HTTPClient: r.http})
	if err != nil {
		return nil, fmt.Errorf("chat %s: WebSocket: %w", vc.jid, err)
	}
	vc.ws = conn
	go r.readEvents(vc, conn)
	return vc, nil
}

// readEvents follows a visitor's WebSocket: the agent's bench messages
// and the end of the chat.
func (r *run) readEvents(vc *vchat, conn *websocket.Conn) {
	var ev struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Reason string `json:"reason"`
	}
	end := func(why string) {
		vc.overOnce.Do(func() {
			vc.reason.Store(why)
			close(vc.over)
		})
	}
	for {
		_, data, err := conn.Read(context.Background())
		if err != nil {
			if !r.closing.Load() {
				end("the WebSocket closed: " + err.Error())
			}
			return
		}
		at := r.clk.now()
		ev.Type, ev.Text, ev.Reason = "", "", ""
		if json.Unmarshal(data, &ev) != nil {
			continue
		}
		switch ev.Type {
		case "message":
			if strings.HasPrefix(ev.Text, "jda ") {
				if round, ts, ok := roundAndTime([]byte(ev.Text)); ok {
					select {
					case vc.gotA <- [2]int64{round, at - ts}:
					default:
					}
				}
			}
		case "ended":
			end(ev.Reason)
		}
	}
}

// commands is the #info phase: every agent with chats asks in them in
// turn, one command at a time, and waits for the reply.
func (r *run) commands(ctx context.Context) *CommandResult {
	cfg := r.cfg
	cr := &CommandResult{}
	var busy []*agent
	r.chatsMu.Lock()
	for _, vc := range r.chats {
		if a := vc.agent.Load(); a != nil {
			if len(a.chats) == 0 {
				busy = append(busy, a)
			}
			a.chats = append(a.chats, vc)
			cr.Chats++
		}
	}
	r.chatsMu.Unlock()
	cr.Agents = len(busy)
	r.progress("commands: #info in %d chats of %d agents for %v", cr.Chats, cr.Agents, cfg.Commands)
	var rec recorder
	var sent, timedOut atomic.Int64
	start := r.clk.now()
	deadline := start + int64(cfg.Commands)
	var wg sync.WaitGroup
	for _, a := range busy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(cfg.Timeout)
			defer t.Stop()
			for k := 0; r.clk.now() < deadline && ctx.Err() == nil; k++ {
				vc := a.chats[k%len(a.chats)]
				select {
				case <-a.infoCh: // a late reply to an earlier command
				default:
				}
				t0 := r.clk.now()
				if err := a.c.Send([]byte("<message type='chat' to='" + escape(vc.jid) + "'><body>#info</body></message>")); err != nil {
					return
				}
				sent.Add(1)
				t.Reset(cfg.Timeout)
				select {
				case at := <-a.infoCh:
					rec.add(at - t0)
				case <-t.C:
					timedOut.Add(1)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	dur := r.clk.now() - start
	cr.DurationMs = ms(dur)
	cr.Sent = int(sent.Load())
	cr.TimedOut = int(timedOut.Load())
	cr.Latency = summarize(rec.take())
	cr.Replied = cr.Latency.N
	if dur > 0 {
		cr.PerSecond = round3(float64(cr.Replied) / (float64(dur) / 1e9))
	}
	r.progress("commands: %d replies (%.0f/s), p50 %.2f ms p99 %.2f ms", cr.Replied, cr.PerSecond, cr.Latency.P50, cr.Latency.P99)
	return cr
}

// endChats ends the visitor chats and closes their sockets.
func (r *run) endChats() {
	r.chatsMu.Lock()
	var chats []*vchat
	for _, vc := range r.chats {
		if vc.ws != nil {
			chats = append(chats, vc)
		}
	}
	r.chatsMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, vc := range chats {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// Ending is tidying up after the measurement: a chat not
			// ended here ends when its visitor's connection closes.
			_ = r.api(ctx, vc.base, "POST", "/api/v1/chats/"+vc.id+"/end", vc.token, nil, nil)
		}()
	}
	wg.Wait()
	r.closing.Store(true)
	for _, vc := range chats {
		_ = vc.ws.CloseNow() // done with: a failed close loses nothing
	}
}
