package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// startChatAs starts a chat in Support with the given email ("" for none).
func (r *running) startChatAs(t *testing.T, name, email, question string) *visitor {
	t.Helper()
	v := &visitor{t: t, base: r.base, seen: make(chan struct{})}
	body := map[string]string{"portal": "demo", "name": name, "question": question, "department": "Support", "email": email}
	if code := call(t, "POST", r.base+"/api/v1/chats", "", body, v); code != http.StatusCreated {
		t.Fatalf("start chat: status %d", code)
	}
	v.connect(0)
	return v
}

func (r *running) accept(t *testing.T, agent *xmpptest.Client, v *visitor) {
	t.Helper()
	agent.Expect("offer", xmpptest.Message(v.JID, "Reply y to accept"))
	agent.Send(chatMsg(v.JID, "y"))
	agent.Expect("details", xmpptest.Message(v.JID, "You are chatting with"))
}

func (r *running) setDeskMode(t *testing.T, mode store.DeskMode) {
	t.Helper()
	if _, err := r.st.UpdateDepartment(context.Background(), "demo", "Support", store.DepartmentUpdate{DeskMode: &mode}, "test"); err != nil {
		t.Fatal(err)
	}
}

func (r *running) setting(t *testing.T, key, value string) {
	t.Helper()
	if err := r.st.SetPortalSetting(context.Background(), "demo", key, value, "test"); err != nil {
		t.Fatal(err)
	}
}

// The "done means" of the helpdesk: #support conasreq 112 in a live chat,
// and after the chat ends the ticket carries the whole transcript.
func TestConasreqMakesTicketWithFullTranscript(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChatAs(t, "Ann", "ann@example.com", "Parcel never arrived")
	r.accept(t, george, v)
	v.say("order 4711")
	george.Expect("message", reply(v, "order 4711"))
	george.Send(chatMsg(v.JID, "#support ticketinfo"))
	george.Expect("no ticket yet", reply(v, "No ticket for this visitor"))
	george.Send(chatMsg(v.JID, "#support conasreq 19"))
	george.Expect("bad digits", reply(v, "priority 0 none, 1 low"))
	george.Send(chatMsg(v.JID, "#SUPPORT conasreq 1 1 2"))
	george.Expect("created", reply(v, "Ticket #1 created (low, on hold, problem)"))
	george.Send(chatMsg(v.JID, "#support conasreq"))
	george.Expect("only once", reply(v, "already belongs to ticket #1"))
	george.Send(chatMsg(v.JID, "I have opened a ticket"))
	v.say("thank you")
	george.Expect("after the ticket", reply(v, "thank you"))
	george.Send(chatMsg(v.JID, "#support ticketinfo"))
	info := george.Expect("ticket info", reply(v, "Ticket #1: Parcel never arrived"))
	if !strings.Contains(info.Body(), "Status: on hold") || !strings.Contains(info.Body(), "Priority: low") {
		t.Errorf("ticketinfo: %s", info.Body())
	}
	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil)
	george.Expect("ended", reply(v, "ended the chat"))

	var tickets []store.Ticket
	out := runCLI(t, r, "ticket", "list", "demo", "--view", "all", "--json")
	if err := jsonDecode(out, &tickets); err != nil || len(tickets) != 1 {
		t.Fatalf("ticket list: %v %s", err, out)
	}
	if !strings.Contains(out, `"priority": "low"`) || !strings.Contains(out, `"status": "on hold"`) || !strings.Contains(out, `"classification": "problem"`) {
		t.Errorf("ticket list --json does not show words:\n%s", out)
	}
	show := runCLI(t, r, "ticket", "show", "demo", "1")
	for _, want := range []string{"order 4711", "I have opened a ticket", "thank you", "ended"} {
		if !strings.Contains(show, want) {
			t.Errorf("the ticket's transcript lacks %q:\n%s", want, show)
		}
	}
}

func TestConasreqNeedsEmail(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChatAs(t, "Bob", "", "No email given")
	r.accept(t, george, v)
	george.Send(chatMsg(v.JID, "#support conasreq 112"))
	george.Expect("needs email", reply(v, "add it with #support setemail EMAIL"))
	george.Send(chatMsg(v.JID, "#support setemail not-an-email"))
	george.Expect("bad email", reply(v, "usage: #support setemail EMAIL"))
	george.Send(chatMsg(v.JID, "#support setemail bob@example.com"))
	george.Expect("email set", reply(v, "Email set to bob@example.com"))
	george.Send(chatMsg(v.JID, "#support conasreq"))
	george.Expect("created", reply(v, "Ticket #1 created (none, open, none)"))
}

