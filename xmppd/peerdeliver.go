package xmppd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"mellium.im/xmpp/jid"

	"jabberdesk/bridge"
)

// Stanzas for sessions on other nodes go there as requests (kindDeliver):
// the node that routes a stanza asks each node with sessions of its
// target, synchronously, so that it knows whether anyone took it before
// it answers its sender or falls back to offline storage. A node that
// does not answer counts as one that did not take it: the message is
// kept offline, even if the node did deliver it and only its answer was
// lost — a rare duplicate rather than a loss.

// How a node delivers a stanza it is asked to (deliverRequest.Mode).
const (
	deliverFull      = "full"      // to the session bound to To; carbons for the agent's other sessions there
	deliverBare      = "bare"      // to the sessions of To that take bare messages (RFC 6121 §8.5.2.1.1)
	deliverAvailable = "available" // to the available sessions of To (a visitor contact's message); a bare chat state skips congested ones
	deliverOffline   = "offline"   // no stanza: a session of To that takes bare messages gets the offline messages now
)

// deliverRequest asks a node to deliver a stanza to its sessions.
type deliverRequest struct {
	Mode   string `json:"mode"`
	To     string `json:"to"` // full JID for deliverFull, bare otherwise
	Stanza []byte `json:"stanza,omitempty"`
}

// deliverReply says whether a session took it.
type deliverReply struct {
	Took bool `json:"took"`
}

// handleDeliver answers a deliverRequest.
func (srv *Server) handleDeliver(_ context.Context, from string, data []byte) ([]byte, error) {
	var req deliverRequest
	if err := decodePeer(data, &req); err != nil {
		return nil, err
	}
	bare, _, _ := cutResource(req.To)
	var el *Element
	if req.Mode != deliverOffline {
		if el = parseStored(req.Stanza); el == nil {
			return nil, fmt.Errorf("xmppd: deliver for node %s: the stanza does not parse", from)
		}
	}
	took := false
	switch req.Mode {
	case deliverFull:
		if o := srv.router.session(bare, req.To); o != nil {
			o.send(el)
			if el.Local == "message" && eligibleForCarbons(el) {
				srv.localCarbons(bare, "received", o.full, el)
			}
			took = true
		}
	case deliverBare:
		took = srv.deliverBareHere(bare, el)
	case deliverAvailable:
		took = srv.deliverAvailableHere(bare, el)
	case deliverOffline:
		srv.redeliverOffline(bare)
	default:
		return nil, fmt.Errorf("xmppd: deliver for node %s: unknown mode %q", from, req.Mode)
	}
	return json.Marshal(deliverReply{Took: took})
}

// deliverFullJID delivers a stanza to the session bound to a full JID of
// the portal, here or on another node. failed is the node that has it
// when that node did not answer.
func (srv *Server) deliverFullJID(portal string, full jid.JID, el *Element) (took bool, failed string) {
	bare := full.Bare().String()
	isMessage := el.Local == "message"
	if o := srv.router.session(bare, full.String()); o != nil {
		o.send(el)
		if isMessage {
			srv.copyReceived(o, el)
		}
		return true, ""
	}
	node := srv.nodeOf(portal, full)
	if node == "" {
		return false, ""
	}
	srv.archiveBeforeLeaving(el)
	var reply deliverReply
	if err := srv.ask(node, kindDeliver, deliverRequest{Mode: deliverFull, To: full.String(), Stanza: el.Bytes()}, &reply); err != nil {
		srv.log.Warn("stanza for a session on another node not delivered", "to", full.String(), "err", err)
		return false, node
	}
	if reply.Took && isMessage && eligibleForCarbons(el) {
		// That node copied it to the agent's sessions there.
		srv.localCarbons(bare, "received", full.String(), el)
		srv.publishCarbons(portal, bare, "received", full.String(), node, el)
	}
	return reply.Took, ""
}

// deliverBareJID delivers a message to the sessions of an agent that
// take bare messages, on every node. failed are the nodes that did not
// answer.
func (srv *Server) deliverBareJID(portal, bare string, el *Element) (took bool, failed []string) {
	took = srv.deliverBareHere(bare, el)
	return srv.deliverElsewhere(portal, bare, deliverBare, el, took)
}

