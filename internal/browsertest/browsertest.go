// Package browsertest drives a headless Chromium from Go tests through the
// Chrome DevTools Protocol (github.com/chromedp/chromedp).
//
// A test starts one browser with Start; the browser, its tab and its
// temporary profile are closed when the test ends. When no Chromium is
// installed the test is skipped, unless the environment variable CI is set:
// then it fails, so that a CI machine cannot silently lose the browser tests.
//
//	b := browsertest.Start(t)
//	err := b.Run(
//		browsertest.Phone(),
//		chromedp.Navigate(srv.URL+"/chat/acme"),
//		browsertest.WaitText(".jd-log", "Hello"),
//	)
//	b.Screenshot(t, "phone")
//
// Messages that the page writes to its console, and its uncaught exceptions,
// are logged with t.Log; Exceptions returns the exceptions.
//
// Environment: JD_CHROMIUM names the browser binary (default
// /usr/bin/chromium); JD_ARTIFACTS is the directory that keeps screenshots
// (default: a temporary directory of the test, removed at its end).
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds one call of Browser.Run.
const DefaultTimeout = 60 * time.Second

// WaitTimeout bounds the wait actions of this package (WaitText, WaitJS).
const WaitTimeout = 15 * time.Second

// Browser is a headless Chromium with one tab.
type Browser struct {
	// Timeout bounds each call of Run; DefaultTimeout unless changed.
	Timeout time.Duration

	ctx  context.Context // the tab
	logs sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	tb         testing.TB
	exceptions []string
}

// ExecPath returns the Chromium binary the package uses: $JD_CHROMIUM when
// set, else /usr/bin/chromium (Debian's package "chromium"), else the first
// of chromium, chromium-browser, google-chrome, headless-shell on $PATH.
// It returns "" when there is none.
func ExecPath() string {
	if p := os.Getenv("JD_CHROMIUM"); p != "" {
		return p
	}
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start launches a headless Chromium with a fresh profile in a temporary
// directory and opens one tab. The browser is closed when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := ExecPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("browsertest: no Chromium found (install Debian's chromium, or set JD_CHROMIUM) and CI is set")
		}
		t.Skip("browsertest: no Chromium found; install it with apt-get install chromium (or set JD_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{Timeout: DefaultTimeout, ctx: ctx, tb: t}

	// The first Run starts the browser; it must not carry a timeout, which
	// would stop the browser with it. A watchdog bounds the start instead.
	watchdog := time.AfterFunc(b.Timeout, cancelTab)
	err := chromedp.Do(ctx)
	watchdog.Stop()
	if err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("browsertest: starting %s: %v", path, err)
	}
	// Subscribe before the first navigation so that nothing is missed.
	console := chromedp.Console(ctx)

	b.logs.Add(1)
	go func() {
		defer b.logs.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			b.log(m)
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		cancelTab()   // closes the tab and, as the first tab, the browser
		cancelAlloc() // waits for the process to exit
		b.logs.Wait()
	})
	return b
}

func (b *Browser) log(m chromedp.ConsoleMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.IsException() {
		b.exceptions = append(b.exceptions, m.Text)
	}
	if !b.closed {
		b.tb.Logf("browser console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
	}
}

// Exceptions returns the uncaught exceptions and unhandled promise
// rejections the pages have thrown so far.
func (b *Browser) Exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}

// Context returns the chromedp context of the tab, for chromedp.Run with
// actions that return a value. Derive a timeout from it; do not cancel it.
func (b *Browser) Context() context.Context { return b.ctx }

// Run runs the actions in order in the tab, within b.Timeout, and stops at
// the first error.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// MustRun is Run that fails the test at the first error.
func (b *Browser) MustRun(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := b.Run(actions...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// into T, within b.Timeout.
func Eval[T any](b *Browser, expression string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expression))
}

