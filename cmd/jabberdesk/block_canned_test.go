package main

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"jabberdesk/store"
)

func TestBlock(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	if out := ok(t, dir, "block", "list", "acme"); out != "No blocked addresses.\n" {
		t.Errorf("block list of a portal without blocks: %q", out)
	}
	var bs []store.BlockedIP
	okJSON(t, dir, &bs, "block", "list", "acme")
	if bs == nil || len(bs) != 0 {
		t.Errorf("block list --json without blocks = %#v, want []", bs)
	}

	// An agent blocks the address of a chat with #b.
	ctx := context.Background()
	st := openStore(t, dir)
	h := sha256.Sum256([]byte("token"))
	c, err := st.CreateChat(ctx, store.NewChat{Portal: "acme", PublicID: "pub-1", TokenHash: h[:], Name: "Ann", Question: "Hello?", IP: "198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.BlockIP(ctx, "acme", c.IP, "rude", "fiona.b", c.ID); err != nil {
		t.Fatal(err)
	}

	// An admin blocks one up front: stored in canonical form.
	out := ok(t, dir, "block", "add", "acme", "::FFFF:203.0.113.7", "--reason", "spam\nbot")
	if !strings.Contains(out, "IP address 203.0.113.7 blocked in portal acme") || !strings.Contains(out, "jabberdesk block remove acme 203.0.113.7") {
		t.Errorf("block add:\n%s", out)
	}
	var b store.BlockedIP
	okJSON(t, dir, &b, "block", "add", "acme", "2001:DB8::7", "--reason", "abuse")
	if b.IP != "2001:db8::7" || b.Portal != "acme" || b.Reason != "abuse" || !strings.HasPrefix(b.BlockedBy, "cli") || b.ChatNumber != 0 || b.CreatedAt.IsZero() {
		t.Errorf("block add --json = %+v", b)
	}

	// Newest first, with the chat it was blocked from.
	okJSON(t, dir, &bs, "block", "list", "acme")
	var ips []string
	for _, b := range bs {
		ips = append(ips, b.IP)
	}
	if strings.Join(ips, " ") != "2001:db8::7 203.0.113.7 198.51.100.9" {
		t.Fatalf("block list --json addresses = %v", ips)
	}
	if f := bs[2]; f.Reason != "rude" || f.BlockedBy != "fiona.b" || f.ChatNumber != c.Number || f.ID == 0 {
		t.Errorf("block list --json, block from a chat = %+v", f)
	}
	out = ok(t, dir, "block", "list", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "ADDRESS") || !strings.Contains(lines[0], "BLOCKED BY") ||
		!strings.HasPrefix(lines[1], "2001:db8::7 ") || !strings.Contains(lines[2], "spam bot") ||
		!strings.Contains(lines[3], "fiona.b") || !strings.Contains(lines[3], "#1") {
		t.Errorf("block list:\n%s", out)
	}

	out = ok(t, dir, "block", "remove", "acme", "::ffff:203.0.113.7")
	if out != "IP address 203.0.113.7 unblocked: new chats from it are accepted again\n" {
		t.Errorf("block remove: %q", out)
	}
	var removed map[string]any
	okJSON(t, dir, &removed, "block", "remove", "acme", "198.51.100.9")
	if removed["ip"] != "198.51.100.9" || removed["portal"] != "acme" || removed["removed"] != true {
		t.Errorf("block remove --json = %v", removed)
	}
	if blocked, err := st.IsBlocked(ctx, "acme", "198.51.100.9"); err != nil || blocked {
		t.Errorf("after block remove: IsBlocked = %v, %v", blocked, err)
	}
	okJSON(t, dir, &bs, "block", "list", "acme")
	if len(bs) != 1 || bs[0].IP != "2001:db8::7" {
		t.Errorf("block list after remove = %+v", bs)
	}
}

func TestBlockErrors(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "block", "add", "acme", "203.0.113.7", "--reason", "spam")
	fails(t, dir, 1, "jabberdesk: block add: IP address 203.0.113.7 is already blocked", "block", "add", "acme", "203.0.113.7", "--reason", "again")
	fails(t, dir, 1, `"203.0.113" is not an IP address`, "block", "add", "acme", "203.0.113", "--reason", "spam")
	fails(t, dir, 1, `"nonsense" is not an IP address`, "block", "remove", "acme", "nonsense")
	fails(t, dir, 1, "a reason is required", "block", "add", "acme", "203.0.113.8", "--reason", " ")
	fails(t, dir, 1, `IP address 203.0.113.8 is not blocked in portal "acme" (see: jabberdesk block list acme)`, "block", "remove", "acme", "203.0.113.8")
	fails(t, dir, 1, `portal "nope" does not exist`, "block", "list", "nope")
	fails(t, dir, 1, `portal "nope" does not exist`, "block", "add", "nope", "203.0.113.7", "--reason", "spam")
	fails(t, dir, 1, `portal "nope" does not exist`, "block", "remove", "nope", "203.0.113.7")

	r := fails(t, dir, 2, "jabberdesk: block add: --reason is required", "block", "add", "acme", "203.0.113.8")
	if !strings.Contains(r.stderr, "Run 'jabberdesk block add --help' for usage.") {
		t.Errorf("usage error without a hint: %q", r.stderr)
	}
	fails(t, dir, 2, "want 2 arguments (PORTAL IP), got 1", "block", "remove", "acme")
	fails(t, dir, 2, "want 1 argument (PORTAL), got 2", "block", "list", "acme", "203.0.113.7")
	fails(t, dir, 2, `unknown command "unblock" for "jabberdesk block"`, "block", "unblock", "acme", "203.0.113.7")
}