func TestDeskModesRuleTicketCommands(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	r.setDeskMode(t, store.DeskView)
	v := r.startChatAs(t, "Cid", "cid@example.com", "View only")
	r.accept(t, george, v)
	george.Send(chatMsg(v.JID, "#support conasreq 112"))
	george.Expect("refused in view", reply(v, "only lets agents view tickets (desk mode view)"))
	george.Send(chatMsg(v.JID, "#support setreqstatus close"))
	george.Expect("refused in view", reply(v, "desk mode view"))
	george.Send(chatMsg(v.JID, "#support ticketinfo"))
	george.Expect("allowed in view", reply(v, "No ticket for this visitor"))
	george.Send(chatMsg(v.JID, "#support searchreq parcel"))
	george.Expect("allowed in view", reply(v, "No tickets match parcel"))

	r.setDeskMode(t, store.DeskNone)
	for _, cmd := range []string{"#support info", "#support conasreq", "#crm info"} {
		george.Send(chatMsg(v.JID, cmd))
		george.Expect(cmd+" refused", reply(v, "has no ticket features (desk mode none)"))
	}
	// A department without ticket features never converts, whatever the settings.
	r.setting(t, "convert", "all")
	r.setting(t, "convert_when", "end")
	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil)
	george.Expect("ended", reply(v, "ended the chat"))
	if ts, _ := r.st.Tickets(context.Background(), "demo", "all", 0); len(ts) != 0 {
		t.Fatalf("a desk mode none chat became a ticket: %+v", ts)
	}
	// Mapped: tickets stay in the chat's department.
	r.setDeskMode(t, store.DeskMapped)
	v2 := r.startChatAs(t, "Cid", "cid@example.com", "Choose mode")
	r.accept(t, george, v2)
	george.Send(chatMsg(v2.JID, `#support conasreq 3 0 1 "Sales"`))
	george.Expect("no choice in mapped", reply(v2, "Department Support files tickets in itself (desk mode mapped)"))
	// Choose: the agent files the ticket in another department.
	r.setDeskMode(t, store.DeskChoose)
	george.Send(chatMsg(v2.JID, `#support conasreq 3 0 1 "Nowhere"`))
	george.Expect("unknown department", reply(v2, `There is no department "Nowhere"`))
	george.Send(chatMsg(v2.JID, `#support conasreq 3 0 1 “sales”`))
	george.Expect("allowed in choose", reply(v2, "created (high, open, question) in department Sales"))
	if ts, _ := r.st.Tickets(context.Background(), "demo", "all", 0); len(ts) != 1 || ts[0].Department != "Sales" {
		t.Fatalf("tickets after a choice of Sales: %+v", ts)
	}
}

