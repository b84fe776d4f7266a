package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"jabberdesk/store"
)

// A call for a portal whose chats run on another node (nodes.go) goes to
// that node as a request of its kind with the call's arguments in JSON;
// the owner runs the same method and answers with its result or its
// error (wireError), which the caller gets back as the same kind of error
// (errors.Is, errors.As). Each public method starts with forward; routes
// is the one list of what the owner runs for each kind.

// The kinds of forwarded calls.
const (
	kindContacts     = "bridge.contacts"
	kindAgentSays    = "bridge.agent_says"
	kindDeskSays     = "bridge.desk_says"
	kindQueue        = "bridge.queue"
	kindQueueText    = "bridge.queue_text"
	kindTake         = "bridge.take"
	kindAssign       = "bridge.assign"
	kindMonitor      = "bridge.monitor"
	kindEnd          = "bridge.end"
	kindLive         = "bridge.live_view"
	kindReopen       = "bridge.reopen"
	kindSetChatEmail = "bridge.set_chat_email"
	kindConvertChat  = "bridge.convert_chat"
	kindChatChanged  = "bridge.chat_changed"
	kindReroute      = "bridge.reroute"
	kindCreate       = "bridge.create"
	kindSay          = "bridge.visitor.say"
	kindSayFile      = "bridge.visitor.say_file"
	kindReady        = "bridge.visitor.ready"
	kindOpened       = "bridge.visitor.opened"
	kindTyping       = "bridge.visitor.typing"
	kindVisitorEnd   = "bridge.visitor.end"
	kindRate         = "bridge.visitor.rate"
	kindHere         = "bridge.visitor.here"
	kindCustomer     = "bridge.customer_message"
	kindTellChat     = "bridge.tell_chat"
)

// The arguments of forwarded calls, by what they are about.
type (
	// portalCall is about a portal as a whole, or an agent of it.
	portalCall struct {
		Portal string
		Agent  string `json:",omitempty"`
	}
	// agentCall is what an agent sent to a visitor contact or the desk.
	agentCall struct {
		Portal                 string
		By                     AgentInfo
		Local, Body, ChatState string `json:",omitempty"`
	}
	// chatCall is an agent's, a supervisor's or the CLI's call about a
	// chat by its number.
	chatCall struct {
		Portal string
		By     AgentInfo
		Number int64
		Who    string       `json:",omitempty"` // Assign: the agent
		Email  string       `json:",omitempty"` // SetChatEmail
		Order  *TicketOrder `json:",omitempty"` // ConvertChat
	}
	// visitorCall is a visitor's call about their chat (VisitorChat),
	// authenticated on the node that took the request.
	visitorCall struct {
		Portal         string
		Chat           int64
		Text, ClientID string          `json:",omitempty"` // Say; Text is the URL of Opened, the state of Typing
		File           *store.KeptFile `json:",omitempty"` // SayFile
		Stars          int             `json:",omitempty"` // Rate, with Text the comment
		Gone           bool            `json:",omitempty"` // visitorHere: the last stream closed
	}
	// tellCall is TellChat.
	tellCall struct {
		Portal string
		Chat   int64
		Line   string
	}
	// none is the result of a call that has none but its error.
	none struct{}
)

// forwardTimeout bounds one call to another node.
const forwardTimeout = 10 * time.Second

// Errors of a call that the node asked could not take: nothing was done,
// and the caller asks Owner again.
var (
	errNotOwner = errors.New("bridge: this node does not run the portal's chats")
	errStopped  = errors.New("bridge: the node is stopping")
)

// peerKey marks the context of a call that another node forwarded: its
// value is that node. Such a call is never forwarded again.
type peerKey struct{}

// peerOf is the node that forwarded the call of ctx, if one did.
func peerOf(ctx context.Context) (string, bool) {
	node, ok := ctx.Value(peerKey{}).(string)
	return node, ok
}