func TestCanned(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	if out := ok(t, dir, "canned", "list", "acme"); !strings.Contains(out, "no canned responses yet") || !strings.Contains(out, "jabberdesk canned add acme SHORTCUT") {
		t.Errorf("canned list of a portal without responses: %q", out)
	}
	var cs []store.Canned
	okJSON(t, dir, &cs, "canned", "list", "acme")
	if cs == nil || len(cs) != 0 {
		t.Errorf("canned list --json without responses = %#v, want []", cs)
	}

	out := ok(t, dir, "canned", "add", "acme", "hello", "--text", "Hello {visitor.name}, I am {agent.name}.")
	if !strings.Contains(out, `Added canned response "hello" to portal acme for all departments (category General)`) || !strings.Contains(out, "#r hello") {
		t.Errorf("canned add:\n%s", out)
	}
	var c store.Canned
	okJSON(t, dir, &c, "canned", "add", "acme", "hello", "--dept", "sales", "--category", "Greetings", "--text", "Hi from Sales")
	if c.Portal != "acme" || c.Department != "Sales" || c.Shortcut != "hello" || c.Category != "Greetings" || c.Text != "Hi from Sales" || c.ID == 0 || c.CreatedAt.IsZero() {
		t.Errorf("canned add --json = %+v", c)
	}
	// --text-stdin takes all of standard input, lines and all.
	r := cli(t, dir, "Your refund is on its way.\r\n\r\nRegards, {agent.name}\n", "canned", "add", "acme", "refund", "--dept", "Sales", "--category", "billing", "--text-stdin")
	if r.code != 0 {
		t.Fatalf("canned add --text-stdin: exit %d: %s", r.code, r.stderr)
	}
	ok(t, dir, "canned", "add", "acme", "invoice", "--category", "Billing", "--text", "Invoices are sent by email.")

	okJSON(t, dir, &cs, "canned", "list", "acme")
	var got []string
	for _, c := range cs {
		got = append(got, c.Department+"/"+c.Category+"/"+c.Shortcut)
	}
	if want := "/billing/invoice /General/hello Sales/billing/refund Sales/Greetings/hello"; strings.Join(got, " ") != want {
		t.Errorf("canned list --json = %v, want %s", got, want)
	}
	for _, c := range cs {
		if c.Shortcut == "refund" && c.Text != "Your refund is on its way.\n\nRegards, {agent.name}" {
			t.Errorf("text read with --text-stdin = %q", c.Text)
		}
	}

	out = ok(t, dir, "canned", "list", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "DEPARTMENT") || !strings.Contains(lines[0], "SHORTCUT") ||
		!strings.HasPrefix(lines[1], "all departments") || !strings.Contains(lines[1], "invoice") ||
		strings.Contains(lines[2], "all departments") || !strings.Contains(lines[2], "General") ||
		!strings.HasPrefix(lines[3], "Sales") || !strings.Contains(lines[3], "Your refund is on its way. Regards, {agent.name}") ||
		!strings.HasPrefix(lines[4], " ") || !strings.Contains(lines[4], "Greetings") {
		t.Errorf("canned list:\n%s", out)
	}

	out = ok(t, dir, "canned", "remove", "acme", "HELLO", "--dept", "sales")
	if out != `Removed canned response "HELLO" of portal acme for Sales.`+"\n" {
		t.Errorf("canned remove: %q", out)
	}
	var removed map[string]any
	okJSON(t, dir, &removed, "canned", "remove", "acme", "hello")
	if removed["portal"] != "acme" || removed["department"] != "" || removed["shortcut"] != "hello" || removed["removed"] != true {
		t.Errorf("canned remove --json = %v", removed)
	}
	okJSON(t, dir, &cs, "canned", "list", "acme")
	if len(cs) != 2 || cs[0].Shortcut != "invoice" || cs[1].Shortcut != "refund" {
		t.Errorf("canned list after remove = %+v", cs)
	}
}