// ArtifactDir is where screenshots go: $JD_ARTIFACTS when set (created if
// needed), else a temporary directory of the test.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("JD_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("browsertest: artifact dir: %v", err)
		}
		return dir
	}
	return t.TempDir()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a full-page PNG of the tab as NAME.png (prefixed with the
// test name) under ArtifactDir, logs its path and returns it. It first lets
// finite CSS and Web animations finish (up to 2 s), so that the picture shows
// the page at rest. A failure is reported with t.Error and returns "".
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	return b.screenshot(t, name, chromedp.FullScreenshot(100))
}

// ScreenshotViewport is Screenshot of the visible viewport only: the right
// picture of fixed-position overlays (a full-page capture stretches the
// viewport to the document and shows what the overlay hides).
func (b *Browser) ScreenshotViewport(t testing.TB, name string) string {
	t.Helper()
	return b.screenshot(t, name, chromedp.CaptureScreenshot())
}

const settled = `document.getAnimations().every(a => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`

// screenshotTries is how often a capture is asked for: on a machine
// loaded to its limit Chromium now and then never answers one, and
// answers the next.
const screenshotTries = 3

func (b *Browser) screenshot(t testing.TB, name string, capture chromedp.Action[[]byte]) string {
	t.Helper()
	settle, cancel := context.WithTimeout(b.ctx, b.Timeout)
	// Best effort: a page whose animations never settle is captured anyway.
	_, _ = chromedp.Run(settle, chromedp.Poll[chromedp.Void](settled,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(2*time.Second)))
	cancel()
	var png []byte
	var err error
	for try := 0; try < screenshotTries; try++ {
		ctx, cancel := context.WithTimeout(b.ctx, b.Timeout/screenshotTries)
		png, err = chromedp.Run(ctx, capture)
		cancel()
		if err == nil {
			break
		}
		t.Logf("browsertest: screenshot %q, try %d: %v", name, try+1, err)
	}
	if err != nil {
		t.Errorf("browsertest: screenshot %q: %v", name, err)
		return ""
	}
	file := unsafeName.ReplaceAllString(t.Name()+"-"+name, "_") + ".png"
	path := filepath.Join(ArtifactDir(t), file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("browsertest: screenshot %q: %v", name, err)
		return ""
	}
	t.Logf("screenshot %s: %s", name, path)
	return path
}

// Viewport emulates a screen of width×height CSS pixels with the given device
// scale factor; mobile also turns on touch and the mobile viewport rules.
func Viewport(width, height int64, scale float64, mobile bool) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(scale)}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(width, height, opts...)
}

// Phone emulates a 390×844 phone at device scale factor 2.
func Phone() chromedp.Action[chromedp.Void] { return Viewport(390, 844, 2, true) }

// Desktop emulates a 1280×800 desktop screen.
func Desktop() chromedp.Action[chromedp.Void] { return Viewport(1280, 800, 1, false) }

// WaitText waits (up to WaitTimeout, polling, no sleeps) until the first
// element that matches the CSS selector exists and its textContent contains
// text. On timeout the error shows what the element held.
func WaitText(selector, text string) chromedp.Action[chromedp.Void] {
	sel, _ := json.Marshal(selector)
	want, _ := json.Marshal(text)
	cond := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`, sel, want)
	show := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent : "(no element)"; })()`, sel)
	return wait(fmt.Sprintf("WaitText(%q, %q)", selector, text), cond, show)
}

// WaitJS waits (up to WaitTimeout, polling, no sleeps) until the JavaScript
// expression is truthy.
func WaitJS(expression string) chromedp.Action[chromedp.Void] {
	return wait(fmt.Sprintf("WaitJS(%s)", expression), expression, "")
}

func wait(what, cond, show string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(WaitTimeout))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		if err == nil {
			return chromedp.Void{}, nil
		}
		if errors.Is(err, chromedp.ErrPollingTimeout) && show != "" {
			if got, e := chromedp.Evaluate[string](show)(ctx, t); e == nil {
				return chromedp.Void{}, fmt.Errorf("%s: timed out after %v; the element holds %q", what, WaitTimeout, got)
			}
		}
		return chromedp.Void{}, fmt.Errorf("%s: %w", what, err)
	}
}
