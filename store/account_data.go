package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// What agents' clients keep on the server: private XML (XEP-0049), the
// block list (XEP-0191) and personal eventing items (XEP-0163). The store
// keeps them opaque: the XMPP server checks what they hold.

// Limits of what an agent's clients keep.
const (
	PrivateXMLMax      = 64 << 10  // bytes of one private element
	PrivateXMLPerAgent = 64        // elements
	BlocklistMax       = 1000      // JIDs
	PEPPayloadMax      = 128 << 10 // bytes of one item
	PEPItemsPerAgent   = 2000      // items over all nodes
)

// PrivateXML returns the agent's private element ns/local, nil if none.
func (s *Store) PrivateXML(ctx context.Context, portal, agent, ns, local string) ([]byte, error) {
	var x []byte
	err := s.r.QueryRowContext(ctx, `SELECT x.xml FROM private_xml x JOIN agents a ON a.id = x.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ? AND x.ns = ? AND x.local = ?`, portal, UsernameKey(agent), ns, local).Scan(&x)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return x, wrap("get private xml", err)
}

// SetPrivateXML stores (replacing) the agent's private element ns/local.
// It refuses one over PrivateXMLMax bytes, or one more when the agent has
// PrivateXMLPerAgent already.
func (s *Store) SetPrivateXML(ctx context.Context, portal, agent, ns, local string, xml []byte) error {
	if len(xml) > PrivateXMLMax {
		return invalid("the element is too large to keep (%d KiB, at most %d KiB)", (len(xml)+1023)/1024, PrivateXMLMax/1024)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		var n, exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN ns = ? AND local = ? THEN 1 ELSE 0 END), 0) FROM private_xml WHERE agent_id = ?`, ns, local, aid).Scan(&n, &exists); err != nil {
			return err
		}
		if exists == 0 && n >= PrivateXMLPerAgent {
			return invalid("%d private elements are kept already, the most for one account", n)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO private_xml (agent_id, ns, local, xml, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (agent_id, ns, local) DO UPDATE SET xml = excluded.xml, updated_at = excluded.updated_at`,
			aid, ns, local, xml, millis(s.now()))
		return err
	})
	return wrap("set private xml", err)
}

// Blocklist returns the JIDs the agent blocks, in the order they were
// added.
func (s *Store) Blocklist(ctx context.Context, portal, agent string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT b.jid FROM blocklist b JOIN agents a ON a.id = b.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ? ORDER BY b.created_at, b.jid`, portal, UsernameKey(agent))
	if err != nil {
		return nil, wrap("get blocklist", err)
	}
	defer release(rows)
	jids := []string{}
	for rows.Next() {
		var j string
		if err := rows.Scan(&j); err != nil {
			return nil, wrap("get blocklist", err)
		}
		jids = append(jids, j)
	}
	return jids, wrap("get blocklist", rows.Err())
}

// PortalBlocklists returns every agent's block list in a portal, by
// username key; agents who block nobody are left out.
func (s *Store) PortalBlocklists(ctx context.Context, portal string) (map[string][]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.username_key, b.jid FROM blocklist b JOIN agents a ON a.id = b.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ?`, portal)
	if err != nil {
		return nil, wrap("get blocklists", err)
	}
	defer release(rows)
	out := map[string][]string{}
	for rows.Next() {
		var key, j string
		if err := rows.Scan(&key, &j); err != nil {
			return nil, wrap("get blocklists", err)
		}
		out[key] = append(out[key], j)
	}
	return out, wrap("get blocklists", rows.Err())
}