// forward sends a call about portal's chats to the node that runs them,
// when that is not this one: done reports that the call was sent (resp
// and err are the owner's answer) or could not be (err says why). A call
// is sent again only to a new owner, and only when the first one could
// not take it, so that nothing is done twice.
func forward[Req, Resp any](ctx context.Context, e *Engine, portal, kind string, req Req) (resp Resp, done bool, err error) {
	if e.nodes == nil {
		return resp, false, nil
	}
	_, peer := peerOf(ctx)
	asked, refreshed := "", false
	var askErr error
	for {
		node, err := e.owner(ctx, portal)
		switch {
		case err != nil:
			return resp, true, err
		case node == e.nodes.self:
			return resp, false, nil
		case peer && !refreshed:
			// The caller took this node for the owner: ask Owner afresh
			// before saying that it is not.
			refreshed = true
			e.forgetOwner(portal, node)
			continue
		case peer:
			return resp, true, errNotOwner
		case node == asked:
			return resp, true, askErr // the owner did not change: its answer stands
		}
		var again bool
		resp, again, askErr = call[Req, Resp](ctx, e, node, kind, req)
		if !again || asked != "" || ctx.Err() != nil {
			return resp, true, askErr
		}
		e.forgetOwner(portal, node)
		asked = node
	}
}

// call sends one call to node. again reports that the node could not take
// it (unreachable, stopping, or not the portal's owner), so that another
// may be asked.
func call[Req, Resp any](ctx context.Context, e *Engine, node, kind string, req Req) (resp Resp, again bool, err error) {
	data, err := json.Marshal(req)
	if err != nil {
		return resp, false, fmt.Errorf("bridge: %s: write the request: %w", kind, err)
	}
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	out, err := e.nodes.Request(ctx, node, kind, data)
	if err != nil {
		return resp, true, fmt.Errorf("bridge: %s: node %s did not answer: %w", kind, node, err)
	}
	var rep reply
	if err := json.Unmarshal(out, &rep); err != nil {
		return resp, false, fmt.Errorf("bridge: %s: read the answer of node %s: %w", kind, node, err)
	}
	if rep.Error != nil {
		err := rep.Error.rebuild(kind, node)
		return resp, errors.Is(err, errNotOwner) || errors.Is(err, errStopped), err
	}
	if len(rep.Result) > 0 {
		if err := json.Unmarshal(rep.Result, &resp); err != nil {
			return resp, false, fmt.Errorf("bridge: %s: read the answer of node %s: %w", kind, node, err)
		}
	}
	return resp, false, nil
}

// reply is what the owner answers a forwarded call with.
type reply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
}

// route is what a node runs for one kind of forwarded call.
type route struct {
	kind  string
	serve func(ctx context.Context, data []byte) (any, error)
}

// serve makes the route of a kind whose arguments are a Req.
func serve[Req, Resp any](kind string, run func(ctx context.Context, req Req) (Resp, error)) route {
	return route{kind: kind, serve: func(ctx context.Context, data []byte) (any, error) {
		var req Req
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, fmt.Errorf("bridge: %s: read the request: %w", kind, err)
		}
		return run(ctx, req)
	}}
}

// serveRoute answers the calls of one kind that other nodes send. It
// never fails: errors are in the reply.
func (e *Engine) serveRoute(r route) func(ctx context.Context, from string, data []byte) ([]byte, error) {
	return func(ctx context.Context, from string, data []byte) ([]byte, error) {
		var rep reply
		res, err := any(nil), errStopped
		if !e.isClosed() {
			res, err = r.serve(context.WithValue(ctx, peerKey{}, from), data)
		}
		if err == nil {
			rep.Result, err = json.Marshal(res)
		}
		if err != nil {
			rep.Error = encodeError(err)
		}
		return json.Marshal(rep)
	}
}

