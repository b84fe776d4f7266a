package console

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"jabberdesk/store"
)

// storedSession is what the store has of the browser's session, found
// by the SHA-256 of its cookie's id.
func (b *browser) storedSession() (store.ConsoleSession, error) {
	b.f.t.Helper()
	u, err := url.Parse(b.base + "/console/")
	if err != nil {
		b.f.t.Fatal(err)
	}
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == cookieName {
			key := sha256.Sum256([]byte(c.Value))
			return b.f.st.ConsoleSession(b.f.ctx, key[:])
		}
	}
	b.f.t.Fatal("the browser has no session cookie")
	return store.ConsoleSession{}, nil
}

// A session is kept in the store, by the SHA-256 of its id, so that every
// node knows it: signed in through one node, the browser goes on through
// another, the outcome of a change made through one is shown once
// through the other, and signing out through one ends it on both. The
// sign-in and the sign-out are audited.
func TestSessionOnEveryNode(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	one, other := f.ts.URL, f.node().URL
	cs, err := b.storedSession()
	if err != nil || cs.Portal != "acme" || cs.Agent != "sue.super" || len(cs.CSRF) < 40 {
		t.Fatalf("stored %+v %v", cs, err)
	}
	token := b.csrf()
	if token != cs.CSRF {
		t.Fatalf("the page's CSRF token %q is not the stored one %q", token, cs.CSRF)
	}

	b.base = other
	b.get("/console/live").expect(t, http.StatusOK, "Sue")
	if b.csrf() != token {
		t.Error("another node shows another CSRF token")
	}
	b.post("/console/chats/1001/end", url.Values{"csrf": {token}}).expect(t, http.StatusSeeOther)
	b.base = one
	b.get("/console/live").expect(t, http.StatusOK, "Chat #1001: end done.")
	b.base = other
	if r := b.get("/console/live"); r.StatusCode != http.StatusOK || strings.Contains(r.body, "Chat #1001: end done.") {
		t.Errorf("the outcome is shown twice (%d)", r.StatusCode)
	}

	// Signed out through one node, the session is over on the other, and
	// its cookie opens nothing.
	b.post("/console/signout", url.Values{"csrf": {token}}).expect(t, http.StatusSeeOther)
	if _, err := f.st.ConsoleSession(f.ctx, cs.Key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("signed out, the session is still stored: %v", err)
	}
	b.base = one
	b.get("/console/live").expect(t, http.StatusSeeOther)

	es, err := f.st.AuditQuery(f.ctx, store.AuditFilter{Portal: "acme", Actor: "sue.super"})
	var log []string
	for _, e := range es {
		if e.Action != store.AuditConsoleAction { // the change, as TestCSRF checks
			log = append(log, e.Action+" "+e.Detail)
		}
	}
	if want := []string{`console.signout from="127.0.0.1"`, `console.signin from="127.0.0.1"`}; err != nil || !slices.Equal(log, want) {
		t.Errorf("audit log %q %v, want %q", log, err, want)
	}
}

// The last use is written at most once a minute, not on every request;
// a session used all the time still ends 12 hours after its sign-in.
func TestSessionUseAndAge(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	cs, err := b.storedSession()
	if err != nil {
		t.Fatal(err)
	}
	born := cs.Born
	f.advance(59 * time.Second)
	b.get("/console/live").expect(t, http.StatusOK)
	if cs, _ := b.storedSession(); !cs.Seen.Equal(born) {
		t.Fatalf("used within the minute, the last use was written: %v", cs.Seen)
	}
	f.advance(time.Second)
	b.get("/console/live").expect(t, http.StatusOK)
	if cs, _ := b.storedSession(); !cs.Seen.Equal(born.Add(time.Minute)) {
		t.Fatalf("used a minute on, the last use is %v, want %v", cs.Seen, born.Add(time.Minute))
	}
	for f.clock().Sub(born) < 12*time.Hour {
		f.advance(20 * time.Minute)
		r := b.get("/console/live")
		if f.clock().Sub(born) <= 12*time.Hour {
			r.expect(t, http.StatusOK)
		} else if c := r.sessionCookie(); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/signin?why=ended" || c == nil || c.MaxAge >= 0 {
			t.Fatalf("%v after the sign-in: %d %s, cookie %v", f.clock().Sub(born), r.StatusCode, r.Header.Get("Location"), c)
		}
	}
	if _, err := f.st.ConsoleSession(f.ctx, cs.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired session is still stored: %v", err)
	}
}

// An account keeps at most 16 sessions: the 17th sign-in ends the
// oldest. Signing in deletes the expired sessions of everyone.
func TestSessionsPerAccount(t *testing.T) {
	f := newFixture(t, false)
	idle := f.browser()
	idle.mustSignIn("globex|gus.super")
	f.advance(31 * time.Minute)
	var bs []*browser
	for i := range sessionsPerAccount + 1 {
		b := f.browser()
		b.mustSignIn("acme|sue.super")
		bs = append(bs, b)
		f.advance(time.Second)
		if i == 0 {
			if _, err := idle.storedSession(); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a sign-in left an expired session: %v", err)
			}
		}
	}
	bs[0].get("/console/live").expect(t, http.StatusSeeOther)
	for i, b := range bs[1:] {
		if r := b.get("/console/live"); r.StatusCode != http.StatusOK {
			t.Fatalf("session %d: %d", i+1, r.StatusCode)
		}
	}
}

// A session may have four live pages open on one node; another node
// counts its own.
func TestStreamsPerSessionPerNode(t *testing.T) {
	f, b := signedIn(t, "acme|sue.super")
	other := f.node().URL
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(base string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/console/live/stream", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
		}
		return res.StatusCode // an open stream's body closes with ctx
	}
	for i := range streamsPerSession {
		if code := open(f.ts.URL); code != http.StatusOK {
			t.Fatalf("stream %d: %d", i+1, code)
		}
	}
	if code := open(f.ts.URL); code != http.StatusTooManyRequests {
		t.Fatalf("one stream too many: %d", code)
	}
	if code := open(other); code != http.StatusOK {
		t.Fatalf("a stream on another node: %d", code)
	}
}
