package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"jabberdesk/bridge"
	"jabberdesk/internal/browsertest"
	"jabberdesk/internal/xmpptest"
	"jabberdesk/store"
)

// consoleClient is a browser without a browser: the console over HTTP
// with a cookie jar, redirects not followed.
type consoleClient struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (r *running) console(t testing.TB) *consoleClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &consoleClient{t: t, base: r.base, c: c}
}

// send makes a request; form nil is a GET.
func (cc *consoleClient) send(path string, form url.Values) (int, string) {
	cc.t.Helper()
	var res *http.Response
	var err error
	if form == nil {
		res, err = cc.c.Get(cc.base + path)
	} else {
		res, err = cc.c.PostForm(cc.base+path, form)
	}
	if err != nil {
		cc.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		cc.t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

var csrfToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in and returns the session's CSRF token.
func (cc *consoleClient) signIn(login, password string) string {
	cc.t.Helper()
	if code, body := cc.send("/console/signin", url.Values{"login": {login}, "password": {password}}); code != http.StatusSeeOther {
		cc.t.Fatalf("sign in as %s: %d\n%s", login, code, body)
	}
	_, page := cc.send("/console/live", nil)
	m := csrfToken.FindStringSubmatch(page)
	if m == nil {
		cc.t.Fatalf("no CSRF token on the live page:\n%s", page)
	}
	return m[1]
}

// waitingChat starts a visitor's chat that is offered to George, who is
// signed in over XMPP.
func (r *running) waitingChat(t *testing.T, name, question string) (*xmpptest.Client, *visitor) {
	t.Helper()
	george := r.loginWithRoster(t, "george.demo")
	v := r.startChat(t, name, "Support", question)
	offered(george, v)
	return george, v
}

// A supervisor assigns a waiting chat from the console: the agent's XMPP
// client gets the chat with the visitor's details and who assigned it,
// the visitor sees the agent join, and the audit log has the change.
func TestConsoleAssignReachesAgent(t *testing.T) {
	t.Parallel()
	r := startRunning(t)
	george, v := r.waitingChat(t, "Ada", "Do you ship to Mars?")

	cc := r.console(t)
	csrf := cc.signIn("demo|fiona.demo", r.passwords["fiona.demo"])
	_, live := cc.send("/console/live", nil)
	if !strings.Contains(live, "Ada") || !strings.Contains(live, fmt.Sprintf("/console/chats/%d/assign", v.Number)) {
		t.Fatalf("the live page does not show the waiting chat:\n%s", live)
	}
	code, _ := cc.send(fmt.Sprintf("/console/chats/%d/assign", v.Number), url.Values{"csrf": {csrf}, "portal": {"demo"}, "agent": {"george.demo"}})
	if code != http.StatusSeeOther {
		t.Fatalf("assign: %d", code)
	}
	george.Expect("the visitor's details", xmpptest.Message(v.JID, "Email: ada@example.com"))
	george.Expect("who assigned it", xmpptest.Message(v.JID, "Fiona assigned this chat to you."))
	v.expect("George joining", func(ev bridge.Event) bool { return ev.Type == "agent_joined" && ev.Name == "George" })
	if _, page := cc.send("/console/live", nil); !strings.Contains(page, fmt.Sprintf("Chat #%d assigned to George.", v.Number)) {
		t.Errorf("the outcome is not shown:\n%s", page)
	}
	es, err := r.st.AuditQuery(t.Context(), store.AuditFilter{Portal: "demo", Action: store.AuditConsoleAction})
	if err != nil || len(es) != 1 || es[0].Actor != "fiona.demo" ||
		!strings.Contains(es[0].Detail, fmt.Sprintf(`command="#assign %d george.demo"`, v.Number)) {
		t.Fatalf("audit %+v %v", es, err)
	}

	// Ending it from the console ends it for everyone.
	code, _ = cc.send(fmt.Sprintf("/console/chats/%d/end", v.Number), url.Values{"csrf": {csrf}, "portal": {"demo"}})
	if code != http.StatusSeeOther {
		t.Fatalf("end: %d", code)
	}
	george.Expect("who ended it", xmpptest.Message(v.JID, "Fiona ended the chat with Ada"))
	v.expect("the end", func(ev bridge.Event) bool { return ev.Type == "ended" && ev.Reason == "agent" })

	// An agent's password does not open the console.
	if code, body := r.console(t).send("/console/signin", url.Values{"login": {"demo|george.demo"}, "password": {r.passwords["george.demo"]}}); code != http.StatusForbidden {
		t.Fatalf("an agent signed in to the console: %d\n%s", code, body)
	}
}

// shots saves a screenshot of the page at desktop width and one at 390 px,
// each once the element sel shows text.
func shots(t *testing.T, b *browsertest.Browser, name, sel, text string) {
	t.Helper()
	b.MustRun(t, browsertest.Desktop(), browsertest.WaitText(sel, text))
	b.Screenshot(t, name+"-desktop")
	b.MustRun(t, browsertest.Phone(), browsertest.WaitText(sel, text))
	b.Screenshot(t, name+"-phone")
	b.MustRun(t, browsertest.Desktop())
}

// A supervisor in headless Chromium signs in, watches the live queue
// change when a visitor starts a chat, assigns it, searches the
// conversations for the visitor's words, opens the chat, reads the
// audit log and opens the Reports page with its charts; screenshots at
// desktop width and at 390 px are kept as test artifacts ($JD_ARTIFACTS,
// else a temporary directory).
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	b := browsertest.Start(t)
	r := startRunning(t)
	b.MustRun(t,
		browsertest.Desktop(),
		chromedp.Navigate(r.base+"/console/"),
		chromedp.SendKeys(chromedp.CSS("input[name=login]"), "demo|fiona.demo"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), r.passwords["fiona.demo"]),
		chromedp.Click(chromedp.CSS("form[action='/console/signin'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#live")), // the next page
		browsertest.WaitText("#live", "No chats are waiting."),
		browsertest.WaitText("#live-state", "live"),
	)
	george, v := r.waitingChat(t, "Grace", "Is the moon base open?")
	v.say("My parcel went to the crater Tycho")
	b.MustRun(t, browsertest.WaitText("#live", "Grace"), browsertest.WaitText("#live", "George"))
	shots(t, b, "console-live", "#live", "Grace")

	// Assign it to George from the page.
	assign := fmt.Sprintf("form[action='/console/chats/%d/assign']", v.Number)
	b.MustRun(t,
		chromedp.SetValue(chromedp.CSS(assign+" select"), "george.demo"),
		chromedp.Click(chromedp.CSS(assign+" button")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		browsertest.WaitText(".flash", fmt.Sprintf("Chat #%d assigned to George.", v.Number)),
		browsertest.WaitText("#live", "No chats are waiting."),
	)
	george.Expect("the assigned chat", xmpptest.Message(v.JID, "Fiona assigned this chat to you."))

	// Search the conversations for the visitor's words and open the chat.
	b.MustRun(t,
		chromedp.Click(chromedp.CSS("nav.tabs a[href^='/console/conversations']")),
		chromedp.WaitVisible(chromedp.CSS("input[name=q]")),
		chromedp.SendKeys(chromedp.CSS("input[name=q]"), "crater tycho"),
		chromedp.Click(chromedp.CSS("form.filters button[type=submit]")),
		// The page before the search has the newest chats in table.results
		// too: wait for the search's own page, whose field says the words.
		chromedp.WaitVisible(chromedp.CSS("input[name=q][value='crater tycho']")),
		chromedp.WaitVisible(chromedp.CSS("table.results")),
	)
	shots(t, b, "console-conversations", "table.results", "Grace")
	b.MustRun(t,
		chromedp.Click(chromedp.CSS(fmt.Sprintf("table.results a[href^='/console/conversations/%d']", v.Number))),
		chromedp.WaitVisible(chromedp.CSS(".transcript")),
	)
	shots(t, b, "console-conversation", ".transcript", "My parcel went to the crater Tycho")

	// The audit log has the assignment.
	b.MustRun(t,
		chromedp.Click(chromedp.CSS("nav.tabs a[href^='/console/audit']")),
		chromedp.WaitVisible(chromedp.CSS("table.audit")),
	)
	shots(t, b, "console-audit", "table.audit", fmt.Sprintf("#assign %d george.demo", v.Number))

	// The Reports page counts Grace's chat, George's, and draws its
	// charts as images the page's policy lets load.
	b.MustRun(t,
		chromedp.Click(chromedp.CSS("nav.tabs a[href^='/console/reports']")),
		chromedp.WaitVisible(chromedp.CSS("section.report")),
		browsertest.WaitText("section.report h1", "Chat report: demo"),
		browsertest.WaitText("section.report", "George (george.demo)"),
		browsertest.WaitJS(`(() => {
			const imgs = [...document.querySelectorAll("section.report img")];
			return imgs.length === 3 && imgs.every(i => i.src.startsWith("data:image/svg+xml") && i.complete && i.naturalWidth > 0);
		})()`),
	)
	if started, err := browsertest.Eval[string](b, `document.querySelector("section.report .card b").textContent`); err != nil || started != "1" {
		t.Errorf("chats started on the Reports page: %q %v", started, err)
	}
	shots(t, b, "console-reports", "section.report", "Chat report: demo")
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Errorf("the page threw: %q", ex)
	}
}