func TestSupportAndCRMInfo(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	ctx := context.Background()
	if _, err := r.st.AddAccount(ctx, store.Account{Portal: "demo", Name: "Globex", SLAName: "Gold", ResponseHours: 1, ResolutionHours: 8, ContractName: "GX-2026"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.AddContact(ctx, store.Contact{Portal: "demo", Name: "Dee Globex", Email: "dee@globex.example", Phone: "+44 20 7946 0000", Account: "Globex", Owner: "fiona.demo"}, "test"); err != nil {
		t.Fatal(err)
	}
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChatAs(t, "Dee", "dee@globex.example", "Invoice question")
	r.accept(t, george, v)
	george.Send(chatMsg(v.JID, "#crm info"))
	crm := george.Expect("crm", reply(v, "Name: Dee Globex"))
	for _, want := range []string{"Phone: +44 20 7946 0000", "Account: Globex", "Owner: fiona.demo"} {
		if !strings.Contains(crm.Body(), want) {
			t.Errorf("#crm info lacks %q: %s", want, crm.Body())
		}
	}
	george.Send(chatMsg(v.JID, "#support recentreq"))
	george.Expect("no tickets", reply(v, "No recent tickets for this visitor"))
	george.Send(chatMsg(v.JID, "#support conasreq 2 0 1"))
	george.Expect("created", reply(v, "Ticket #1 created"))
	george.Send(chatMsg(v.JID, "#support info"))
	info := george.Expect("support info", reply(v, "Contact: Dee Globex"))
	for _, want := range []string{"Account: Globex", "SLA: Gold (response 1 h, resolution 8 h)", "Contract: GX-2026", "Owner: fiona.demo", "Tickets: 1, overdue: 0"} {
		if !strings.Contains(info.Body(), want) {
			t.Errorf("#support info lacks %q: %s", want, info.Body())
		}
	}
	george.Send(chatMsg(v.JID, "#support recentreq"))
	george.Expect("recent", reply(v, "#1 Invoice question"))
	george.Send(chatMsg(v.JID, "#support searchreq invoice"))
	george.Expect("search", reply(v, "#1 Invoice question"))
	george.Send(chatMsg(v.JID, "#support setreqstatus close"))
	george.Expect("closed", reply(v, "Ticket #1 is now closed"))
	george.Send(chatMsg(v.JID, "#support setreqstatus open"))
	george.Expect("reopened", reply(v, "Ticket #1 is now open"))

	// A second chat joins the ticket; a ticket of another portal is not found.
	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil)
	v2 := r.startChatAs(t, "Dee", "dee@globex.example", "About the same invoice")
	r.accept(t, george, v2)
	george.Send(chatMsg(v2.JID, "#support associate 99"))
	george.Expect("unknown ticket", reply(v2, "99"))
	george.Send(chatMsg(v2.JID, "#support associate 1"))
	george.Expect("associated", reply(v2, "now part of ticket #1"))
	tk, err := r.st.Ticket(ctx, "demo", 1)
	if err != nil || len(tk.ChatNumbers) != 2 {
		t.Fatalf("ticket chats %+v %v", tk, err)
	}
	other := otherPortalTicket(t, r)
	george.Send(chatMsg(v2.JID, fmt.Sprintf("#support associate %d", other)))
	george.Expect("cross-portal refused", reply(v2, fmt.Sprint(other)))
	if tk2, _ := r.st.Ticket(ctx, "demo", 1); len(tk2.ChatNumbers) != 2 {
		t.Fatal("a refused associate changed the ticket")
	}
}

// otherPortalTicket makes portal "other" with a ticket numbered past
// demo's and returns its number.
func otherPortalTicket(t *testing.T, r *running) int64 {
	t.Helper()
	ctx := context.Background()
	r.st.AddPortal(ctx, "other", "test")
	var n int64
	for i := 0; i < 3; i++ {
		tk, err := r.st.CreateTicket(ctx, store.NewTicket{Portal: "other", Subject: "theirs", Email: "x@other.example", Channel: "cli", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		n = tk.Number
	}
	return n
}

// Automatic conversion: every combination of which chats, when, and the
// initial status, with an attended and a missed chat each, and a chat
// without email flagged instead.
func TestAutomaticConversionMatrix(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "chat_rate = 100000\nchat_burst = 1000") // in [http]
	ctx := context.Background()
	george := r.loginWithRoster(t, "george.demo")
	n := 0
	for _, which := range []string{"all", "attended", "missed", "none"} {
		for _, when := range []string{"accept", "end"} {
			for _, status := range []string{"open", "closed"} {
				name := fmt.Sprintf("%s/%s/%s", which, when, status)
				r.setting(t, "convert", which)
				r.setting(t, "convert_when", when)
				r.setting(t, "convert_status", status)
				n++
				email := fmt.Sprintf("v%d@example.com", n)

				// Attended: accepted, then ended by the visitor.
				v := r.startChatAs(t, "V", email, "attended "+name)
				r.accept(t, george, v)
				if which == "all" || which == "attended" {
					if when == "accept" {
						george.Expect(name+": converted on accept", reply(v, "This chat became ticket #"))
						if _, err := r.st.TicketForChat(ctx, mustChat(t, r, v).ID); err != nil {
							t.Fatalf("%s: no ticket after accept", name)
						}
					}
				}
				call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil)
				george.Expect(name+": ended", reply(v, "ended the chat"))
				checkConverted(t, r, v, name+" attended", which == "all" || which == "attended", status, false)

				// Missed: nobody online in Sales.
				m := &visitor{t: t, base: r.base, seen: make(chan struct{})}
				call(t, "POST", r.base+"/api/v1/chats", "", map[string]string{"portal": "demo", "name": "M", "question": "missed " + name,
					"department": "Sales", "email": "m" + email}, m)
				if m.Status != "missed" {
					t.Fatalf("%s: chat not missed: %+v", name, m)
				}
				checkConverted(t, r, m, name+" missed", which == "all" || which == "missed", status, true)
			}
		}
	}
	// No email: flagged, and listed.
	r.setting(t, "convert", "all")
	r.setting(t, "convert_when", "end")
	v := r.startChatAs(t, "Nomail", "", "flag me")
	r.accept(t, george, v)
	call(t, "POST", r.base+"/api/v1/chats/"+v.ChatID+"/end", v.Token, nil, nil)
	testwait.For(t, "the chat to be flagged", func() bool {
		fl, _ := r.st.FlaggedChats(ctx, "demo")
		return len(fl) == 1 && fl[0].Number == v.Number
	})
	missed, _ := r.st.Tickets(ctx, "demo", "missed", 0)
	if len(missed) != 8 { // which=all and which=missed, each × 2 whens × 2 statuses
		t.Errorf("%d tickets in the Missed chats view, want 8", len(missed))
	}
}

// checkConverted waits for the chat's ticket (or checks there is none).
func checkConverted(t *testing.T, r *running, v *visitor, name string, want bool, status string, missed bool) {
	t.Helper()
	ctx := context.Background()
	id := mustChat(t, r, v).ID
	if !want {
		// The conversion runs before the chat's status is stored as over.
		testwait.For(t, name+" to be over", func() bool { return !mustChat(t, r, v).Status.Live() })
		if tk, err := r.st.TicketForChat(ctx, id); err == nil {
			t.Errorf("%s: converted to ticket #%d, want none", name, tk.Number)
		}
		return
	}
	var tk store.Ticket
	testwait.For(t, name+" to become a ticket", func() bool {
		var err error
		tk, err = r.st.TicketForChat(ctx, id)
		return err == nil
	})
	if got := store.TicketStatuses[tk.Status]; got != status || tk.Missed != missed {
		t.Errorf("%s: ticket status %q missed %v, want %q %v", name, got, tk.Missed, status, missed)
	}
}

// runCLI runs a jabberdesk command against the running server's
// configuration and returns its output.
func runCLI(t *testing.T, r *running, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--config", filepath.Join(r.dir, "jabberdesk.toml")}, args...)
	if code := run(args, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("jabberdesk %s: exit %d: %s", strings.Join(args[2:], " "), code, errOut.String())
	}
	return out.String()
}

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// A missed chat whose visitor left no email is flagged; its window is
// gone, so the Desk contact takes the email and makes the ticket.
func TestDeskConvertsAMissedChat(t *testing.T) {
	t.Parallel()
	r := startRunning(t, "[chats]", `queue_timeout = "300ms"`)
	george := r.loginWithRoster(t, "george.demo")
	desk := "demo|desk@localhost"
	v := &visitor{t: t, base: r.base, seen: make(chan struct{})}
	if code := call(t, "POST", r.base+"/api/v1/chats", "", map[string]string{"portal": "demo", "name": "Nia", "question": "Call me back", "department": "Support"}, v); code != http.StatusCreated {
		t.Fatalf("start chat: %d", code)
	}
	george.Expect("offer", xmpptest.Message(v.JID, "Reply y"))
	george.Expect("missed", xmpptest.Message(v.JID, "missed"))
	n := fmt.Sprint(v.Number)
	george.Send(chatMsg(desk, "#convert "+n))
	george.Expect("needs an email", xmpptest.Message(desk, "#setemail "+n+" EMAIL"))
	george.Send(chatMsg(desk, "#setemail "+n+" nia@example.com"))
	george.Expect("email set", xmpptest.Message(desk, "Email of chat #"+n+" set to nia@example.com"))
	george.Send(chatMsg(desk, "#convert "+n+" 112"))
	reply := george.Expect("converted", xmpptest.Message(desk, "created from chat #"+n))
	if !strings.Contains(reply.Body(), "low, on hold, problem") {
		t.Errorf("#convert answered %q", reply.Body())
	}
	tk, err := r.st.TicketForChat(t.Context(), mustChatID(t, r, v.Number))
	if err != nil || tk.ContactEmail != "nia@example.com" || !tk.Missed {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	george.Send(chatMsg(desk, "#convert "+n))
	george.Expect("already", xmpptest.Message(desk, "already belongs to ticket"))
	if flagged, _ := r.st.FlaggedChats(t.Context(), "demo"); len(flagged) != 0 {
		t.Errorf("still flagged: %+v", flagged)
	}
}

func mustChatID(t *testing.T, r *running, number int64) int64 {
	t.Helper()
	c, err := r.st.ChatByNumber(t.Context(), "demo", number)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}