func TestCannedErrors(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	ok(t, dir, "canned", "add", "acme", "hello", "--text", "Hello")
	fails(t, dir, 1, `jabberdesk: canned add: canned response "Hello" already exists in portal "acme" (for all departments)`, "canned", "add", "acme", "Hello", "--text", "Hi")
	fails(t, dir, 1, `department "Nope" does not exist in portal "acme"`, "canned", "add", "acme", "bye", "--dept", "Nope", "--text", "Bye")
	fails(t, dir, 1, `department "Nope" does not exist in portal "acme"`, "canned", "remove", "acme", "hello", "--dept", "Nope")
	fails(t, dir, 1, `portal "nope" does not exist`, "canned", "add", "nope", "bye", "--text", "Bye")
	fails(t, dir, 1, `portal "nope" does not exist`, "canned", "list", "nope")
	fails(t, dir, 1, `portal "nope" does not exist`, "canned", "remove", "nope", "hello")
	fails(t, dir, 1, `shortcut "good bye" has a character that is not allowed`, "canned", "add", "acme", "good bye", "--text", "Bye")
	fails(t, dir, 1, `canned response "hello" does not exist for department "Sales" in portal "acme"`, "canned", "remove", "acme", "hello", "--dept", "Sales")
	fails(t, dir, 1, `the text of canned response "bye" is required`, "canned", "add", "acme", "bye", "--text", " ")
	if r := cli(t, dir, "", "canned", "add", "acme", "bye", "--text-stdin"); r.code != 1 || !strings.Contains(r.stderr, "--text-stdin: standard input is empty") {
		t.Errorf("canned add --text-stdin with empty stdin: exit %d, %q", r.code, r.stderr)
	}

	r := fails(t, dir, 2, "the text is required: give --text TEXT, or --text-stdin", "canned", "add", "acme", "bye")
	if !strings.Contains(r.stderr, "Run 'jabberdesk canned add --help' for usage.") {
		t.Errorf("usage error without a hint: %q", r.stderr)
	}
	fails(t, dir, 2, "--text and --text-stdin exclude each other", "canned", "add", "acme", "bye", "--text", "Bye", "--text-stdin")
	fails(t, dir, 2, "want 2 arguments (PORTAL SHORTCUT), got 1", "canned", "add", "acme", "--text", "Bye")
	fails(t, dir, 2, "unknown flag: --department", "canned", "remove", "acme", "hello", "--department", "Sales")
	fails(t, dir, 2, `unknown command "delete" for "jabberdesk canned"`, "canned", "delete", "acme", "hello")

	var cs []store.Canned
	okJSON(t, dir, &cs, "canned", "list", "acme")
	if len(cs) != 1 {
		t.Errorf("failed commands changed the canned responses: %+v", cs)
	}
}

func TestBlockCannedHelp(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	out := ok(t, dir, "canned", "--help")
	for _, want := range []string{"#r SHORTCUT", "{visitor.name}", "{agent.name}"} {
		if !strings.Contains(out, want) {
			t.Errorf("canned --help lacks %q", want)
		}
	}
	if out := ok(t, dir, "block", "--help"); !strings.Contains(out, "#b REASON") {
		t.Errorf("block --help lacks #b REASON:\n%s", out)
	}
	if out := ok(t, dir, "canned", "add", "--help"); !strings.Contains(out, "--text-stdin") || !strings.Contains(out, "{visitor.name}") {
		t.Errorf("canned add --help:\n%s", out)
	}
}
