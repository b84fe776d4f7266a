package xmppd

import (
	"errors"
	"strconv"

	"jabberdesk/store"
)

// XEP-0163 Personal Eventing Protocol: each account is a small pubsub
// service at its bare JID, for its avatar (XEP-0084), nickname (XEP-0172),
// bookmarks (XEP-0402, XEP-0048) and the like. Items are the store's.
//
// Supported: publish (with publish-options: access model and max items),
// retrieve items, retract items, delete a node. A node is readable by the
// account's colleagues (access model presence; "open" and "roster" mean
// the same here: nothing crosses portals) or only by the account
// (whitelist, the default for bookmark nodes). Publications and
// retractions are sent as events to the account's available resources
// and, for presence nodes, to every available colleague who is not
// blocked either way — without entity capabilities to filter on, clients
// ignore events of nodes they do not use — except the avatar data node,
// whose items are fetched when the metadata says so. The last item is
// not pushed at sign-in: clients ask for it.

const (
	nsPubsub      = "http://jabber.org/protocol/pubsub"
	nsPubsubOwner = "http://jabber.org/protocol/pubsub#owner"
	nsPubsubEvent = "http://jabber.org/protocol/pubsub#event"
	nsPubsubOpts  = "http://jabber.org/protocol/pubsub#publish-options"

	nodeAvatarData = "urn:xmpp:avatar:data"
)

// privateNodes are nodes whose items are the account's alone unless the
// publisher says otherwise.
var privateNodes = map[string]bool{"urn:xmpp:bookmarks:1": true, "storage:bookmarks": true, "urn:xmpp:mds:displayed:0": true}

// pepFeatures are the PEP features an account's disco#info lists.
var pepFeatures = []string{
	nsPubsub + "#publish", nsPubsub + "#publish-options", nsPubsub + "#retrieve-items", nsPubsub + "#retract-items",
	nsPubsub + "#delete-nodes", nsPubsub + "#persistent-items", nsPubsub + "#multi-items", nsPubsub + "#item-ids",
	nsPubsub + "#access-presence", nsPubsub + "#access-whitelist",
}

// errPubsubUnsupported answers what this PEP service does not do.
var errPubsubUnsupported = stanzaError{Type: "cancel", Cond: "feature-not-implemented", Text: "this server's personal eventing supports publish, items, retract and delete"}

// pepIQ answers a pubsub request to an account's PEP service: owner is
// the account (s's own, or a colleague's for reading).
func (s *session) pepIQ(el, ps *Element, owner target) error {
	self := owner.bare == s.bare
	set := el.Get("type") == "set"
	if ps.Space == nsPubsubOwner {
		del := ps.Child(nsPubsubOwner, "delete")
		if !self || !set || del == nil || del.Get("node") == "" {
			return errPubsubUnsupported
		}
		return s.pepDelete(el, del.Get("node"))
	}
	op := ps.FirstChild()
	if op == nil || op.Space != nsPubsub {
		return errBadRequest.withText("a pubsub request carries one operation")
	}
	node := op.Get("node")
	switch {
	case op.Local == "items" && !set && node != "":
		return s.pepItems(el, op, owner, self)
	case !self && set:
		return errForbidden.withText("only the account itself publishes to its nodes")
	case op.Local == "publish" && set && node != "":
		return s.pepPublish(el, ps, op)
	case op.Local == "retract" && set && node != "":
		return s.pepRetract(el, op)
	}
	return errPubsubUnsupported
}

// pepPublish stores an item and sends the event.
func (s *session) pepPublish(el, ps, op *Element) error {
	item := op.Child(nsPubsub, "item")
	if item == nil || item.FirstChild() == nil {
		return errBadRequest.withText("publish one <item/> with a payload")
	}
	node := op.Get("node")
	id := item.Get("id")
	if id == "" {
		id = randomID()
	}
	access, maxItems := "presence", 1
	if privateNodes[node] {
		access, maxItems = "whitelist", 0
	}
	if opts := ps.Child(nsPubsub, "publish-options"); opts != nil {
		for _, f := range formFields(opts.Child(nsDataForms, "x")) {
			switch f[0] {
			case "pubsub#access_model":
				switch f[1] {
				case "presence", "open", "roster":
					access = "presence"
				case "whitelist":
					access = "whitelist"
				default:
					return stanzaError{Type: "cancel", Cond: "conflict", Text: "access model " + f[1] + " is not supported (presence or whitelist)",
						AppSpace: nsPubsub + "#errors", AppLocal: "precondition-not-met"}
				}
			case "pubsub#max_items":
				if f[1] == "max" {
					maxItems = 0
				} else if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
					maxItems = n
				}
			}
		}
	}
	payload := item.FirstChild()
	err := s.srv.store.PublishPEP(s.ctx(), s.agent.Portal, s.agent.Key(), store.PEPItem{Node: node, ID: id, Payload: payload.Bytes(), Access: access}, maxItems)
	var ue *store.UserError
	if errors.As(err, &ue) && errors.Is(err, store.ErrInvalid) {
		return errNotAcceptable.withText(ue.Msg)
	}
	if err != nil {
		return err
	}
	s.send(iqResult(el).Add(NewElement(nsPubsub, "pubsub").Add(
		NewElement(nsPubsub, "publish", "node", node).Add(NewElement(nsPubsub, "item", "id", id)))))
	if node != nodeAvatarData {
		s.pepEvent(access, NewElement(nsPubsubEvent, "items", "node", node).Add(NewElement(nsPubsubEvent, "item", "id", id).Add(payload)))
	}
	return nil
}

