package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jabberdesk/store"
)

// helpdeskChat starts a chat in portal acme with the store.
func helpdeskChat(t *testing.T, st *store.Store, name, email, dept, question string) store.Chat {
	t.Helper()
	id := fmt.Sprintf("pub-%s-%s", name, question)
	h := sha256.Sum256([]byte("token-" + id))
	c, err := st.CreateChat(context.Background(), store.NewChat{Portal: "acme", PublicID: id, TokenHash: h[:],
		Name: name, Email: email, Department: dept, Question: question, IP: "198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func helpdeskTicket(t *testing.T, st *store.Store, n store.NewTicket) store.Ticket {
	t.Helper()
	n.Portal = "acme"
	tk, err := st.CreateTicket(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// ticketNumbers lists the numbers of tickets, "3 2 1".
func ticketNumbers(ts []store.Ticket) string {
	var ns []string
	for _, t := range ts {
		ns = append(ns, fmt.Sprint(t.Number))
	}
	return strings.Join(ns, " ")
}

// ticketFixture is portal acme with department Sales, account Globex
// (resolution within 24 hours) and:
//
//	#1  from Ann's chat: low, on hold, problem, in Sales, due (Ann is in Globex)
//	#2  from Bob's missed chat: open
//	#3  made by an administrator for Carl: closed
//
// and Dee's chat flagged (no email).
func ticketFixture(t *testing.T) (dir string, st *store.Store, ann, dee store.Chat) {
	t.Helper()
	dir = setup(t)
	ok(t, dir, "dept", "add", "acme", "Sales")
	ok(t, dir, "account", "add", "acme", "Globex", "--resolution-hours", "24")
	ok(t, dir, "contact", "add", "acme", "--email", "ann@example.com", "--name", "Ann Smith", "--account", "Globex")
	st = openStore(t, dir)
	ann = helpdeskChat(t, st, "Ann", "ann@example.com", "Sales", "My printer jams")
	helpdeskTicket(t, st, store.NewTicket{ChatID: ann.ID, Transcript: "Ann: My printer jams\nfiona.b: Which model?",
		Priority: 1, Status: store.TicketOnHold, Classification: 2, Actor: "fiona.b"})
	bob := helpdeskChat(t, st, "Bob", "bob@example.com", "", "Anyone there?")
	helpdeskTicket(t, st, store.NewTicket{ChatID: bob.ID, Missed: true})
	helpdeskTicket(t, st, store.NewTicket{Subject: "Invoice copy", Email: "carl@example.com", Name: "Carl",
		Status: store.TicketClosed, Channel: store.TicketChannelCLI})
	dee = helpdeskChat(t, st, "Dee", "", "Sales", "Call me back")
	if err := st.FlagChat(context.Background(), dee.ID, "the visitor has no email"); err != nil {
		t.Fatal(err)
	}
	return dir, st, ann, dee
}

func TestTicketList(t *testing.T) {
	t.Parallel()
	dir, _, _, dee := ticketFixture(t)
	for view, want := range map[string]string{"": "2 1", "open": "2 1", "missed": "2", "closed": "3", "all": "3 2 1"} {
		args := []string{"ticket", "list", "acme"}
		if view != "" {
			args = append(args, "--view", view)
		}
		var ts []store.Ticket
		okJSON(t, dir, &ts, args...)
		if got := ticketNumbers(ts); got != want {
			t.Errorf("ticket list --view %q --json: tickets %q, want %q", view, got, want)
		}
	}

	// --json has the codes as words, as the store's tickets do.
	var raw []map[string]any
	okJSON(t, dir, &raw, "ticket", "list", "acme", "--view", "all")
	if len(raw) != 3 {
		t.Fatalf("ticket list --view all --json = %v", raw)
	}
	first := raw[2]
	if first["number"] != 1.0 || first["priority"] != "low" || first["status"] != "on hold" || first["classification"] != "problem" ||
		first["subject"] != "My printer jams" || first["contact_email"] != "ann@example.com" || first["department"] != "Sales" ||
		first["overdue"] != false || first["due_at"] == nil || first["channel"] != "chat" {
		t.Errorf("ticket #1 in --json = %v", first)
	}
	if third := raw[0]; third["status"] != "closed" || third["priority"] != "none" || third["classification"] != "none" || third["channel"] != "cli" {
		t.Errorf("ticket #3 in --json = %v", third)
	}
	if second := raw[1]; second["missed"] != true || second["due_at"] != nil {
		t.Errorf("ticket #2 in --json = %v", second)
	}

	out := ok(t, dir, "ticket", "list", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "CLASSIFICATION") || !strings.Contains(lines[0], "DUE") ||
		!strings.HasPrefix(lines[1], "#2 ") || !strings.Contains(lines[1], "Bob <bob@example.com>") {
		t.Fatalf("ticket list:\n%s", out)
	}
	for _, want := range []string{"#1", "on hold", "low", "problem", "My printer jams", "Ann Smith <ann@example.com>", "Sales"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("ticket list line of #1 lacks %q: %s", want, lines[2])
		}
	}
	if strings.HasSuffix(lines[2], " -") || !strings.HasSuffix(lines[1], " -") {
		t.Errorf("ticket list: #1 has a due time and #2 none:\n%s", out)
	}

	// Flagged chats: not tickets, with how to convert them.
	var flagged []flaggedRow
	okJSON(t, dir, &flagged, "ticket", "list", "acme", "--view", "flagged")
	if len(flagged) != 1 || flagged[0].Number != dee.Number || flagged[0].Visitor != "Dee" || flagged[0].Question != "Call me back" ||
		flagged[0].Department != "Sales" || !strings.Contains(flagged[0].Hint, fmt.Sprintf("#setemail %d EMAIL then #convert %d", dee.Number, dee.Number)) {
		t.Errorf("ticket list --view flagged --json = %+v", flagged)
	}
	out = ok(t, dir, "ticket", "list", "acme", "--view", "FLAGGED")
	for _, want := range []string{"VISITOR", fmt.Sprintf("#%d", dee.Number), "Dee", "Call me back",
		"To convert chat N: on the Desk contact, #setemail N EMAIL then #convert N; or jabberdesk ticket create acme --from-chat N --email EMAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("ticket list --view flagged lacks %q:\n%s", want, out)
		}
	}

	if out := ok(t, dir, "ticket", "list", "acme", "--limit", "1", "--view", "all"); strings.Count(out, "\n") != 2 {
		t.Errorf("ticket list --limit 1:\n%s", out)
	}
	fails(t, dir, 2, `--view: view "pending" is not one of open, missed, flagged, closed, all`, "ticket", "list", "acme", "--view", "pending")
	fails(t, dir, 2, "--limit must be at least 1", "ticket", "list", "acme", "--limit", "0")
	fails(t, dir, 1, `portal "nope" does not exist`, "ticket", "list", "nope")
	fails(t, dir, 1, `portal "nope" does not exist`, "ticket", "list", "nope", "--view", "flagged")
	fails(t, dir, 2, "want 1 argument (PORTAL), got 0", "ticket", "list")

	ok(t, dir, "portal", "add", "beta")
	if out := ok(t, dir, "ticket", "list", "beta"); out != "No tickets in the open view of portal beta.\n" {
		t.Errorf("ticket list of a portal without tickets: %q", out)
	}
	var none []store.Ticket
	okJSON(t, dir, &none, "ticket", "list", "beta")
	var noFlags []flaggedRow
	okJSON(t, dir, &noFlags, "ticket", "list", "beta", "--view", "flagged")
	if none == nil || len(none) != 0 || noFlags == nil || len(noFlags) != 0 {
		t.Errorf("empty lists in --json: %#v, %#v; want []", none, noFlags)
	}
}

func TestTicketShow(t *testing.T) {
	t.Parallel()
	dir, st, ann, _ := ticketFixture(t)
	if err := st.AddTicketNote(context.Background(), "acme", 1, "fiona.b", "Sent a new drum.\nWaiting for Ann."); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, "ticket", "set-status", "acme", "1", "closed")

	var tk store.Ticket
	okJSON(t, dir, &tk, "ticket", "show", "acme", "1")
	if tk.Number != 1 || tk.Status != store.TicketClosed || tk.Priority != 1 || tk.Classification != 2 ||
		len(tk.ChatNumbers) != 1 || tk.ChatNumbers[0] != ann.Number || tk.DueAt == nil {
		t.Errorf("ticket show --json = %+v", tk)
	}
	var d struct {
		Status string              `json:"status"`
		Thread []store.ThreadEntry `json:"thread"`
	}
	okJSON(t, dir, &d, "ticket", "show", "acme", "#1")
	if d.Status != "closed" || len(d.Thread) != 3 {
		t.Fatalf("ticket show --json: status %q, thread %+v", d.Status, d.Thread)
	}
	if e := d.Thread[0]; e.Kind != store.ThreadTranscript || e.ChatNumber != ann.Number || e.Author != "fiona.b" || !strings.Contains(e.Body, "Which model?") {
		t.Errorf("thread[0] = %+v", e)
	}
	if e := d.Thread[1]; e.Kind != store.ThreadNote || e.Body != "Sent a new drum.\nWaiting for Ann." {
		t.Errorf("thread[1] = %+v", e)
	}
	if e := d.Thread[2]; e.Kind != store.ThreadStatus || e.Body != "status: on hold → closed" || !strings.HasPrefix(e.Author, "cli") {
		t.Errorf("thread[2] = %+v", e)
	}

	out := ok(t, dir, "ticket", "show", "acme", "1")
	want := []string{
		"Ticket          #1 of portal acme", "My printer jams", "closed", "low", "problem", "Ann Smith <ann@example.com>", "Sales",
		fmt.Sprintf("#%d", ann.Number), "Thread:",
		fmt.Sprintf("transcript of chat #%d (added by fiona.b):\n  Ann: My printer jams\n  fiona.b: Which model?\n", ann.Number),
		"note by fiona.b:\n  Sent a new drum.\n  Waiting for Ann.\n",
		"status: on hold → closed by cli",
	}
	last := 0
	for _, w := range want {
		i := strings.Index(out[last:], w)
		if i < 0 {
			t.Errorf("ticket show lacks %q (after offset %d):\n%s", w, last, out)
			continue
		}
		last += i
	}

	if out := ok(t, dir, "ticket", "show", "acme", "3"); !strings.Contains(out, "The thread is empty.") || !strings.Contains(out, "cli") {
		t.Errorf("ticket show of a ticket without thread:\n%s", out)
	}
	fails(t, dir, 2, `N must be a ticket number like 12, got "one"`, "ticket", "show", "acme", "one")
	fails(t, dir, 1, `ticket #9 does not exist in portal "acme"`, "ticket", "show", "acme", "9")
}

func TestTicketSetStatus(t *testing.T) {
	t.Parallel()
	dir, st, _, _ := ticketFixture(t)
	if out := ok(t, dir, "ticket", "set-status", "acme", "1", "escalated"); out != "Ticket #1 of portal acme: status on hold → escalated.\n" {
		t.Errorf("ticket set-status: %q", out)
	}
	if out := ok(t, dir, "ticket", "set-status", "acme", "#1", "2"); out != "Ticket #1 of portal acme is escalated already; nothing changed.\n" {
		t.Errorf("ticket set-status to the same status: %q", out)
	}
	var raw map[string]any
	okJSON(t, dir, &raw, "ticket", "set-status", "acme", "3", "reopen")
	if raw["number"] != 3.0 || raw["status"] != "open" {
		t.Errorf("ticket set-status --json = %v", raw)
	}
	ok(t, dir, "ticket", "set-status", "acme", "2", "On_Hold")
	tk, err := st.Ticket(context.Background(), "acme", 2)
	if err != nil || tk.Status != store.TicketOnHold {
		t.Errorf("ticket #2 after set-status On_Hold: %+v, %v", tk, err)
	}
	audit, err := st.Audit(context.Background(), "acme", 1)
	if err != nil || len(audit) != 1 || audit[0].Action != "ticket.status" || audit[0].Target != "#2" || !strings.HasPrefix(audit[0].Actor, "cli") {
		t.Errorf("audit log after set-status: %+v, %v", audit, err)
	}

	r := fails(t, dir, 2, `ticket status "done" is not one of 0 open, 1 on hold, 2 escalated, 3 closed`, "ticket", "set-status", "acme", "1", "done")
	if !strings.Contains(r.stderr, "Run 'jabberdesk ticket set-status --help' for usage.") {
		t.Errorf("bad status without a usage hint: %q", r.stderr)
	}
	fails(t, dir, 2, "want 3 arguments (PORTAL N STATUS), got 2", "ticket", "set-status", "acme", "1")
	fails(t, dir, 2, `N must be a ticket number like 12, got "0"`, "ticket", "set-status", "acme", "0", "closed")
	fails(t, dir, 1, `ticket #7 does not exist in portal "acme"`, "ticket", "set-status", "acme", "7", "closed")
	fails(t, dir, 1, `portal "nope" does not exist`, "ticket", "set-status", "nope", "1", "closed")
	if tk, _ := st.Ticket(context.Background(), "acme", 1); tk.Status != store.TicketEscalated {
		t.Errorf("a failed set-status changed ticket #1: %+v", tk)
	}
}

func TestTicketSearch(t *testing.T) {
	t.Parallel()
	dir, st, _, _ := ticketFixture(t)
	helpdeskTicket(t, st, store.NewTicket{Subject: "Printer toner", Email: "ANN@example.com", Channel: store.TicketChannelCLI})
	for term, want := range map[string]string{
		"Ann@Example.com": "4 1",
		"#2":              "2",
		"3":               "3",
		"printer":         "4 1",
		"jams PRINTER":    "1",
		"smith":           "4 1", // the contact's name
		"nothing":         "",
	} {
		var ts []store.Ticket
		okJSON(t, dir, &ts, "ticket", "search", "acme", term)
		if got := ticketNumbers(ts); got != want {
			t.Errorf("ticket search %q: tickets %q, want %q", term, got, want)
		}
	}
	out := ok(t, dir, "ticket", "search", "acme", "printer")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "SUBJECT") ||
		!strings.Contains(lines[1], "Printer toner") || !strings.Contains(lines[2], "problem") {
		t.Errorf("ticket search:\n%s", out)
	}
	if out := ok(t, dir, "ticket", "search", "acme", "nothing"); out != "No tickets of portal acme match \"nothing\".\n" {
		t.Errorf("ticket search without results: %q", out)
	}

	// At most 20, newest first.
	for i := range 25 {
		helpdeskTicket(t, st, store.NewTicket{Subject: fmt.Sprint("bulk ", i), Email: "bulk@example.com", Channel: store.TicketChannelCLI})
	}
	var ts []store.Ticket
	okJSON(t, dir, &ts, "ticket", "search", "acme", "bulk")
	if len(ts) != 20 || ts[0].Number != 29 || ts[19].Number != 10 {
		t.Errorf("ticket search bulk: %d tickets, %s", len(ts), ticketNumbers(ts))
	}
	fails(t, dir, 1, "a search term is required", "ticket", "search", "acme", " ")
	fails(t, dir, 1, `portal "nope" does not exist`, "ticket", "search", "nope", "printer")
	fails(t, dir, 2, "want 2 arguments (PORTAL TERM), got 3", "ticket", "search", "acme", "printer", "jams")
}

