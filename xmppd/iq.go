package xmppd

import (
	"runtime"

	"jabberdesk/address"

	"mellium.im/xmpp/jid"
)

// handleIQ answers IQs for the server and on behalf of accounts and
// contacts (RFC 6120 §8.2.3, RFC 6121 §8.5), and routes IQs between
// resources.
func (s *session) handleIQ(el *Element, to jid.JID) error {
	typ := el.Get("type")
	if typ == "result" || typ == "error" {
		if to.Resourcepart() != "" {
			if t := s.classify(to); t.kind == targetAgent {
				s.srv.deliverFullJID(s.agent.Portal, to, el)
			}
		}
		return nil
	}
	payload := el.FirstChild()
	if (typ != "get" && typ != "set") || payload == nil {
		return errBadRequest.withText("an IQ get or set carries exactly one payload")
	}
	if to.String() == "" {
		return s.serverIQ(el, payload)
	}
	t := s.classify(to)
	switch t.kind {
	case targetServer:
		return s.serverIQ(el, payload)
	case targetAgent:
		if to.Resourcepart() != "" {
			pb := s.srv.portalBlocks(s.agent.Portal)
			if pb.eitherKeys(s.agent.Key(), s.full, t.agent.Key(), to.String()) {
				return errServiceUnavailable
			}
			if took, _ := s.srv.deliverFullJID(s.agent.Portal, to, el); took {
				return nil
			}
			return errServiceUnavailable
		}
		if t.bare == s.bare {
			return s.serverIQ(el, payload)
		}
		return s.contactIQ(el, payload, t)
	case targetBoard, targetDesk, targetVisitor:
		return s.contactIQ(el, payload, t)
	case targetUpload:
		return s.uploadIQ(el, payload)
	case targetForeign:
		return errNoFederation
	}
	return errServiceUnavailable
}

// serverIQ answers IQs to the server or to the agent's own bare JID.
func (s *session) serverIQ(el, payload *Element) error {
	get := el.Get("type") == "get"
	switch {
	case payload.Space == nsRoster:
		return s.rosterIQ(el, payload)
	case payload.Space == nsPing && get:
		s.send(iqResult(el))
	case payload.Space == nsSession && !get:
		s.send(iqResult(el)) // RFC 3921 §3: nothing to do any more
	case payload.Space == nsDiscoInf && get && payload.Get("node") == "":
		s.send(iqResult(el).Add(s.srv.discoInfo(el.Get("to") == "" || el.Get("to") == s.srv.domain)))
	case payload.Space == nsDiscoIt && get && payload.Get("node") == nsCommands:
		// The Desk's commands (XEP-0050 §2.2), for clients that look for
		// them on the server.
		desk := target{kind: targetDesk, name: address.DeskName, bare: s.srv.specialJID(s.agent.Portal, address.DeskName)}
		s.send(iqResult(el).Add(s.adhocItems(el, desk)))
	case payload.Space == nsDiscoIt && get:
		items := NewElement(nsDiscoIt, "query")
		if s.srv.uploads.URL != nil && payload.Get("node") == "" {
			items.Add(NewElement(nsDiscoIt, "item", "jid", s.srv.uploadJID(), "name", "HTTP File Upload"))
		}
		s.send(iqResult(el).Add(items))
	case payload.Space == nsVCard:
		return s.vcardIQ(el, payload, target{kind: targetAgent, name: s.agent.Key(), agent: s.agent, bare: s.bare})
	case payload.Space == nsCarbons:
		return s.carbonsIQ(el, payload)
	case payload.Space == nsPrivate && payload.Local == "query":
		return s.privateIQ(el, payload)
	case payload.Space == nsBlocking:
		return s.blockingIQ(el, payload)
	case payload.Space == nsPubsub || payload.Space == nsPubsubOwner:
		return s.pepIQ(el, payload, target{kind: targetAgent, name: s.agent.Key(), agent: s.agent, bare: s.bare})
	case payload.Space == nsMAM && payload.Local == "query":
		return s.mamIQ(el, payload)
	case payload.Space == nsVersion && get:
		s.send(iqResult(el).Add(NewElement(nsVersion, "query").Add(
			NewElement(nsVersion, "name").AddText("jabberdesk"),
			NewElement(nsVersion, "version").AddText(s.srv.version),
			NewElement(nsVersion, "os").AddText(runtime.GOOS),
		)))
	default:
		return errServiceUnavailable
	}
	return nil
}

