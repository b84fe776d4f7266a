package commands

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDoc = flag.Bool("update", false, "rewrite docs/COMMANDS.md from the command table")

const commandsDoc = "../docs/COMMANDS.md"

// commandsMarkdown is docs/COMMANDS.md: the full help, from the table.
// "#help all" prints the same text in a chat window and on the Desk
// contact, so it is listed once (the test checks that it is the same).
func commandsMarkdown(t *testing.T) string {
	t.Helper()
	inChat := mustHelp(t, "all", InChat, nil)
	if atDesk := mustHelp(t, "all", AtDesk, nil); atDesk != inChat {
		t.Fatalf("#help all differs between a chat window and the Desk:\n%s\n---\n%s", inChat, atDesk)
	}
	return `# Hash commands

Agents type hash commands into a visitor's chat window or to the Desk
contact; they never reach the visitor, and the reply comes back in the
same window from the same contact, as a server line (starting with "» ").
Chat commands act on the chat whose window they are typed in; Desk
commands name a chat by its number. Command words are case-insensitive;
every refusal says what was wrong and shows the usage; ` + "`##text`" + ` sends
` + "`#text`" + ` to the visitor. Department names and ` + "`#tpl`" + ` arguments with
spaces are quoted with "…", “…” or 「…」. Commands that change something are
recorded in the audit log.
` + "`#help`" + ` prints the short list where it is typed, ` + "`#help all`" + ` what follows.

This file is generated from the command table (commands/table.go), which
the parser and ` + "`#help`" + ` read too:
` + "`go test ./commands -run CommandsDoc -update`" + ` rewrites it.

` + "```\n" + inChat + "\n```\n"
}

// TestCommandsDocUpToDate keeps docs/COMMANDS.md identical to the table.
func TestCommandsDocUpToDate(t *testing.T) {
	want := commandsMarkdown(t)
	if *updateDoc {
		if err := os.WriteFile(commandsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(commandsDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/COMMANDS.md differs from the command table; regenerate it with\n\tgo test ./commands -run CommandsDoc -update")
	}
	if strings.Contains(want, "\t") {
		t.Error("tabs in the generated help")
	}
}
