package main

import (
	"bytes"
	"image"
	"image/color"
	pngenc "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"jabberdesk/internal/browsertest"
	"jabberdesk/internal/xmpptest"
)

// runner runs browser actions, failing the test on an error.
func runner(t *testing.T, b *browsertest.Browser) func(...chromedp.Action[chromedp.Void]) {
	return func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := b.Run(actions...); err != nil {
			t.Fatal(err)
		}
	}
}

// startInWidget are Ada's steps on the widget page that start chat #1001
// in Support.
func startInWidget(r *running, email, question string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(r.base + "/chat/demo"),
		browsertest.WaitText("#jd-app select[name=department]", "Support"),
		chromedp.SendKeys(chromedp.CSS("#jd-app input[name=name]"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS("#jd-app input[name=email]"), email),
		chromedp.SetValue(chromedp.CSS("#jd-app select[name=department]"), "Support"),
		chromedp.SendKeys(chromedp.CSS("#jd-app textarea[name=question]"), question),
		chromedp.Click(chromedp.CSS("#jd-app .jd-form button[type=submit]")),
		browsertest.WaitText(".jd-wait", "#1001"),
	}
}

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
	run := runner(t, b)
	run(browsertest.Phone())
	run(startInWidget(r, "ada@example.com", "Do you ship to Mars?")...)
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

// A visitor attaches a screenshot with the widget's button: the agent's
// client gets its address with out-of-band data, and the page shows the
// picture; the agent's PDF, uploaded with XEP-0363, shows in the page as
// a link to the file.
func TestWidgetAttachButton(t *testing.T) {
	t.Parallel()
	b := browsertest.Start(t)
	r := startRunning(t)
	george := r.loginWithRoster(t, "george.demo")
	run := runner(t, b)
	shot := filepath.Join(t.TempDir(), "screen shot.png")
	var png bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for y := range 80 {
		for x := range 120 {
			img.Set(x, y, color.RGBA{uint8(2 * x), uint8(3 * y), 200, 255})
		}
	}
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, png.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	run(browsertest.Desktop())
	run(startInWidget(r, "", "The checkout page shows an error")...)
	george.Expect("the offer", xmpptest.Message("demo|v-1001@localhost", "checkout page"))
	george.Send(chatMsg("demo|v-1001@localhost", "y"))
	george.Expect("details", xmpptest.Message("demo|v-1001@localhost", "You are chatting"))
	run(
		browsertest.WaitText(".jd-sub", "George"),
		browsertest.WaitJS(`!!document.querySelector('.jd-attach[aria-label="Attach a file"]')`),
		chromedp.SetUploadFiles(chromedp.CSS(".jd-picker"), []string{shot}),
		browsertest.WaitJS(`(() => { const i = document.querySelector('.jd-me img.jd-img'); return !!i && i.complete && i.naturalWidth === 120; })()`),
	)
	got := george.Expect("the screenshot", xmpptest.Message("demo|v-1001@localhost", "/upload/"))
	if urls := got.Find("x/url"); len(urls) != 1 || urls[0].Text != got.Body() || !strings.HasSuffix(got.Body(), "/screen%20shot.png") {
		t.Fatalf("the agent got %+v", got)
	}
	if data, ct := fetch(t, got.Body()); !bytes.Equal(data, png.Bytes()) || ct != "image/png" {
		t.Errorf("the address serves %d bytes of %s", len(data), ct)
	}

	pdf := upload(t, george, "invoice.pdf", "application/pdf", []byte("%PDF-1.4\n%%EOF\n"))
	george.Send(shareFile("demo|v-1001@localhost", pdf))
	run(browsertest.WaitText(".jd-agent a.jd-file", "invoice.pdf"))
	href, err := browsertest.Eval[string](b, `document.querySelector('.jd-agent a.jd-file').href`)
	if err != nil || href != pdf {
		t.Errorf("the link goes to %q (%v), want %s", href, err, pdf)
	}
	if text, _ := browsertest.Eval[string](b, `document.querySelector('.jd-agent a.jd-file').closest('.jd-bubble').textContent`); strings.Contains(text, "http") {
		t.Errorf("the file's bubble shows its address: %q", text)
	}
	b.Screenshot(t, "widget-files")
	if ex := b.Exceptions(); len(ex) > 0 {
		t.Errorf("the page threw: %q", ex)
	}
}
