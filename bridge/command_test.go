package bridge

import (
	"context"
	"strings"
	"testing"

	"jabberdesk/commands"
)

// Every row of the command table has a handler for each place where the
// command is valid, and nothing else has one: a command is one table row
// and one handler.
func TestEveryCommandHasAHandler(t *testing.T) {
	inTable := map[string]bool{}
	for _, s := range commands.Specs() {
		inTable[s.Name()] = true
		h, ok := handlers[s.Name()]
		if !ok {
			t.Errorf("%s has no handler", s.Invocation())
			continue
		}
		if s.ValidIn(commands.InChat) != (h.inChat != nil) {
			t.Errorf("%s: valid in a visitor chat %v, but a chat handler %v", s.Invocation(), s.ValidIn(commands.InChat), h.inChat != nil)
		}
		if s.ValidIn(commands.AtDesk) != (h.atDesk != nil) {
			t.Errorf("%s: valid on the desk %v, but a desk handler %v", s.Invocation(), s.ValidIn(commands.AtDesk), h.atDesk != nil)
		}
	}
	for name := range handlers {
		if !inTable[name] {
			t.Errorf("handler %q has no row in the command table", name)
		}
	}
}

// In desk mode view the refusal lists the helpdesk commands that only look.
func TestViewableCommands(t *testing.T) {
	if got, want := viewable(commands.GroupSupport), "#support info, ticketinfo, recentreq and searchreq"; got != want {
		t.Errorf("support: %q, want %q", got, want)
	}
	if got, want := viewable(commands.GroupCRM), "#crm info"; got != want {
		t.Errorf("crm: %q, want %q", got, want)
	}
}

// Who may run a command in a chat follows its row: anyone may ask for
// help, a monitor may look but not change, and only the chat's agents
// run its commands.
func TestMayRunInChat(t *testing.T) {
	spec := func(name string) commands.Spec {
		s, ok := commands.Lookup(name)
		if !ok {
			t.Fatalf("no command %s", name)
		}
		return s
	}
	owner := &member{key: "fiona.b", role: roleOwner}
	monitor := &member{key: "george.s", role: roleMonitor}
	for _, tc := range []struct {
		m    *member
		cmd  string
		want string
	}{
		{nil, "help", ""},
		{monitor, "help", ""},
		{nil, "info", "Only an agent in this chat can run #info."},
		{monitor, "info", ""},
		{monitor, "support.searchreq", ""},
		{monitor, "e", "You are monitoring this chat; #e is for the agents in it."},
		{monitor, "support.conasreq", "You are monitoring this chat; #support conasreq is for the agents in it."},
		{owner, "e", ""},
	} {
		if got := mayRunInChat(tc.m, spec(tc.cmd)); got != tc.want {
			t.Errorf("%s by %v: %q, want %q", tc.cmd, tc.m, got, tc.want)
		}
	}
}

// The desk answers #help with an unknown topic by listing the topics.
func TestDeskHelpTopics(t *testing.T) {
	e, _, _ := newTestEngine(t, "fiona.b")
	got := e.DeskSays(context.Background(), "acme", AgentInfo{Key: "fiona.b", Name: "Fiona"}, "#help bogus")
	if !strings.HasPrefix(got, `#help: "bogus" is not a help topic`) {
		t.Errorf("#help bogus: %q", got)
	}
}
