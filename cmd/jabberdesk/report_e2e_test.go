package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/testwait"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/report"
)

// reportHistory makes a small history with real agents and visitors:
// Dee's chat is missed (nobody online yet); Ann's is declined by George,
// accepted by Fiona, who answers Ann's question and ends it; Bob's is
// accepted by Fiona and transferred to George, who greets Bob and ends
// it.
func reportHistory(t *testing.T, r *running) {
	dee := r.startChat(t, "Dee", "", "Anyone?")
	dee.expect("ended", func(ev bridge.Event) bool { return ev.Type == "ended" && ev.Reason == "missed" })
	fiona := r.loginWithRoster(t, "fiona.demo")
	george := r.loginWithRoster(t, "george.demo")

	ann := r.startChat(t, "Ann", "Support", "Where is my parcel?")
	offered(fiona, ann)
	offered(george, ann)
	george.Send(chatMsg(ann.JID, "n"))
	george.Expect("declined", reply(ann, "You declined the chat"))
	takes(fiona, ann, "Ann")
	ann.say("hello?")
	fiona.Expect("the visitor's question", reply(ann, "hello?"))
	tells(fiona, ann, "Hi Ann, it left today.")
	tells(fiona, ann, "#e")

	bob := r.startChat(t, "Bob", "Support", "Refund?")
	offered(fiona, bob)
	offered(george, bob)
	takes(fiona, bob, "Bob")
	fiona.Send(chatMsg(bob.JID, "#t george.demo"))
	george.Expect("transfer offer", reply(bob, "Transfer from Fiona"))
	takes(george, bob, "Bob")
	tells(george, bob, "Hello Bob")
	tells(george, bob, "#e")
	// Presence changes are written within a second.
	testwait.For(t, "both agents' presence on record", func() bool {
		changes, err := r.st.PresenceChanges(context.Background(), "demo", time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
		return err == nil && len(changes) >= 2
	})
}

// takes: the agent offered v's chat says y and gets the visitor's
// details.
func takes(agent *xmpptest.Client, v *visitor, name string) {
	agent.Send(chatMsg(v.JID, "y"))
	agent.Expect("details", reply(v, "You are chatting with "+name))
}

// tells: the agent sends text in v's chat and the visitor sees it, or
// the end for "#e".
func tells(agent *xmpptest.Client, v *visitor, text string) {
	agent.Send(chatMsg(v.JID, text))
	if text == "#e" {
		v.expect("ended", func(ev bridge.Event) bool { return ev.Type == "ended" })
		return
	}
	v.expect(text, func(ev bridge.Event) bool { return ev.Text == text })
}

// The report of a history made by real agents and visitors counts it
// right, as JSON, CSV and an HTML page that loads nothing; the metrics
// count the same chats.
func TestReportOfARealHistory(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	reportHistory(t, r)

	var rep report.Report
	out := runCLI(t, r, "report", "demo", "--since", "1h", "--by", "agent", "--tz", "UTC", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := (report.Chats{Started: 3, Answered: 2, Missed: 1, Ended: 2, Resolved: 2, Transferred: 1}); rep.Totals.Chats != want {
		t.Errorf("chats %+v, want %+v", rep.Totals.Chats, want)
	}
	if rep.Totals.Assignment.Count != 2 || rep.Totals.FirstResponse.Count != 2 || rep.Totals.Response.Count != 1 || rep.Totals.Duration.Count != 2 ||
		rep.Totals.Messages.Count != 2 || rep.Contacts.New != 3 || rep.TimeZone != "UTC" || rep.By != report.ByAgent {
		t.Errorf("totals %+v, contacts %+v", rep.Totals, rep.Contacts)
	}
	agents := map[string]report.Agent{}
	for _, a := range rep.Agents {
		agents[a.Username] = a
	}
	fiona, george := agents["fiona.demo"], agents["george.demo"]
	if fiona.Handled != 2 || fiona.Accepted != 2 || fiona.Declined != 0 || fiona.Response.Count != 1 || fiona.Presence.Available <= 0 {
		t.Errorf("fiona %+v", fiona)
	}
	if george.Handled != 1 || george.Accepted != 1 || george.Declined != 1 || george.FirstResponse.Count != 1 || george.Presence.Available <= 0 {
		t.Errorf("george %+v", george)
	}
	if len(rep.Groups) != 3 || rep.Groups[0].Key != "fiona.demo" || rep.Groups[2].Key != report.NoAgent || rep.Groups[2].Chats.Missed != 1 {
		t.Errorf("groups %+v", rep.Groups)
	}
	checkReportCSV(t, r)
	checkReportHTML(t, r)
	checkConsoleReports(t, r)
	checkChatMetrics(t, r)
}

func checkReportCSV(t *testing.T, r *running) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(runCLI(t, r, "report", "demo", "--since", "1h", "--by", "channel", "--csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "channel" || rows[1][0] != "web" || rows[2][0] != "total" || rows[2][1] != "3" {
		t.Errorf("CSV %q", rows)
	}
}

func checkReportHTML(t *testing.T, r *running) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "report.html")
	if out := runCLI(t, r, "report", "demo", "--since", "1h", "--html", file); !strings.Contains(out, "HTML report written to") {
		t.Errorf("report --html said:\n%s", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d charts", n)
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|@import`).FindString(page); m != "" {
		t.Errorf("the page loads something: %q", m)
	}
	if !strings.Contains(page, "Fiona (fiona.demo)") {
		t.Error("no agents' table")
	}
}

// checkConsoleReports: the console's Reports page shows a supervisor the
// same report, its charts as data: images, under a policy that still
// allows no inline script or style.
func checkConsoleReports(t *testing.T, r *running) {
	t.Helper()
	cc := r.console(t)
	cc.signIn("demo|fiona.demo", r.passwords["fiona.demo"])
	res, err := cc.c.Get(cc.base + "/console/reports?period=today&group=agent")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("reports page: %d %v", res.StatusCode, err)
	}
	page := string(body)
	for _, want := range []string{"Chat report: demo", "Fiona (fiona.demo)", "George (george.demo)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Reports page lacks %q", want)
		}
	}
	if n := strings.Count(page, `<img alt="" src="data:image/svg+xml;base64,`); n != 3 {
		t.Errorf("%d charts on the Reports page", n)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data:") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func checkChatMetrics(t *testing.T, r *running) {
	t.Helper()
	body := r.metrics(t)
	for _, want := range []string{`jabberdesk_chats_answered_total{portal="demo"} 2`, `jabberdesk_chats_missed_total{portal="demo"} 1`,
		`jabberdesk_chat_assignment_seconds_count{portal="demo"} 2`, `jabberdesk_chat_first_response_seconds_count{portal="demo"} 2`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestReportFlags(t *testing.T) {
	t.Parallel()
	dir := setup(t)
	out := ok(t, dir, "report", "acme", "--since", "2026-01-01", "--until", "2026-01-03", "--by", "day", "--tz", "Asia/Tokyo")
	for _, want := range []string{"Report of acme: 2026-01-01 00:00 to 2026-01-03 00:00 (Asia/Tokyo)", "DAY", "2026-01-02", "No agents."} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	fails(t, dir, 2, "choose one", "report", "acme", "--csv", "--json")
	fails(t, dir, 2, "not a time zone", "report", "acme", "--tz", "Mars/Olympus")
	fails(t, dir, 2, "--since", "report", "acme", "--since", "last tuesday")
	fails(t, dir, 2, "the period is empty", "report", "acme", "--since", "2026-01-02", "--until", "2026-01-01")
	fails(t, dir, 2, "is not one of day, hour", "report", "acme", "--by", "week")
	fails(t, dir, 1, `portal "nope" does not exist`, "report", "nope")
}
