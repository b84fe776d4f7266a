package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Bulk adding checks each agent as AddAgent does, skips the usernames the
// portal has (and a username listed twice), and writes departments,
// credentials and an audit row for each agent created.
func TestAddAgentsBulk(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.AddPortal(ctx, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDepartment(ctx, "acme", "Sales", "", "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAgent(ctx, NewAgent{Portal: "acme", Username: "fiona.b", Email: "fiona@acme.example", Password: "old password"}, "test"); err != nil {
		t.Fatal(err)
	}
	n, err := s.AddAgentsBulk(ctx, "acme", []NewAgent{
		{Username: "FIONA.B", Email: "f2@acme.example", Password: "new password"},
		{Username: "george.w", DisplayName: "  George  ", Email: "George@ACME.example", Departments: []string{"sales", "Sales"}, Password: "george password"},
		{Username: "helen.k", Email: "helen@acme.example", Role: RoleSupervisor, MaxChats: 3, Password: "helen password"},
		{Username: "George.W", Email: "g2@acme.example", Password: "george again"},
	}, "")
	if err != nil || n != 2 {
		t.Fatalf("created %d, %v; want 2", n, err)
	}
	g, err := s.Agent(ctx, "acme", "george.w")
	if err != nil || g.DisplayName != "George" || g.Role != RoleAgent || g.MaxChats != DefaultMaxChats ||
		strings.Join(g.Departments, ",") != "Sales" || !strings.EqualFold(g.Email, "george@acme.example") {
		t.Fatalf("george: %+v %v", g, err)
	}
	if h, err := s.Agent(ctx, "acme", "helen.k"); err != nil || h.DisplayName != "helen.k" || h.Role != RoleSupervisor || h.MaxChats != 3 {
		t.Fatalf("helen: %+v %v", h, err)
	}
	for user, pw := range map[string]string{"fiona.b": "old password", "george.w": "george password", "helen.k": "helen password"} {
		_, creds, err := s.Login(ctx, "acme", user)
		if err != nil || len(creds) != 2 || !creds[0].VerifyPassword(pw) || !creds[1].VerifyPassword(pw) {
			t.Errorf("%s: credentials %d, %v", user, len(creds), err)
		}
	}
	entries, err := s.Audit(ctx, "acme", 2)
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit: %+v %v", entries, err)
	}
	for _, e := range entries {
		if e.Action != "agent.add" || e.Actor != "cli" || !strings.HasSuffix(e.Detail, "(bulk)") {
			t.Errorf("audit entry %+v", e)
		}
	}
	if !strings.Contains(entries[0].Detail+entries[1].Detail, "departments=Sales") {
		t.Errorf("george's departments are not audited: %+v", entries)
	}

	// Nothing is added when one agent is refused.
	for _, tc := range []struct {
		agents []NewAgent
		is     error
		want   string
	}{
		{[]NewAgent{{Username: "ivan.p", Email: "ivan@acme.example", Password: "ivan password"}, {Username: "x", Email: "x@acme.example", Password: "12345678"}}, ErrInvalid, ""},
		{[]NewAgent{{Username: "ivan.p", Email: "not an email", Password: "ivan password"}}, ErrInvalid, ""},
		{[]NewAgent{{Username: "ivan.p", Email: "ivan@acme.example", Password: "short"}}, ErrInvalid, ""},
		{[]NewAgent{{Username: "ivan.p", Email: "ivan@acme.example", Role: "boss", Password: "ivan password"}}, ErrInvalid, ""},
		{[]NewAgent{{Username: "ivan.p", Email: "ivan@acme.example", MaxChats: -1, Password: "ivan password"}}, ErrInvalid, "max chats"},
		{[]NewAgent{{Username: "ivan.p", Email: "ivan@acme.example", Departments: []string{"Nope"}, Password: "ivan password"}}, ErrNotFound, "jabberdesk dept add"},
		{[]NewAgent{{Username: "ivan.p", Email: "FIONA@acme.example", Password: "ivan password"}}, ErrExists, "already used"},
	} {
		n, err := s.AddAgentsBulk(ctx, "acme", tc.agents, "test")
		if n != 0 || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: created %d, %v; want %v", tc.agents, n, err, tc.is)
		}
		if _, err := s.Agent(ctx, "acme", "ivan.p"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v: ivan.p was added: %v", tc.agents, err)
		}
	}
	if _, err := s.AddAgentsBulk(ctx, "nowhere", []NewAgent{{Username: "ivan.p", Email: "ivan@acme.example", Password: "ivan password"}}, "test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown portal: %v", err)
	}
}