func TestContact(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "account", "add", "acme", "Globex")
	ok(t, dir, "agent", "add", "acme", "fiona.b", "--email", "fiona@acme.example")
	if out := ok(t, dir, "contact", "list", "acme"); !strings.Contains(out, "Portal acme has no contacts yet") {
		t.Errorf("contact list without contacts: %q", out)
	}
	var cs []store.Contact
	okJSON(t, dir, &cs, "contact", "list", "acme")
	if cs == nil || len(cs) != 0 {
		t.Errorf("contact list --json without contacts = %#v, want []", cs)
	}

	out := ok(t, dir, "contact", "add", "acme", "--email", "Ann@Example.com", "--name", "Ann Smith", "--phone", "+49 30 1234",
		"--account", "globex", "--owner", "Fiona.B")
	if out != "Added contact Ann Smith <Ann@Example.com> to portal acme (account Globex, owner fiona.b).\n" {
		t.Errorf("contact add: %q", out)
	}
	var c store.Contact
	okJSON(t, dir, &c, "contact", "add", "acme", "--email", "bob@example.com", "--name", "Bob")
	if c.Portal != "acme" || c.Email != "bob@example.com" || c.Name != "Bob" || c.Account != "" || c.ID == 0 || c.CreatedAt.IsZero() {
		t.Errorf("contact add --json = %+v", c)
	}
	okJSON(t, dir, &cs, "contact", "list", "acme")
	if len(cs) != 2 || cs[0].Email != "Ann@Example.com" || cs[0].Phone != "+49 30 1234" || cs[0].Account != "Globex" || cs[0].Owner != "fiona.b" {
		t.Errorf("contact list --json = %+v", cs)
	}
	out = ok(t, dir, "contact", "list", "acme")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "EMAIL") ||
		!strings.Contains(lines[1], "Globex") || !strings.Contains(lines[2], "bob@example.com") {
		t.Errorf("contact list:\n%s", out)
	}

	fails(t, dir, 2, "--email is required", "contact", "add", "acme", "--name", "Carl")
	fails(t, dir, 2, "--name is required", "contact", "add", "acme", "--email", "carl@example.com")
	fails(t, dir, 1, `a contact with email "ann@example.com" already exists in portal "acme"`, "contact", "add", "acme", "--email", "ann@example.com", "--name", "Ann")
	fails(t, dir, 1, `account "Initech" does not exist in portal "acme"`, "contact", "add", "acme", "--email", "carl@example.com", "--name", "Carl", "--account", "Initech")
	fails(t, dir, 1, `agent "nobody.x" does not exist in portal "acme"`, "contact", "add", "acme", "--email", "carl@example.com", "--name", "Carl", "--owner", "nobody.x")
	fails(t, dir, 1, `email "carl" is not a valid address`, "contact", "add", "acme", "--email", "carl", "--name", "Carl")
	fails(t, dir, 1, `portal "nope" does not exist`, "contact", "list", "nope")
	okJSON(t, dir, &cs, "contact", "list", "acme")
	if len(cs) != 2 {
		t.Errorf("failed contact adds stored contacts: %+v", cs)
	}
}

