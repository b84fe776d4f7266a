package web

import (
	"embed"
	"html"
	"io/fs"
	"net/http"
	"strings"
)

// assets holds the widget: widget.js (embeddable with one script tag),
// chat.html (the standalone page) and what they load.
//
//go:embed assets
var assets embed.FS

func (s *Server) widgetRoutes() {
	files, _ := fs.Sub(assets, "assets")
	static := http.FileServerFS(files)
	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		static.ServeHTTP(w, r)
	}
	s.mux.HandleFunc("GET /widget.js", serve)
	s.mux.HandleFunc("GET /widget.css", serve)
	s.mux.HandleFunc("GET /chat/{portal}", s.chatPage)
}

// chatPage is the standalone chat page of a portal.
func (s *Server) chatPage(w http.ResponseWriter, r *http.Request) {
	portal := r.PathValue("portal")
	if _, err := s.cfg.Store.Portal(r.Context(), portal); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("There is no chat here: the portal " + portal + " does not exist.\n")) // a failed write: the browser is gone
		return
	}
	page, err := assets.ReadFile("assets/chat.html")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src * data:; connect-src 'self'; style-src 'self' 'unsafe-inline'")
	_, _ = w.Write([]byte(strings.ReplaceAll(string(page), "{{PORTAL}}", html.EscapeString(portal)))) // a failed write: the browser is gone
}