// pepItems answers a request for a node's items.
func (s *session) pepItems(el, op *Element, owner target, self bool) error {
	node := op.Get("node")
	var ids []string
	for _, it := range op.Children() {
		if it.Local == "item" && it.Get("id") != "" {
			ids = append(ids, it.Get("id"))
		}
	}
	max, _ := strconv.Atoi(op.Get("max_items"))
	items, err := s.srv.store.PEPItems(s.ctx(), s.agent.Portal, owner.name, node, ids, max)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return errItemNotFound.withText("no items at node " + node)
	}
	if !self && (items[0].Access != "presence" || s.srv.portalBlocks(s.agent.Portal).blocks(owner.name, s.full)) {
		return errItemNotFound.withText("no items at node " + node) // as if it did not exist
	}
	res := NewElement(nsPubsub, "items", "node", node)
	for i := len(items) - 1; i >= 0; i-- { // oldest first
		it := NewElement(nsPubsub, "item", "id", items[i].ID)
		if p := parseStored(items[i].Payload); p != nil {
			it.Add(p)
		}
		res.Add(it)
	}
	s.send(iqResult(el).Add(NewElement(nsPubsub, "pubsub").Add(res)))
	return nil
}

// pepRetract deletes items and sends the event.
func (s *session) pepRetract(el, op *Element) error {
	node := op.Get("node")
	var ids []string
	for _, it := range op.Children() {
		if it.Local == "item" && it.Get("id") != "" {
			ids = append(ids, it.Get("id"))
		}
	}
	if len(ids) == 0 {
		return errBadRequest.withText("name the items to retract")
	}
	access := s.pepAccess(node)
	if err := s.srv.store.RetractPEP(s.ctx(), s.agent.Portal, s.agent.Key(), node, ids); err != nil {
		return err
	}
	s.send(iqResult(el))
	ev := NewElement(nsPubsubEvent, "items", "node", node)
	for _, id := range ids {
		ev.Add(NewElement(nsPubsubEvent, "retract", "id", id))
	}
	s.pepEvent(access, ev)
	return nil
}

// pepDelete deletes a node and sends the event.
func (s *session) pepDelete(el *Element, node string) error {
	access := s.pepAccess(node)
	if err := s.srv.store.RetractPEP(s.ctx(), s.agent.Portal, s.agent.Key(), node, nil); err != nil {
		return err
	}
	s.send(iqResult(el))
	s.pepEvent(access, NewElement(nsPubsubEvent, "delete", "node", node))
	return nil
}

// pepAccess is a node's access model as stored ("whitelist" when unknown:
// the event then goes to the account's own resources only).
func (s *session) pepAccess(node string) string {
	nodes, err := s.srv.store.PEPNodes(s.ctx(), s.agent.Portal, s.agent.Key())
	if err != nil || nodes[node] == "" {
		return "whitelist"
	}
	return nodes[node]
}

// pepEvent sends a pubsub event from the account to its own available
// resources and, for a presence node, to its available colleagues, on
// every node.
func (s *session) pepEvent(access string, what *Element) {
	if s.srv.peers != nil {
		ev := NewElement(nsClient, "message", "from", s.bare, "type", "headline").
			Add(NewElement(nsPubsubEvent, "event").Add(what.Copy()))
		s.srv.publish(s.agent.Portal, portalEvent{Op: opPEP, Bare: s.bare, Full: s.full, Agent: s.agent.Key(), Access: access, Stanza: ev.Bytes()})
	}
	pb := s.srv.portalBlocks(s.agent.Portal)
	for _, o := range s.srv.presenceAudience(s.agent.Portal, s.agent.Key()) {
		if !o.isAvailable() || o.bare != s.bare && (access != "presence" || pb.either(s, o)) {
			continue
		}
		o.send(NewElement(nsClient, "message", "from", s.bare, "to", o.full, "type", "headline", "id", randomID()).
			Add(NewElement(nsPubsubEvent, "event").Add(what.Copy())))
	}
}

// formFields are the var/value pairs of a data form (XEP-0004).
func formFields(x *Element) [][2]string {
	if x == nil {
		return nil
	}
	var out [][2]string
	for _, f := range x.Children() {
		if f.Local == "field" {
			out = append(out, [2]string{f.Get("var"), f.ChildText(nsDataForms, "value")})
		}
	}
	return out
}