func TestContactImport(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	ok(t, dir, "account", "add", "acme", "Globex")
	ok(t, dir, "agent", "add", "acme", "fiona.b", "--email", "fiona@acme.example")
	ok(t, dir, "contact", "add", "acme", "--email", "ann@example.com", "--name", "Ann", "--phone", "111")

	// Columns in any order and case; a quoted field over two lines.
	csvFile := filepath.Join(dir, "contacts.csv")
	data := "\ufeffName, EMAIL ,Account,owner,Phone\n" +
		"\"Bob\nJones\",bob@example.com,globex,FIONA.B,\n" +
		"Carl,carl@example.com,,,+1 555\n" +
		",ANN@example.com,Globex,,\n"
	if err := os.WriteFile(csvFile, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := ok(t, dir, "contact", "import", "acme", csvFile); out != "Imported contacts into portal acme: added 2, updated 1.\n" {
		t.Errorf("contact import: %q", out)
	}
	var cs []store.Contact
	okJSON(t, dir, &cs, "contact", "list", "acme")
	var got []string
	for _, c := range cs {
		got = append(got, strings.Join([]string{c.Email, c.Name, c.Phone, c.Account, c.Owner}, "|"))
	}
	if want := "ANN@example.com|Ann|111|Globex| bob@example.com|Bob\nJones||Globex|fiona.b carl@example.com|Carl|+1 555||"; strings.Join(got, " ") != want {
		t.Errorf("contacts after import:\n%q\nwant\n%q", strings.Join(got, " "), want)
	}

	// Standard input, with --json.
	r := cli(t, dir, "email,name\ndee@example.com,Dee\ncarl@example.com,Carl B\n", "contact", "import", "acme", "-", "--json")
	var v map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil || v["added"] != 1.0 || v["updated"] != 1.0 || v["portal"] != "acme" {
		t.Errorf("contact import - --json: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}

	// A bad row: its line is named (the header is line 1, the quoted
	// field takes two) and nothing is stored.
	before := ok(t, dir, "contact", "list", "acme", "--json")
	bad := []struct{ csv, want string }{
		{"name,email\n\"Eve\nE\",eve@example.com\nFrank,frank@\n", "line 4: email \"frank@\" is not a valid address"},
		{"email,account\neve@example.com,Globex\nfrank@example.com,Initech\n", `line 3: account "Initech" does not exist in portal "acme"`},
		{"email,owner\neve@example.com,nobody.x\n", `line 2: agent "nobody.x" does not exist in portal "acme"`},
		{"email,name\neve@example.com,Eve\n,Nobody\n", "line 3: the contact's email is required"},
		{"email\neve@example.com\nfrank@example.com\nEVE@example.com\n", `line 4: email "EVE@example.com" is on line 2 too`},
		{"email,name\neve@example.com,Eve,extra\n", "line 2: 3 fields, but the header names 2 columns"},
		{"email,name\neve@example.com,\"Eve\n", "line 2: extraneous or missing \" in quoted-field"},
		{"name,phone\nEve,1\n", "line 1: there is no email column"},
		{"email,mail\n", `line 1: column "mail" is not one of email, name, phone, account, owner`},
		{"email,Email\n", `line 1: column "email" is named twice`},
		{"email,name\n", "has no contacts: there are no lines after the header"},
		{"", "is empty: its first line must name the columns"},
	}
	for _, b := range bad {
		r := cli(t, dir, b.csv, "contact", "import", "acme", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "jabberdesk: contact import: standard input") || !strings.Contains(r.stderr, b.want) {
			t.Errorf("contact import of %q: exit %d, stderr %q; want exit 1 and %q", b.csv, r.code, r.stderr, b.want)
		}
	}
	if err := os.WriteFile(csvFile, []byte("email\neve@example.com\nbad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, dir, 1, csvFile+" line 3: email \"bad\" is not a valid address", "contact", "import", "acme", csvFile)
	fails(t, dir, 1, "nothing was imported", "contact", "import", "acme", csvFile)
	fails(t, dir, 1, "no such file or directory", "contact", "import", "acme", filepath.Join(dir, "missing.csv"))
	if r := cli(t, dir, "email\neve@example.com\n", "contact", "import", "nope", "-"); r.code != 1 || !strings.Contains(r.stderr, `portal "nope" does not exist`) {
		t.Errorf("contact import into a missing portal: exit %d, stderr %q", r.code, r.stderr)
	}
	if after := ok(t, dir, "contact", "list", "acme", "--json"); after != before {
		t.Errorf("failed imports changed the contacts:\n%s\nwant\n%s", after, before)
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	if out := ok(t, dir, "account", "list", "acme"); !strings.Contains(out, "Portal acme has no accounts yet") {
		t.Errorf("account list without accounts: %q", out)
	}
	out := ok(t, dir, "account", "add", "acme", "Initech", "--sla", "Gold", "--response-hours", "4", "--resolution-hours", "24", "--contract", "INI-2026")
	if out != `Added account "Initech" to portal acme (SLA Gold: response 4 h, resolution 24 h; contract INI-2026).`+"\n" {
		t.Errorf("account add: %q", out)
	}
	var a store.Account
	okJSON(t, dir, &a, "account", "add", "acme", "Globex")
	if a.Portal != "acme" || a.Name != "Globex" || a.SLAName != "" || a.ResolutionHours != 0 || a.ID == 0 || a.CreatedAt.IsZero() {
		t.Errorf("account add --json = %+v", a)
	}
	var as []store.Account
	okJSON(t, dir, &as, "account", "list", "acme")
	if len(as) != 2 || as[0].Name != "Globex" || as[1].Name != "Initech" || as[1].SLAName != "Gold" || as[1].ResponseHours != 4 ||
		as[1].ResolutionHours != 24 || as[1].ContractName != "INI-2026" {
		t.Errorf("account list --json = %+v", as)
	}
	out = ok(t, dir, "account", "list", "acme")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "RESOLUTION") ||
		!strings.HasPrefix(lines[1], "Globex ") || !strings.Contains(lines[2], "24 h") || !strings.Contains(lines[2], "INI-2026") {
		t.Errorf("account list:\n%s", out)
	}

	fails(t, dir, 1, `account "globex" already exists in portal "acme"`, "account", "add", "acme", "globex")
	fails(t, dir, 1, "resolution hours must be 0 (none) to 87600, not -1", "account", "add", "acme", "Umbrella", "--resolution-hours", "-1")
	fails(t, dir, 2, `--response-hours: "soon" is not a whole number`, "account", "add", "acme", "Umbrella", "--response-hours", "soon")
	fails(t, dir, 1, `portal "nope" does not exist`, "account", "add", "nope", "Umbrella")
	fails(t, dir, 2, "want 2 arguments (PORTAL NAME), got 1", "account", "add", "acme")
	okJSON(t, dir, &as, "account", "list", "acme")
	if len(as) != 2 {
		t.Errorf("failed account adds stored accounts: %+v", as)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	var rows []settingRow
	okJSON(t, dir, &rows, "settings", "show", "acme")
	var got []string
	for _, r := range rows {
		got = append(got, r.Key+"="+r.Value+" default "+r.Default+" ["+strings.Join(r.Accepts, ",")+"]")
		if r.Help == "" {
			t.Errorf("setting %s has no help", r.Key)
		}
	}
	want := "convert=none default none [all,attended,missed,none] convert_when=end default end [accept,end] convert_status=open default open [open,closed] team_name= default  [] ratings=on default on [on,off]"
	if strings.Join(got, " ") != want {
		t.Errorf("settings show --json:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}

	if out := ok(t, dir, "settings", "set", "acme", "convert", "Missed"); out != "Portal acme: convert = missed.\n" {
		t.Errorf("settings set: %q", out)
	}
	var v map[string]any
	okJSON(t, dir, &v, "settings", "set", "acme", "Convert-When", "accept")
	if v["portal"] != "acme" || v["key"] != "convert_when" || v["value"] != "accept" {
		t.Errorf("settings set --json = %v", v)
	}
	out := ok(t, dir, "settings", "show", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], "DEFAULT") || !strings.Contains(lines[0], "ACCEPTS") ||
		!strings.HasPrefix(lines[1], "convert ") || !strings.Contains(lines[1], "missed") || !strings.Contains(lines[1], "all, attended, missed, none") ||
		!strings.Contains(lines[2], "accept") || !strings.HasPrefix(lines[3], "convert_status") {
		t.Errorf("settings show:\n%s", out)
	}
	conv, err := openStore(t, dir).Conversion(context.Background(), "acme")
	if err != nil || conv != (store.ConversionSettings{Which: "missed", When: "accept", Status: "open"}) {
		t.Errorf("conversion settings after set: %+v, %v", conv, err)
	}

	fails(t, dir, 1, `jabberdesk: settings set: there is no setting "colour": use one of convert, convert_when, convert_status`, "settings", "set", "acme", "colour", "blue")
	fails(t, dir, 1, `jabberdesk: settings set: setting convert_status cannot be "pending": use one of open, closed`, "settings", "set", "acme", "convert_status", "pending")
	fails(t, dir, 1, `portal "nope" does not exist`, "settings", "set", "nope", "convert", "all")
	fails(t, dir, 1, `portal "nope" does not exist`, "settings", "show", "nope")
	fails(t, dir, 2, "want 3 arguments (PORTAL KEY VALUE), got 2", "settings", "set", "acme", "convert")
	okJSON(t, dir, &rows, "settings", "show", "acme")
	if rows[2].Value != "open" {
		t.Errorf("a failed settings set changed convert_status: %+v", rows[2])
	}

	help := ok(t, dir, "settings", "--help")
	for _, w := range []string{"all, attended", "accept", "open (default) or closed", "Missed chats view", "ticket list PORTAL --view flagged", "#setemail N EMAIL, then #convert N", "--from-chat N --email EMAIL"} {
		if !strings.Contains(help, w) {
			t.Errorf("settings --help lacks %q:\n%s", w, help)
		}
	}
}

func TestTicketContactAccountSettingsHelp(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	for _, group := range []string{"ticket", "contact", "account", "settings"} {
		if out := ok(t, dir, "--help"); !strings.Contains(out, group) {
			t.Errorf("jabberdesk --help lacks %s", group)
		}
		fails(t, dir, 2, fmt.Sprintf("unknown command \"bogus\" for \"jabberdesk %s\"", group), group, "bogus")
	}
	for _, args := range [][]string{
		{"ticket", "list"}, {"ticket", "show"}, {"ticket", "set-status"}, {"ticket", "search"},
		{"contact", "add"}, {"contact", "list"}, {"contact", "import"},
		{"account", "add"}, {"account", "list"}, {"settings", "show"}, {"settings", "set"},
	} {
		out := ok(t, dir, append(args, "--help")...)
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, "jabberdesk "+strings.Join(args, " ")) {
			t.Errorf("%s --help:\n%s", strings.Join(args, " "), out)
		}
	}
}

// ticket create --from-chat makes a flagged (email-less) chat a ticket.
func TestTicketCreateFromChat(t *testing.T) {
	t.Parallel()
	dir, st, _, dee := ticketFixture(t)
	n := fmt.Sprint(dee.Number)
	fails(t, dir, 1, "has no email", "ticket", "create", "acme", "--from-chat", n)
	fails(t, dir, 2, "--from-chat N", "ticket", "create", "acme")
	fails(t, dir, 2, "not valid", "ticket", "create", "acme", "--from-chat", n, "--psc", "999")
	ok(t, dir, "dept", "add", "acme", "Billing")
	fails(t, dir, 1, "Department Sales files tickets in itself (desk mode mapped)", "ticket", "create", "acme", "--from-chat", n, "--email", "dee@example.com", "--dept", "Billing")
	ok(t, dir, "dept", "set", "acme", "Sales", "--desk-mode", "choose")
	out := ok(t, dir, "ticket", "create", "acme", "--from-chat", n, "--email", "dee@example.com", "--psc", "112", "--dept", "billing")
	if !strings.Contains(out, "created from chat #"+n+" (low, on hold, problem)") {
		t.Errorf("ticket create: %q", out)
	}
	tk, err := st.TicketForChat(context.Background(), dee.ID)
	if err != nil || tk.ContactEmail != "dee@example.com" || tk.Department != "Billing" {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	if flagged, _ := st.FlaggedChats(context.Background(), "acme"); len(flagged) != 0 {
		t.Errorf("still flagged: %+v", flagged)
	}
	fails(t, dir, 1, "already belongs to ticket", "ticket", "create", "acme", "--from-chat", n)
}
