package console

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

// A wrong password and a name that names nobody get the same answer, and
// no session.
func TestSignInWrongPassword(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser()
	for _, login := range []string{"acme|sue.super", "acme|nobody.here", "nonsense", "acme|sue.super@other.example"} {
		r := b.signIn(login, "not the password")
		r.expect(t, http.StatusUnauthorized, "Wrong sign-in name or password.")
		if r.sessionCookie() != nil {
			t.Errorf("%s: a session cookie after a wrong password", login)
		}
	}
	b.get("/console/live").expect(t, http.StatusSeeOther)
	// Both spellings of the name, and the domain, sign in.
	f.browser().mustSignIn(`ACME\Sue.Super@chat.example`)
	f.browser().mustSignIn("acme|sue.super")
}

// After the free failures from one address, the next sign-in is refused
// without its password being checked, right or not.
func TestSignInThrottled(t *testing.T) {
	f := newFixture(t, false, func(c *Config) {
		// Past the free failures, the first wait is an hour: refused.
		c.Guard = limit.NewGuard(limit.GuardConfig{AddrFailures: 2, BaseDelay: time.Hour, MaxWait: time.Second})
	})
	b := f.browser()
	for range 2 {
		b.signIn("acme|sue.super", "wrong").expect(t, http.StatusUnauthorized)
	}
	for _, login := range []string{"acme|sue.super", "globex|gus.super"} {
		r := b.signIn(login, password)
		r.expect(t, http.StatusTooManyRequests, "Too many failed sign-ins")
		if r.Header.Get("Retry-After") == "" || r.sessionCookie() != nil {
			t.Errorf("refused sign-in: Retry-After %q, cookie %v", r.Header.Get("Retry-After"), r.sessionCookie())
		}
	}
}

// The guard is the one the XMPP server counts with: failed XMPP sign-ins
// to an account from elsewhere count for it here too.
func TestSignInThrottledWithXMPP(t *testing.T) {
	f := newFixture(t, false, func(c *Config) {
		c.Guard = limit.NewGuard(limit.GuardConfig{AddrFailures: 100, AccountFailures: 3, BaseDelay: time.Hour, MaxWait: time.Second})
	})
	for range 3 {
		f.guard.Begin("globex|gus.super", "198.51.100.7").Done(false)
	}
	r := f.browser().signIn(`Globex\Gus.Super`, password)
	r.expect(t, http.StatusTooManyRequests, "Too many failed sign-ins")
	f.browser().mustSignIn("acme|sue.super") // another account, the same address
}

// The session cookie is HttpOnly, SameSite=Strict, scoped to /console/,
// and Secure when the browser came over TLS or a trusted proxy says so.
func TestSessionCookieFlags(t *testing.T) {
	check := func(name string, r result, secure bool) {
		t.Helper()
		c := r.sessionCookie()
		switch {
		case c == nil:
			t.Fatalf("%s: no session cookie (%d)", name, r.StatusCode)
		case !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console/" || c.Secure != secure || len(c.Value) < 40:
			t.Errorf("%s: cookie %q", name, r.Header.Get("Set-Cookie"))
		}
	}
	plain := newFixture(t, false)
	check("plain HTTP", plain.browser().signIn("acme|sue.super", password), false)
	b := plain.browser()
	b.header.Set("X-Forwarded-Proto", "https") // from an untrusted peer: not believed
	check("untrusted X-Forwarded-Proto", b.signIn("acme|sue.super", password), false)

	overTLS := newFixture(t, true)
	check("TLS", overTLS.browser().signIn("acme|sue.super", password), true)

	proxied := newFixture(t, false, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	b = proxied.browser()
	b.header.Set("X-Forwarded-Proto", "https")
	check("trusted proxy", b.signIn("acme|sue.super", password), true)

	// Signing out deletes it, and the session with it.
	b = plain.browser()
	b.mustSignIn("acme|sue.super")
	r := b.post("/console/signout", url.Values{"csrf": {b.csrf()}})
	r.expect(t, http.StatusSeeOther)
	if c := r.sessionCookie(); c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out cookie %q", r.Header.Get("Set-Cookie"))
	}
	b.get("/console/live").expect(t, http.StatusSeeOther)
}

// An agent's right password is refused with a page that says why; no
// session starts.
func TestAgentRefused(t *testing.T) {
	f := newFixture(t, false)
	r := f.browser().signIn("acme|ann.agent", password)
	r.expect(t, http.StatusForbidden, "The console is for supervisors", "Ann, your account in portal acme is an agent")
	if r.sessionCookie() != nil {
		t.Error("an agent got a session")
	}
}

// A session ends when its agent gets a new password, is demoted to agent
// or removed, and when it is unused past the idle timeout.
func TestSessionEnds(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	ended := func(b *browser, why string) {
		t.Helper()
		r := b.get("/console/live")
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/signin") {
			t.Fatalf("%s: the session goes on: %d %s", why, r.StatusCode, r.Header.Get("Location"))
		}
	}
	b.get("/console/live").expect(t, http.StatusOK)
	if err := f.st.SetPassword(f.ctx, "acme", "sue.super", "a new password", "test"); err != nil {
		t.Fatal(err)
	}
	ended(b, "new password")

	b = f.browser()
	b.mustSignIn("acme|ada.admin")
	role := store.RoleAgent
	if _, err := f.st.UpdateAgent(f.ctx, "acme", "ada.admin", store.AgentUpdate{Role: &role}, "test"); err != nil {
		t.Fatal(err)
	}
	ended(b, "demoted")

	b = f.browser()
	b.mustSignIn("globex|gus.super")
	f.advance(29 * time.Minute)
	b.get("/console/live").expect(t, http.StatusOK) // used: the idle time starts again
	f.advance(31 * time.Minute)
	ended(b, "idle")
}

// Every answer carries the security headers; pages with data are not
// stored; the script is a file of its own.
func TestSecurityHeaders(t *testing.T) {
	_, b := signedIn(t, "acme|sue.super")
	for _, path := range []string{"/console/signin", "/console/live", "/console/nowhere"} {
		h := b.get(path).Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
		if path == "/console/live" && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS on the console", path)
		}
	}
	r := b.get("/console/assets/console.js")
	r.expect(t, http.StatusOK, "EventSource")
	if !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
		t.Errorf("console.js is %q", r.Header.Get("Content-Type"))
	}
	b.get("/console/assets/..%2fconsole.go").expect(t, http.StatusNotFound)
	if page := b.get("/console/live").body; strings.Contains(page, "<script>") || strings.Contains(page, " on") && strings.Contains(page, "onclick") {
		t.Error("inline script on the live page")
	}
}
