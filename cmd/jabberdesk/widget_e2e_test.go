package main

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"jabberdesk/internal/browsertest"
	"jabberdesk/internal/xmpptest"
)

// A visitor in headless Chromium opens the real widget page, starts a
// chat; an agent accepts it from an XMPP client and answers; the page shows
// the answer, and the agent sees the visitor's reply. Screenshots are kept
// as test artifacts ($JD_ARTIFACTS, else a temporary directory).
func TestWidgetInBrowserWithRealAgent(t *testing.T) {
	t.Parallel()
	b := browsertest.Start(t)
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	b.MustRun(t,
		browsertest.Phone(),
		chromedp.Navigate(r.base+"/chat/demo"),
		browsertest.WaitText("#jd-app select[name=department]", "Support"),
		chromedp.SendKeys(chromedp.CSS("#jd-app input[name=name]"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS("#jd-app input[name=email]"), "ada@example.com"),
		chromedp.SetValue(chromedp.CSS("#jd-app select[name=department]"), "Support"),
		chromedp.SendKeys(chromedp.CSS("#jd-app textarea[name=question]"), "Do you ship to Mars?"),
		chromedp.Click(chromedp.CSS("#jd-app .jd-form button[type=submit]")),
		browsertest.WaitText(".jd-wait", "#1001"),
	)
	offer := george.Expect("the offer", xmpptest.Message("demo|v-1001@localhost", "Do you ship to Mars?"))
	visitorJID := offer.Attr("from")
	george.Send(chatMsg("demo|v-1001@localhost", "y"))
	george.Expect("details", xmpptest.Message(visitorJID, "Email: ada@example.com"))
	george.Send(chatMsg("demo|v-1001@localhost", "Hi Ada, yes we do!"))
	b.MustRun(t,
		browsertest.WaitText(".jd-log", "Hi Ada, yes we do!"),
		browsertest.WaitText(".jd-sub", "George"),
	)
	b.Screenshot(t, "widget-phone-chat")
	b.MustRun(t, chromedp.SendKeys(chromedp.CSS(".jd-msgin"), "Wonderful, thanks"+kb.Enter))
	george.Expect("the visitor's reply", xmpptest.Message(visitorJID, "Wonderful, thanks"))
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Errorf("the page threw: %q", ex)
	}
}