// isClosed reports whether Stop was called.
func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// routes is every forwarded call and what the owner runs for it: the
// methods the other packages call (xmppd's Desk, the visitor API, the
// console's Desk, the IM channels' Desk, the control socket's), which
// run locally here since the context says that a node forwarded them.
func (e *Engine) routes() []route {
	return []route{
		// xmppd.Desk.
		serve(kindContacts, func(ctx context.Context, r portalCall) ([]Contact, error) {
			return e.rosterContacts(ctx, r.Portal, r.Agent)
		}),
		serve(kindAgentSays, func(ctx context.Context, r agentCall) (none, error) {
			return none{}, e.agentSays(ctx, r.Portal, r.By, r.Local, r.Body, r.ChatState)
		}),
		serve(kindDeskSays, func(ctx context.Context, r agentCall) (string, error) { return e.deskSays(ctx, r.Portal, r.By, r.Body) }),
		serve(kindQueue, func(ctx context.Context, r portalCall) ([]QueuedChat, error) { return e.queue(ctx, r.Portal) }),
		serve(kindQueueText, func(ctx context.Context, r portalCall) (string, error) { return e.queueText(ctx, r.Portal) }),
		serve(kindTake, func(ctx context.Context, r chatCall) (none, error) {
			return none{}, e.Take(ctx, r.Portal, r.By, r.Number)
		}),
		serve(kindAssign, func(ctx context.Context, r chatCall) (string, error) {
			return e.Assign(ctx, r.Portal, r.By, r.Number, r.Who)
		}),
		serve(kindMonitor, func(ctx context.Context, r chatCall) (string, error) { return e.Monitor(ctx, r.Portal, r.By, r.Number) }),

		// console.Desk (Assign above).
		serve(kindLive, func(ctx context.Context, r portalCall) (LiveView, error) { return e.liveView(ctx, r.Portal) }),
		serve(kindEnd, func(ctx context.Context, r chatCall) (string, error) { return e.End(ctx, r.Portal, r.By, r.Number) }),

		// The desk's commands on a chat by number, and the control socket.
		serve(kindReopen, func(ctx context.Context, r chatCall) (string, error) { return e.Reopen(ctx, r.Portal, r.By, r.Number) }),
		serve(kindSetChatEmail, func(ctx context.Context, r chatCall) (string, error) {
			return e.SetChatEmail(ctx, r.Portal, r.Number, r.Email)
		}),
		serve(kindConvertChat, func(ctx context.Context, r chatCall) (store.Ticket, error) {
			return e.ConvertChat(ctx, r.Portal, r.Number, orderOf(r.Order))
		}),
		serve(kindChatChanged, func(ctx context.Context, r chatCall) (none, error) {
			return none{}, e.ChatChanged(ctx, r.Portal, r.Number)
		}),
		serve(kindReroute, func(ctx context.Context, r portalCall) (none, error) { return none{}, e.reroute(ctx, r.Portal) }),

		// The visitor API (bridge/web).
		serve(kindCreate, func(ctx context.Context, n NewChat) (Started, error) { return e.Create(ctx, n) }),
		serve(kindSay, func(ctx context.Context, r visitorCall) (none, error) {
			return none{}, e.visitorChat(r).Say(ctx, r.Text, r.ClientID)
		}),
		serve(kindSayFile, func(ctx context.Context, r visitorCall) (none, error) {
			if r.File == nil {
				return none{}, errors.New("bridge: say a file: no file")
			}
			return none{}, e.visitorChat(r).SayFile(ctx, *r.File, r.ClientID)
		}),
		serve(kindReady, func(ctx context.Context, r visitorCall) (none, error) { return none{}, e.visitorChat(r).Ready(ctx) }),
		serve(kindOpened, func(ctx context.Context, r visitorCall) (none, error) {
			return none{}, e.visitorChat(r).Opened(ctx, r.Text)
		}),
		serve(kindTyping, func(ctx context.Context, r visitorCall) (none, error) {
			return none{}, e.visitorChat(r).Typing(ctx, r.Text)
		}),
		serve(kindVisitorEnd, func(ctx context.Context, r visitorCall) (bool, error) { return e.visitorChat(r).End(ctx) }),
		serve(kindRate, func(ctx context.Context, r visitorCall) (none, error) {
			return none{}, e.visitorChat(r).Rate(ctx, r.Stars, r.Text)
		}),
		serve(kindHere, e.visitorHere),

		// im.Desk.
		serve(kindCustomer, func(ctx context.Context, id int64) (none, error) {
			in, err := e.store.InboundByID(ctx, id)
			if err != nil {
				return none{}, err
			}
			return none{}, e.CustomerMessage(ctx, in)
		}),
		serve(kindTellChat, func(ctx context.Context, r tellCall) (none, error) {
			return none{}, e.tellChat(ctx, r.Portal, r.Chat, r.Line)
		}),
	}
}

// orderOf is the ticket order a chatCall carries.
func orderOf(o *TicketOrder) TicketOrder {
	if o == nil {
		return TicketOrder{}
	}
	return *o
}

// goAsync runs f on a goroutine of its own with a bounded context: a call
// whose caller does not wait for it (a line for a chat's agents, a
// reroute) and must not be held up by another node.
// Stop waits for it.
func (e *Engine) goAsync(f func(ctx context.Context)) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.async.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.async.Done()
		ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
		defer cancel()
		f(ctx)
	}()
}

// logForward logs a forwarded call that failed, for the methods whose
// callers get no error.
func (e *Engine) logForward(kind, portal string, err error) {
	if err != nil {
		e.log.Error("call for the node of a portal failed", "kind", kind, "portal", portal, "err", err)
	}
}
