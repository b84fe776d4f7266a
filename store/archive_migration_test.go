package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The migration to one archive row per message keeps every agent's
// archive as it was: pairs become one row (with the sender's id), a side
// whose other agent is gone stays, a message to oneself stays once.
func TestArchiveOneRowMigration(t *testing.T) {
	addr := testAddr(t)
	ms, err := migrations(testEngine())
	if err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, m := range ms {
		if m.name == "archive_one_row" {
			before = m.version - 1
		}
	}
	s, err := openAt(addr, Options{}, before)
	if err != nil {
		t.Fatal(err)
	}
	ctx := fillChatFixture(t, s)
	ids := map[string]int64{}
	for _, u := range []string{"fiona.b", "george.w"} {
		var id int64
		if err := s.r.QueryRowContext(ctx, `SELECT id FROM agents WHERE username_key = ?`, u).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[u] = id
	}
	// The rows as the old schema kept them: owner, with, outgoing.
	old := []struct {
		owner, with string
		out         int
		sid, body   string
		at          int64
	}{
		{"fiona.b", "george.w", 1, "st-1", "hello George", 1000},
		{"george.w", "fiona.b", 0, "st-1", "hello George", 1000},
		{"george.w", "fiona.b", 1, "st-2", "hi Fiona", 2000},
		{"fiona.b", "george.w", 0, "st-2", "hi Fiona", 2000},
		{"fiona.b", "henry.k", 1, "st-3", "to someone gone", 3000},     // henry's side was removed
		{"george.w", "ingrid.m", 0, "st-4", "from someone gone", 4000}, // ingrid's side was removed
		{"fiona.b", "fiona.b", 1, "st-5", "a note to self", 5000},
	}
	rowIDs := map[string]int64{}
	for _, r := range old {
		var id int64
		err := s.w.QueryRowContext(ctx, `INSERT INTO archive (portal_id, owner_id, with_jid, outgoing, stanza_id, body, stanza, at)
			VALUES ((SELECT portal_id FROM agents WHERE id = ?), ?, ?, ?, ?, ?, NULL, ?) RETURNING id`,
			ids[r.owner], ids[r.owner], jidOf(r.with), r.out, r.sid, r.body, r.at).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		if r.out == 1 {
			rowIDs[r.sid] = id
		}
	}
	s.Close()

	s, err = Open(addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := func(owner string) string {
		var out []string
		for _, m := range query(t, s, ArchiveQuery{Owner: owner}).Messages {
			out = append(out, fmt.Sprintf("%s %s %v %s %d", m.StanzaID, m.With, m.Outgoing, m.Body, m.At.UnixMilli()))
		}
		return strings.Join(out, "\n")
	}
	want := map[string]string{
		"fiona.b": strings.Join([]string{
			"st-1 " + jidOf("george.w") + " true hello George 1000",
			"st-2 " + jidOf("george.w") + " false hi Fiona 2000",
			"st-3 " + jidOf("henry.k") + " true to someone gone 3000",
			"st-5 " + jidOf("fiona.b") + " true a note to self 5000",
		}, "\n"),
		"george.w": strings.Join([]string{
			"st-1 " + jidOf("fiona.b") + " false hello George 1000",
			"st-2 " + jidOf("fiona.b") + " true hi Fiona 2000",
			"st-4 " + jidOf("ingrid.m") + " false from someone gone 4000",
		}, "\n"),
	}
	for owner, w := range want {
		if g := got(owner); g != w {
			t.Errorf("%s after the migration:\n%s\nwant\n%s", owner, g, w)
		}
	}
	var rows int
	if err := s.r.QueryRowContext(context.Background(), `SELECT count(*) FROM archive`).Scan(&rows); err != nil || rows != 5 {
		t.Errorf("%d rows, want 5 (%v)", rows, err)
	}
	// A pair keeps the sender's id.
	if p := query(t, s, ArchiveQuery{Owner: "george.w", After: archiveID(kindArchive, rowIDs["st-1"], 0)}); len(p.Messages) != 2 || p.Messages[0].StanzaID != "st-2" {
		t.Errorf("after st-1's old id: %+v", p.Messages)
	}
	// New rows do not collide with the kept ids.
	pair(t, s, "fiona.b", "george.w", "st-6", "after", fromMillis(6000))
}
