package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"jabberdesk/store"
)

// assets holds the page templates (layout.html and one file a page) and
// the static files the pages load (console.css, console.js).
//
//go:embed assets
var assets embed.FS

// pageNames are the pages, each a template file with the layout.
var pageNames = []string{"signin", "refused", "error", "live", "conversations", "conversation", "audit", "reports"}

// loadPages parses every page with the layout, and returns the static
// files.
func loadPages() (map[string]*template.Template, fs.FS, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "assets/layout.html", "assets/"+name+".html")
		if err != nil {
			return nil, nil, fmt.Errorf("console: page %s: %w", name, err)
		}
		pages[name] = t
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, nil, fmt.Errorf("console: static files: %w", err)
	}
	return pages, static, nil
}

// funcs are the templates' helpers; times are shown in the server's zone.
var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04")
	},
	"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"since": func(t, now time.Time) string { return span(now.Sub(t)) },
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"agents": func(as []store.ChatAgent) string {
		var names []string
		for _, a := range as {
			if !slices.Contains(names, a.Name) {
				names = append(names, a.Name)
			}
		}
		return strings.Join(names, ", ")
	},
	"section": func(kind string, d liveData) chatSection {
		if kind == "waiting" {
			return chatSection{Kind: kind, Title: "Waiting", Waiting: true, Chats: d.Waiting, Live: d}
		}
		return chatSection{Kind: kind, Title: "Active", Chats: d.Active, Live: d}
	},
	"forms": func(d liveData, c liveChat) actionForms {
		return actionForms{Chat: c, CSRF: d.CSRF, Portal: d.Portal, Agents: d.Agents}
	},
	"cut": func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n-1]) + "…"
		}
		return s
	},
}

// span is a duration as a person reads it: "42s", "3m 05s", "2h 10m".
func span(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

// page is what the layout needs, and the page's own Data.
type page struct {
	Title   string
	Nav     string   // the active section: live, conversations, audit, reports
	User    string   // the signed-in agent's name; "" on the sign-in pages
	Role    string   // theirs
	CSRF    string   // the session's token, for every form
	Portal  string   // the portal shown
	Portals []string // an admin's choice of portals; none for a supervisor
	Flash   string   // the outcome of the last change
	Data    any
}

// pageFor is a signed-in page about portal.
func (s *Server) pageFor(r *http.Request, v *viewer, portal, nav, title string, data any) page {
	flash, err := s.sessions.takeFlash(r.Context(), v.sess)
	if err != nil {
		s.log.Error("console: take the outcome of a change", "portal", v.agent.Portal, "agent", v.agent.Key(), "err", err)
	}
	p := page{Title: title, Nav: nav, User: v.agent.DisplayName, Role: string(v.agent.Role), CSRF: v.sess.CSRF,
		Portal: portal, Flash: flash, Data: data}
	if v.agent.Role.AtLeast(store.RoleAdmin) {
		ps, err := s.cfg.Store.Portals(r.Context())
		if err != nil {
			s.log.Error("console: list portals", "err", err)
		}
		for _, x := range ps {
			p.Portals = append(p.Portals, x.Name)
		}
	}
	return p
}

// render writes a page. It is made in full first: a template that fails
// gives an error page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		s.log.Error("console: render page", "page", name, "err", err)
		status, b = http.StatusInternalServerError, *bytes.NewBufferString("Something went wrong on the server.")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes()) // the browser may be gone; nothing to do about it
}

// fail shows an error page with msg; with an error (logged) and no msg,
// the page says the server failed.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string, errs ...error) {
	if err := errors.Join(errs...); err != nil {
		s.log.Error("console", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if msg == "" {
		msg = "Something went wrong on the server; try again in a moment."
	}
	p := page{Title: http.StatusText(status), Data: msg}
	if v != nil {
		p.User, p.Role, p.CSRF, p.Portal = v.agent.DisplayName, string(v.agent.Role), v.sess.CSRF, v.agent.Portal
	}
	s.render(w, r, status, "error", p)
}

// asset serves the style sheet, the script and the icon. Browsers ask
// again each time whether they changed (a new binary may bring new ones).
func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name != path.Base(name) || !slices.Contains([]string{".css", ".js", ".svg"}, path.Ext(name)) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, s.static, name)
}

// portal is the portal a request is about: the "portal" field of its
// query or form, else the viewer's own. A supervisor may see their own
// portal only, an admin any portal that exists; otherwise the answer is
// written and ok is false.
func (s *Server) portal(w http.ResponseWriter, r *http.Request, v *viewer) (portal string, ok bool) {
	portal = strings.ToLower(strings.TrimSpace(r.FormValue("portal")))
	if portal == "" || portal == v.agent.Portal {
		return v.agent.Portal, true
	}
	if !v.agent.Role.AtLeast(store.RoleAdmin) {
		s.fail(w, r, v, http.StatusForbidden, "You supervise portal "+v.agent.Portal+"; only an admin may see another portal.")
		return "", false
	}
	if _, err := s.cfg.Store.Portal(r.Context(), portal); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, v, http.StatusNotFound, "There is no portal "+portal+".")
		} else {
			s.fail(w, r, v, http.StatusInternalServerError, "", err)
		}
		return "", false
	}
	return portal, true
}
