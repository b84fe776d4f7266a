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
// the answer, and the agent sees the visitor's reply; the agent ends the
// chat, the visitor rates it and the agent reads it. Screenshots are kept
// as test artifacts ($JD_ARTIFACTS, else a temporary directory).
func TestWidgetInBrowserWithRealAgent(t *testing.T) {
	t.Parallel()
	b := browsertest.Start(t)
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := b.Run(actions...); err != nil {
			t.Fatal(err)
		}
	}
	run(
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
	run(
		browsertest.WaitText(".jd-log", "Hi Ada, yes we do!"),
		browsertest.WaitText(".jd-sub", "George"),
	)
	b.Screenshot(t, "widget-phone-chat")
	run(chromedp.SendKeys(chromedp.CSS(".jd-msgin"), "Wonderful, thanks"+kb.Enter))
	george.Expect("the visitor's reply", xmpptest.Message(visitorJID, "Wonderful, thanks"))

	// George ends the chat; the visitor rates it and George reads it.
	george.Send(chatMsg("demo|v-1001@localhost", "#e"))
	run(
		chromedp.Click(chromedp.CSS(`.jd-rate label[data-stars="4"]`)),
		chromedp.SendKeys(chromedp.CSS(".jd-rate textarea[name=comment]"), "Quick and kind"),
		chromedp.Click(chromedp.CSS(".jd-rate button[type=submit]")),
		browsertest.WaitText(".jd-thanks", "Thanks for your feedback!"),
	)
	george.Expect("the rating", xmpptest.Message(visitorJID, "» Rated 4/5: Quick and kind"))
	b.Screenshot(t, "widget-phone-rated")
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Errorf("the page threw: %q", ex)
	}
}