// deliverAvailableJID delivers a message to the available sessions of an
// agent, on every node.
func (srv *Server) deliverAvailableJID(portal, bare string, el *Element) (took bool, failed []string) {
	took = srv.deliverAvailableHere(bare, el)
	return srv.deliverElsewhere(portal, bare, deliverAvailable, el, took)
}

// deliverElsewhere asks every other node with sessions of bare to
// deliver el (mode); took is whether a session here took it.
func (srv *Server) deliverElsewhere(portal, bare, mode string, el *Element, took bool) (bool, []string) {
	nodes := srv.nodesOf(portal, bare)
	if len(nodes) == 0 {
		return took, nil
	}
	srv.archiveBeforeLeaving(el)
	req := deliverRequest{Mode: mode, To: bare, Stanza: el.Bytes()}
	var failed []string
	for _, node := range nodes {
		var reply deliverReply
		if err := srv.ask(node, kindDeliver, req, &reply); err != nil {
			srv.log.Warn("message for sessions on another node not delivered", "to", bare, "err", err)
			failed = append(failed, node)
			continue
		}
		took = took || reply.Took
	}
	return took, failed
}

// deliverBareHere delivers a message to the local sessions of bare that
// take bare messages.
func (srv *Server) deliverBareHere(bare string, el *Element) bool {
	var b []byte
	for _, o := range srv.router.sessions(bare) {
		if o.takesBareMessages() {
			if b == nil {
				b = el.Bytes()
			}
			o.sendMessageBytes(b, el)
		}
	}
	return b != nil
}

// deliverAvailableHere delivers a message to the available local
// sessions of bare; a bare chat state is not worth a congested session.
func (srv *Server) deliverAvailableHere(bare string, el *Element) bool {
	chatStateOnly := el.Child(nsClient, "body") == nil
	var b []byte
	for _, s := range srv.router.sessions(bare) {
		if !s.isAvailable() || chatStateOnly && s.congested() {
			continue
		}
		if b == nil {
			b = el.Bytes()
		}
		s.sendMessageBytes(b, el)
	}
	return b != nil
}

// keepOffline stores a message nobody took for an agent of the portal,
// and has it delivered at once if a session that takes bare messages
// came meanwhile, here or on another node (but those in avoid, which did
// not answer).
func (srv *Server) keepOffline(portal, agent, bare string, el *Element, avoid []string) error {
	if err := srv.storeOffline(portal, agent, el); err != nil {
		return err
	}
	srv.redeliverOffline(bare)
	srv.redeliverElsewhere(portal, bare, avoid)
	return nil
}

// redeliverElsewhere asks the other nodes with sessions of bare (but
// those in avoid) to deliver its offline messages to a session that
// takes bare messages, if they have one.
func (srv *Server) redeliverElsewhere(portal, bare string, avoid []string) {
	for _, node := range srv.nodesOf(portal, bare) {
		if slices.Contains(avoid, node) {
			continue
		}
		if err := srv.ask(node, kindDeliver, deliverRequest{Mode: deliverOffline, To: bare}, nil); err != nil {
			srv.log.Warn("offline messages not redelivered on another node", "to", bare, "err", err)
		}
	}
}

// contactRequest is a visitor contact's roster push and presence for the
// agent's sessions on another node (Server.Contact).
type contactRequest struct {
	Portal  string         `json:"portal"`
	Agent   string         `json:"agent"`
	Contact bridge.Contact `json:"contact"`
}

func (srv *Server) handleContact(_ context.Context, _ string, data []byte) ([]byte, error) {
	var req contactRequest
	if err := decodePeer(data, &req); err != nil {
		return nil, err
	}
	srv.contactHere(req.Portal, req.Agent, req.Contact)
	return []byte("{}"), nil
}

// decodePeer reads a request from another node.
func decodePeer(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("xmppd: a request from another node: %w", err)
	}
	return nil
}

// cutResource splits a full JID (canonical) into bare JID and resource.
func cutResource(full string) (bare, resource string, ok bool) {
	return strings.Cut(full, "/")
}
