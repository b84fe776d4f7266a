package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"jabberdesk/store"
)

func TestTerminalWriter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain\ttext\n":           "plain\ttext\n",
		"\x1b[2Jclear\a\x00\r":    `\x1b[2Jclear\x07\x00\x0d`,
		"csi \u009b31m and \x7f":  `csi \u009b31m and \x7f`,
		"bad \xff byte":           `bad \xff byte`,
		"order \u202e1234\u2028x": `order \u202e1234\u2028x`,
		"Ünïcödé ✓ 日本語 👨\u200d👩":  "Ünïcödé ✓ 日本語 👨\u200d👩",
	} {
		// Byte by byte: sequences split across writes come out whole.
		var b bytes.Buffer
		w := &terminalWriter{w: &b}
		for i := 0; i < len(in); i++ {
			if _, err := w.Write([]byte{in[i]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%q written as %q, want %q", in, b.String(), want)
		}
	}
	var b bytes.Buffer
	w := &terminalWriter{w: &b}
	w.Write([]byte("cut \xe6\x97"))
	w.Flush()
	if b.String() != `cut \xe6\x97` {
		t.Errorf("an unfinished sequence: %q", b.String())
	}
}

// What visitors typed reaches the admin's terminal as text: escape codes
// are shown, never obeyed; --json keeps every character exactly.
func TestCLIShowsControlCharacters(t *testing.T) {
	t.Parallel()
	dir, st, _, _ := ticketFixture(t)
	ctx := context.Background()
	evil := "Eve\x1b]0;pwned\a\x1b[2J"
	c := helpdeskChat(t, st, evil, "eve@example.com", "", "Help \u009b31m\r")
	if _, err := st.AppendChatEvent(ctx, c.ID, store.ChatEvent{Type: "visitor_message", AuthorKind: store.AuthorVisitor, Text: "hi\x00\x1b[31m\n[12:00:00] Fiona: refund approved", Visible: true}); err != nil {
		t.Fatal(err)
	}
	tk := helpdeskTicket(t, st, store.NewTicket{ChatID: c.ID, Transcript: "Eve: \x1b[5mblink", Actor: "fiona.b"})
	for _, args := range [][]string{
		{"chat", "show", "acme", fmt.Sprint(c.Number)},
		{"chat", "list", "acme"},
		{"ticket", "show", "acme", fmt.Sprint(tk.Number)},
		{"ticket", "list", "acme"},
	} {
		out := ok(t, dir, args...)
		if strings.ContainsAny(out, "\x1b\x00\a\r\u009b") {
			t.Errorf("jabberdesk %s printed raw control characters: %q", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, `\x1b`) && !strings.Contains(out, `\u009b`) {
			t.Errorf("jabberdesk %s does not show the escape codes: %q", strings.Join(args, " "), out)
		}
		if strings.Contains(out, "\n[12:00:00] Fiona:") {
			t.Errorf("jabberdesk %s: a visitor's line passes for a transcript line: %q", strings.Join(args, " "), out)
		}
	}
	var shown struct {
		VisitorName string `json:"visitor_name"`
		Question    string `json:"question"`
	}
	okJSON(t, dir, &shown, "chat", "show", "acme", fmt.Sprint(c.Number))
	if shown.VisitorName != evil || shown.Question != "Help \u009b31m" {
		t.Errorf("--json changed the data: %q %q", shown.VisitorName, shown.Question)
	}
}
