package console

import (
	"crypto/subtle"
	"net/http"
)

// contentPolicy allows the console's own style sheet and script and
// nothing else: no inline script or style, no frames around it, forms
// that post only to the console.
const contentPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders are set on every answer of the console. Pages hold
// a portal's data: nothing is cached (assets say otherwise).
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// cookieName is the session cookie's name.
const cookieName = "jd_console"

// cookiePath scopes the session cookie to the console.
const cookiePath = "/console/"

// maxForm bounds a form's body; the console's forms are a few fields.
const maxForm = 16 << 10

// sessionCookie is the cookie that carries a session id: never readable
// by scripts, never sent from another site, only to the console, and
// only over HTTPS when the browser came over HTTPS (directly, or through
// a trusted proxy that says so). maxAge < 0 deletes it.
func (s *Server) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     cookieName,
		Value:    value,
		Path:     cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.proxies.HTTPS(r),
		SameSite: http.SameSiteStrictMode,
	}
}

// csrfOK reports whether a form carries the session's CSRF token,
// compared in constant time.
func csrfOK(r *http.Request, sess *session) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}