// Block adds JIDs to the agent's block list (those already in it stay),
// within BlocklistMax.
func (s *Store) Block(ctx context.Context, portal, agent string, jids []string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		now := millis(s.now())
		for _, j := range jids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blocklist (agent_id, jid, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, aid, j, now); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM blocklist WHERE agent_id = ?`, aid).Scan(&n); err != nil {
			return err
		}
		if n > BlocklistMax {
			return invalid("the block list would hold %d addresses, at most %d", n, BlocklistMax)
		}
		return nil
	})
	return wrap("block", err)
}

// Unblock removes JIDs from the agent's block list; no JIDs removes all.
func (s *Store) Unblock(ctx context.Context, portal, agent string, jids []string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		if len(jids) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM blocklist WHERE agent_id = ?`, aid)
			return err
		}
		for _, j := range jids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM blocklist WHERE agent_id = ? AND jid = ?`, aid, j); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("unblock", err)
}

// PEPItem is an item of an agent's personal eventing node.
type PEPItem struct {
	Node        string
	ID          string
	Payload     []byte // the serialized payload element
	Access      string // "presence" or "whitelist"
	PublishedAt time.Time
}

// PublishPEP stores an item (replacing one with the same node and id)
// and keeps at most maxItems of the node, newest first (0: no limit but
// PEPItemsPerAgent over all nodes).
func (s *Store) PublishPEP(ctx context.Context, portal, agent string, it PEPItem, maxItems int) error {
	if len(it.Payload) > PEPPayloadMax {
		return invalid("the item is too large to keep (%d KiB, at most %d KiB)", (len(it.Payload)+1023)/1024, PEPPayloadMax/1024)
	}
	if it.Access != "presence" && it.Access != "whitelist" {
		return invalid("access model %q is not presence or whitelist", it.Access)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pep_items WHERE agent_id = ? AND node = ? AND item_id = ?`, aid, it.Node, it.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pep_items (agent_id, node, item_id, payload, access, published_at) VALUES (?, ?, ?, ?, ?, ?)`,
			aid, it.Node, it.ID, it.Payload, it.Access, millis(s.now())); err != nil {
			return err
		}
		// The node's access model is the latest publication's.
		if _, err := tx.ExecContext(ctx, `UPDATE pep_items SET access = ? WHERE agent_id = ? AND node = ?`, it.Access, aid, it.Node); err != nil {
			return err
		}
		if maxItems > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pep_items WHERE agent_id = ? AND node = ? AND seq NOT IN
				(SELECT seq FROM pep_items WHERE agent_id = ? AND node = ? ORDER BY seq DESC LIMIT ?)`, aid, it.Node, aid, it.Node, maxItems); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pep_items WHERE agent_id = ?`, aid).Scan(&n); err != nil {
			return err
		}
		if n > PEPItemsPerAgent {
			return invalid("%d published items are kept already, the most for one account", PEPItemsPerAgent)
		}
		return nil
	})
	return wrap("publish", err)
}

// PEPItems returns the items of an agent's node, newest first; ids, if
// given, select items; max > 0 keeps the newest max.
func (s *Store) PEPItems(ctx context.Context, portal, agent, node string, ids []string, max int) ([]PEPItem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT i.item_id, i.payload, i.access, i.published_at
		FROM pep_items i JOIN agents a ON a.id = i.agent_id JOIN portals p ON p.id = a.portal_id
		WHERE p.name = ? AND a.username_key = ? AND i.node = ? ORDER BY i.seq DESC`, portal, UsernameKey(agent), node)
	if err != nil {
		return nil, wrap("get items", err)
	}
	defer release(rows)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	items := []PEPItem{}
	for rows.Next() {
		it := PEPItem{Node: node}
		var at int64
		if err := rows.Scan(&it.ID, &it.Payload, &it.Access, &at); err != nil {
			return nil, wrap("get items", err)
		}
		it.PublishedAt = fromMillis(at)
		if len(want) > 0 && !want[it.ID] {
			continue
		}
		items = append(items, it)
		if max > 0 && len(items) == max {
			break
		}
	}
	return items, wrap("get items", rows.Err())
}

// PEPNodes lists an agent's nodes with their access models.
func (s *Store) PEPNodes(ctx context.Context, portal, agent string) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT i.node, i.access FROM pep_items i JOIN agents a ON a.id = i.agent_id
		JOIN portals p ON p.id = a.portal_id WHERE p.name = ? AND a.username_key = ?`, portal, UsernameKey(agent))
	if err != nil {
		return nil, wrap("list nodes", err)
	}
	defer release(rows)
	nodes := map[string]string{}
	for rows.Next() {
		var n, acc string
		if err := rows.Scan(&n, &acc); err != nil {
			return nil, wrap("list nodes", err)
		}
		nodes[n] = acc
	}
	return nodes, wrap("list nodes", rows.Err())
}

// RetractPEP deletes items of an agent's node; no ids deletes the node.
func (s *Store) RetractPEP(ctx context.Context, portal, agent, node string, ids []string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, aid, err := agentRef(ctx, tx, portal, agent)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM pep_items WHERE agent_id = ? AND node = ?`, aid, node)
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pep_items WHERE agent_id = ? AND node = ? AND item_id = ?`, aid, node, id); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("retract", err)
}