// contactIQ answers on behalf of a colleague's bare JID, the board or the
// desk: service discovery and ping.
func (s *session) contactIQ(el, payload *Element, t target) error {
	switch {
	case payload.Space == nsVCard:
		return s.vcardIQ(el, payload, t)
	case (payload.Space == nsPubsub || payload.Space == nsPubsubOwner) && t.kind == targetAgent:
		return s.pepIQ(el, payload, t)
	case payload.Space == nsCommands && t.kind == targetDesk:
		return s.adhocIQ(el, payload, t)
	case payload.Space == nsDiscoInf && t.kind == targetDesk && payload.Get("node") != "" && el.Get("type") == "get":
		return s.adhocInfo(el, payload, t)
	case payload.Space == nsDiscoIt && t.kind == targetDesk && payload.Get("node") == nsCommands && el.Get("type") == "get":
		s.send(iqResult(el).Add(s.adhocItems(el, t)))
		return nil
	}
	if el.Get("type") != "get" {
		return errServiceUnavailable
	}
	switch payload.Space {
	case nsPing:
		s.send(iqResult(el))
	case nsDiscoInf:
		q := NewElement(nsDiscoInf, "query")
		switch t.kind {
		case targetAgent:
			q.Add(NewElement(nsDiscoInf, "identity", "category", "account", "type", "registered"),
				NewElement(nsDiscoInf, "identity", "category", "pubsub", "type", "pep"))
			for _, f := range pepFeatures {
				q.Add(NewElement(nsDiscoInf, "feature", "var", f))
			}
		case targetBoard:
			q.Add(NewElement(nsDiscoInf, "identity", "category", "client", "type", "bot", "name", "Message board"))
		case targetDesk:
			q.Add(NewElement(nsDiscoInf, "identity", "category", "client", "type", "bot", "name", "Desk"))
			for _, f := range s.srv.deskDiscoFeatures() {
				q.Add(NewElement(nsDiscoInf, "feature", "var", f))
			}
		case targetVisitor:
			q.Add(NewElement(nsDiscoInf, "identity", "category", "client", "type", "web", "name", "Visitor "+t.name))
		}
		q.Add(NewElement(nsDiscoInf, "feature", "var", nsDiscoInf))
		s.send(iqResult(el).Add(q))
	default:
		return errServiceUnavailable
	}
	return nil
}

// iqResult starts the result of an IQ: same id, to and from swapped.
func iqResult(el *Element) *Element {
	return NewElement(nsClient, "iq", "type", "result", "id", el.Get("id"), "to", el.Get("from"), "from", el.Get("to"))
}

// discoInfo describes the server (XEP-0030) or, for an account, the
// account.
func (srv *Server) discoInfo(server bool) *Element {
	q := NewElement(nsDiscoInf, "query")
	if !server {
		q.Add(NewElement(nsDiscoInf, "identity", "category", "account", "type", "registered"),
			NewElement(nsDiscoInf, "identity", "category", "pubsub", "type", "pep"))
		for _, f := range append([]string{nsDiscoInf, nsMAM, nsSID}, pepFeatures...) {
			q.Add(NewElement(nsDiscoInf, "feature", "var", f))
		}
		return q
	}
	q.Add(NewElement(nsDiscoInf, "identity", "category", "server", "type", "im", "name", "jabberdesk"))
	features := []string{nsDiscoInf, nsDiscoIt, nsPing, nsVersion, nsRoster, nsRosterV, nsCarbons, nsCSI, nsSM, "msgoffline", nsVCard, nsPrivate, nsBlocking}
	if srv.withDesk {
		features = append(features, nsCommands) // the Desk's, listed at node commands
	}
	for _, f := range features {
		q.Add(NewElement(nsDiscoInf, "feature", "var", f))
	}
	return q
}
