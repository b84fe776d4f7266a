package cluster

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
)

// Requests go to the subject jd.node.NODE.KIND, where only NODE listens.
// Their headers carry the requester's name and its deadline; an answer
// whose Jd-Error header is set carries the handler's error text.
const (
	requestPrefix         = "jd.node."
	hdrFrom               = "Jd-From"
	hdrDeadline           = "Jd-Deadline"
	hdrError              = "Jd-Error"
	defaultRequestTimeout = 10 * time.Second
)

// Handler answers a request of another node (from), or of this one. Its
// context ends at the requester's deadline, or when the cluster closes.
type Handler func(ctx context.Context, from string, data []byte) ([]byte, error)

// RemoteError is a handler's error, as the requester gets it.
type RemoteError struct {
	Node string // the node whose handler failed
	Msg  string // the handler's error text
}

func (e *RemoteError) Error() string { return "cluster: node " + e.Node + ": " + e.Msg }

// kindName is a request's kind: one or more subject tokens.
var kindName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

func requestSubject(node, kind string) string { return requestPrefix + node + "." + kind }

// Handle has h answer the requests of kind (letters, digits, '_' and
// '-', in words joined by dots, like "xmpp.deliver") sent to this node; once Handle returns, the NATS server has the
// subscription. Each request runs on its own goroutine, at
// most Config.MaxHandlers of a kind at once; the others wait in NATS,
// and one whose requester gave up meanwhile is dropped unanswered. A
// kind has one handler.
func (c *Cluster) Handle(kind string, h Handler) error {
	if !kindName.MatchString(kind) {
		return fmt.Errorf("cluster: handle %q: a kind is words of letters, digits, '_' and '-' joined by dots", kind)
	}
	c.mu.Lock()
	_, dup := c.handlers[kind]
	switch {
	case c.closing:
		c.mu.Unlock()
		return fmt.Errorf("cluster: handle %s: %w", kind, ErrClosed)
	case dup:
		c.mu.Unlock()
		return fmt.Errorf("cluster: handle %s: already handled", kind)
	}
	c.handlers[kind] = nil // taken; the subscription follows
	c.mu.Unlock()

	sem := make(chan struct{}, c.cfg.MaxHandlers)
	sub, err := c.nc.Subscribe(requestSubject(c.node, kind), c.dispatch(h, sem))
	if err == nil {
		// Once the server has the subscription, requests reach it.
		err = c.nc.FlushTimeout(opTimeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && c.closing {
		err = ErrClosed
	}
	if err != nil && sub != nil {
		if uerr := sub.Unsubscribe(); uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) {
			err = errors.Join(err, uerr)
		}
	}
	if err != nil {
		delete(c.handlers, kind)
		return fmt.Errorf("cluster: handle %s: %w", kind, err)
	}
	c.handlers[kind] = sub
	return nil
}

// dispatch starts a goroutine per request once one of sem's places is
// free; until then the subscription's queue holds the requests.
func (c *Cluster) dispatch(h Handler, sem chan struct{}) nats.MsgHandler {
	return func(m *nats.Msg) {
		select {
		case sem <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			<-sem
			return
		}
		c.inFlight.Add(1)
		c.mu.Unlock()
		go func() {
			defer func() {
				<-sem
				c.inFlight.Done()
			}()
			c.serve(h, m)
		}()
	}
}

// serve runs the handler on one request and answers it.
func (c *Cluster) serve(h Handler, m *nats.Msg) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	if dl, err := time.Parse(time.RFC3339Nano, m.Header.Get(hdrDeadline)); err == nil {
		if time.Now().After(dl) {
			c.log.Debug("cluster: request dropped: its requester gave up", "subject", m.Subject)
			return
		}
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	data, err := c.call(ctx, h, m.Header.Get(hdrFrom), m.Data)
	if m.Reply == "" {
		return
	}
	reply := nats.NewMsg(m.Reply)
	if err != nil {
		reply.Header.Set(hdrError, "1")
		reply.Data = []byte(err.Error())
	} else {
		reply.Data = data
	}
	if err := m.RespondMsg(reply); err != nil && c.ctx.Err() == nil {
		c.log.Warn("cluster: answer a request", "subject", m.Subject, "err", err)
	}
}

// call runs h; a panic is logged and answered as an error.
func (c *Cluster) call(ctx context.Context, h Handler, from string, data []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("cluster: request handler panicked", "from", from, "panic", p, "stack", string(debug.Stack()))
			out, err = nil, errors.New("internal error")
		}
	}()
	return h(ctx, from, data)
}

// Request sends data to node's handler of kind and returns its answer.
// A handler's error comes back as *RemoteError; when no node listens
// (the node is gone, or does not handle kind) the error matches
// ErrNodeUnreachable. Without a deadline in ctx the request waits 10s.
// The handler's context ends at the same deadline, on its node's clock.
func (c *Cluster) Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	if !nodeName.MatchString(node) || !kindName.MatchString(kind) {
		return nil, fmt.Errorf("cluster: request %q of %q: bad node or kind", kind, node)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultRequestTimeout)
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	msg := nats.NewMsg(requestSubject(node, kind))
	msg.Header.Set(hdrFrom, c.node)
	msg.Header.Set(hdrDeadline, dl.UTC().Format(time.RFC3339Nano))
	msg.Data = data
	resp, err := c.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("cluster: request %s of %s: %w", kind, node, ErrNodeUnreachable)
	case errors.Is(err, nats.ErrConnectionClosed):
		return nil, fmt.Errorf("cluster: request %s of %s: %w", kind, node, ErrClosed)
	case err != nil:
		return nil, fmt.Errorf("cluster: request %s of %s: %w", kind, node, err)
	}
	if resp.Header.Get(hdrError) != "" {
		return nil, &RemoteError{Node: node, Msg: string(resp.Data)}
	}
	return resp.Data, nil
}
