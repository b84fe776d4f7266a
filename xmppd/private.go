package xmppd

import (
	"errors"

	"jabberdesk/store"
)

// XEP-0049 Private XML Storage: an agent's clients keep elements of their
// own namespaces on the server (older clients keep bookmarks and roster
// notes there). Each element is the account's alone, kept as sent and
// replaced by the next set of the same namespace and name.

const nsPrivate = "jabber:iq:private"

// privateIQ answers a get or set of private elements, to the own account.
func (s *session) privateIQ(el, q *Element) error {
	kids := q.Children()
	if len(kids) == 0 {
		return errBadRequest.withText("name the element to get or set, like <storage xmlns='storage:bookmarks'/>")
	}
	for _, k := range kids {
		switch k.Space {
		case "", nsClient, "jabber:server", nsPrivate:
			return errNotAcceptable.withText("elements of namespace " + k.Space + " are not kept in private storage")
		}
	}
	res := NewElement(nsPrivate, "query")
	for _, k := range kids {
		if el.Get("type") == "set" {
			err := s.srv.store.SetPrivateXML(s.ctx(), s.agent.Portal, s.agent.Key(), k.Space, k.Local, k.Bytes())
			var ue *store.UserError
			if errors.As(err, &ue) && errors.Is(err, store.ErrInvalid) {
				return errNotAcceptable.withText(ue.Msg)
			}
			if err != nil {
				return err
			}
			continue
		}
		b, err := s.srv.store.PrivateXML(s.ctx(), s.agent.Portal, s.agent.Key(), k.Space, k.Local)
		if err != nil {
			return err
		}
		if stored := parseStored(b); stored != nil {
			res.Add(stored)
		} else {
			res.Add(NewElement(k.Space, k.Local)) // nothing kept: the empty element
		}
	}
	if el.Get("type") == "set" {
		s.send(iqResult(el))
		return nil
	}
	s.send(iqResult(el).Add(res))
	return nil
}
