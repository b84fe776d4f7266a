package store

import (
	"errors"
	"strings"
	"testing"
)

func TestPrivateXML(t *testing.T) {
	s, ctx := twoAgents(t)
	if x, err := s.PrivateXML(ctx, "acme", "fiona.b", "storage:bookmarks", "storage"); x != nil || err != nil {
		t.Fatalf("before: %q %v", x, err)
	}
	for _, v := range []string{"<storage xmlns='storage:bookmarks'/>", "<storage xmlns='storage:bookmarks'><conference jid='x'/></storage>"} {
		if err := s.SetPrivateXML(ctx, "acme", "fiona.b", "storage:bookmarks", "storage", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if x, _ := s.PrivateXML(ctx, "acme", "fiona.b", "storage:bookmarks", "storage"); !strings.Contains(string(x), "conference") {
		t.Fatalf("got %q", x)
	}
	if x, _ := s.PrivateXML(ctx, "acme", "george.w", "storage:bookmarks", "storage"); x != nil {
		t.Fatal("another agent sees it")
	}
	if err := s.SetPrivateXML(ctx, "acme", "fiona.b", "a", "b", make([]byte, PrivateXMLMax+1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too large: %v", err)
	}
	for i := 1; i < PrivateXMLPerAgent; i++ {
		if err := s.SetPrivateXML(ctx, "acme", "fiona.b", "ns", strings.Repeat("x", i), []byte("<x/>")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPrivateXML(ctx, "acme", "fiona.b", "ns", "one-too-many", []byte("<x/>")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("over the count: %v", err)
	}
}

func TestBlocklist(t *testing.T) {
	s, ctx := twoAgents(t)
	if err := s.Block(ctx, "acme", "fiona.b", []string{"a@x", "b@x", "a@x"}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Blocklist(ctx, "acme", "fiona.b"); strings.Join(l, " ") != "a@x b@x" {
		t.Fatalf("list %v", l)
	}
	if all, _ := s.PortalBlocklists(ctx, "acme"); len(all) != 1 || len(all["fiona.b"]) != 2 {
		t.Fatalf("portal %v", all)
	}
	if err := s.Unblock(ctx, "acme", "fiona.b", []string{"a@x"}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Blocklist(ctx, "acme", "fiona.b"); strings.Join(l, " ") != "b@x" {
		t.Fatalf("after unblock %v", l)
	}
	if err := s.Unblock(ctx, "acme", "fiona.b", nil); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Blocklist(ctx, "acme", "fiona.b"); len(l) != 0 {
		t.Fatalf("after unblock all %v", l)
	}
}

func TestPEPItems(t *testing.T) {
	s, ctx := twoAgents(t)
	for _, id := range []string{"1", "2", "3"} {
		if err := s.PublishPEP(ctx, "acme", "fiona.b", PEPItem{Node: "urn:xmpp:bookmarks:1", ID: id, Payload: []byte("<c/>"), Access: "whitelist"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b"} {
		if err := s.PublishPEP(ctx, "acme", "fiona.b", PEPItem{Node: "nick", ID: id, Payload: []byte("<nick>" + id + "</nick>"), Access: "presence"}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if its, _ := s.PEPItems(ctx, "acme", "fiona.b", "nick", nil, 0); len(its) != 1 || its[0].ID != "b" {
		t.Fatalf("a node of one item: %+v", its)
	}
	its, _ := s.PEPItems(ctx, "acme", "fiona.b", "urn:xmpp:bookmarks:1", nil, 2)
	if len(its) != 2 || its[0].ID != "3" || its[1].ID != "2" {
		t.Fatalf("newest two: %+v", its)
	}
	if its, _ := s.PEPItems(ctx, "acme", "fiona.b", "urn:xmpp:bookmarks:1", []string{"1"}, 0); len(its) != 1 || its[0].ID != "1" {
		t.Fatalf("by id: %+v", its)
	}
	if nodes, _ := s.PEPNodes(ctx, "acme", "fiona.b"); nodes["nick"] != "presence" || nodes["urn:xmpp:bookmarks:1"] != "whitelist" {
		t.Fatalf("nodes %v", nodes)
	}
	if err := s.RetractPEP(ctx, "acme", "fiona.b", "urn:xmpp:bookmarks:1", []string{"2"}); err != nil {
		t.Fatal(err)
	}
	if its, _ := s.PEPItems(ctx, "acme", "fiona.b", "urn:xmpp:bookmarks:1", nil, 0); len(its) != 2 {
		t.Fatalf("after retract: %+v", its)
	}
	if err := s.RetractPEP(ctx, "acme", "fiona.b", "urn:xmpp:bookmarks:1", nil); err != nil {
		t.Fatal(err)
	}
	if its, _ := s.PEPItems(ctx, "acme", "george.w", "nick", nil, 0); len(its) != 0 {
		t.Fatal("another agent's node")
	}
	if err := s.PublishPEP(ctx, "acme", "fiona.b", PEPItem{Node: "x", ID: "1", Payload: []byte("<x/>"), Access: "open"}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad access: %v", err)
	}
}
