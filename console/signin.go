package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"jabberdesk/address"
	"jabberdesk/internal/limit"
	"jabberdesk/store"
)

// Signing in: the sign-in name and password an agent uses in their XMPP
// client (docs/AGENTS.md §2), checked as the XMPP server checks SASL
// PLAIN: against the stored SCRAM-SHA-256 keys, with the same work for a
// name that names nobody, after the sign-in guard (internal/limit) has
// let the attempt through. The password is not kept.

// retryAfter is what a refused sign-in is told to wait: the guard
// refuses what it would space out longer than its longest wait.
const retryAfter = time.Minute

// Why a sign-in did not start a session.
var (
	errWrongPassword = errors.New("console: wrong sign-in name or password")
	errSignInLater   = errors.New("console: too many failed sign-ins; try again later")
)

// signInData is what the sign-in page shows.
type signInData struct {
	Login   string
	Message string // why the form is shown again
}

// signInPage shows the form; a signed-in browser goes on to the live page.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	_, ok, err := s.session(r)
	if err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, "", err)
		return
	}
	if ok {
		http.Redirect(w, r, "/console/live", http.StatusSeeOther)
		return
	}
	d := signInData{}
	if r.URL.Query().Get("why") == "ended" {
		d.Message = "Your session ended: sign in again."
	}
	s.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Data: d})
}

// signIn checks a sign-in name and password and starts a session.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	login := strings.TrimSpace(r.PostFormValue("login"))
	password := r.PostFormValue("password")
	again := func(status int, msg string) {
		s.render(w, r, status, "signin", page{Title: "Sign in", Data: signInData{Login: login, Message: msg}})
	}
	if login == "" || password == "" {
		again(http.StatusBadRequest, "Enter your sign-in name (PORTAL|USERNAME) and your password.")
		return
	}
	ip := s.proxies.ClientIP(r)
	a, creds, err := s.checkPassword(r.Context(), login, password, limit.Key(ip))
	switch {
	case errors.Is(err, errSignInLater):
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		again(http.StatusTooManyRequests, "Too many failed sign-ins for this name or from your network: wait a minute, then try again.")
		return
	case errors.Is(err, errWrongPassword):
		s.log.Warn("console: sign-in failed", "remote", ip, "user", login)
		again(http.StatusUnauthorized, "Wrong sign-in name or password.")
		return
	case err != nil:
		s.fail(w, r, nil, http.StatusInternalServerError, "", err)
		return
	}
	if !a.Role.AtLeast(store.RoleSupervisor) {
		s.log.Info("console: an agent signed in and was refused", "remote", ip, "portal", a.Portal, "agent", a.Key())
		s.render(w, r, http.StatusForbidden, "refused", page{Title: "For supervisors", Data: a})
		return
	}
	id, err := s.sessions.create(r.Context(), a.Portal, a.Key(), credDigest(creds), ip.String())
	if err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, "", err)
		return
	}
	http.SetCookie(w, s.sessionCookie(r, id, 0))
	s.log.Info("console: signed in", "remote", ip, "portal", a.Portal, "agent", a.Key(), "role", a.Role)
	http.Redirect(w, r, "/console/live", http.StatusSeeOther)
}

// signOut ends the session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, v *viewer) {
	if err := s.sessions.signOut(r.Context(), v.sess, s.proxies.ClientIP(r).String()); err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	http.SetCookie(w, s.sessionCookie(r, "", -1))
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// checkPassword waits for the sign-in guard's leave (counting the
// attempt for the address key addr and for the account the name names),
// then checks the password: errSignInLater when the guard refuses,
// errWrongPassword when it is wrong or the name names nobody.
func (s *Server) checkPassword(ctx context.Context, login, password, addr string) (store.Agent, []store.Credential, error) {
	account := address.LoginAccount(login, s.cfg.Domain)
	att, err := s.guard.Await(ctx, account, addr)
	if errors.Is(err, limit.ErrRefused) {
		s.log.Warn("console: sign-in refused without a password check after repeated failures", "remote", addr, "account", account, "by", att.By)
		return store.Agent{}, nil, errSignInLater
	}
	if err != nil {
		if att != nil {
			att.Done(false)
		}
		return store.Agent{}, nil, err
	}
	ok := false
	defer func() { att.Done(ok) }()
	a, creds, known, err := s.lookup(ctx, login)
	if err != nil {
		return store.Agent{}, nil, err
	}
	for _, c := range creds {
		// SHA-256 is the hash whose keys are kept longest, as for PLAIN.
		if c.Mechanism == store.ScramSHA256 {
			ok = known && c.VerifyPassword(password)
			if !ok {
				return store.Agent{}, nil, errWrongPassword
			}
			return a, creds, nil
		}
	}
	// Nobody of that name: the same work as a real check.
	store.SaltedKeys(store.HashFor(store.ScramSHA256), password, s.fakeSalt, s.cfg.Iterations)
	return store.Agent{}, nil, errWrongPassword
}

// lookup finds the agent a sign-in name names; known is false when it
// names nobody.
func (s *Server) lookup(ctx context.Context, login string) (a store.Agent, creds []store.Credential, known bool, err error) {
	portal, user, ok := address.ParseLogin(login, s.cfg.Domain)
	if !ok {
		return store.Agent{}, nil, false, nil
	}
	a, creds, err = s.cfg.Store.Login(ctx, portal, user)
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, nil, false, nil
	}
	return a, creds, err == nil, err
}
