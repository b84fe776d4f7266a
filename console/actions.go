package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"jabberdesk/address"
	"jabberdesk/bridge"
)

// The console's changes: assign a chat to an agent and end a chat, each
// through what the engine does for #assign and for #e (Desk), each a
// POST with the session's CSRF token (signedIn checks it), each audited
// as "console" with the words of the hash command that does the same.

// assign gives a chat to an agent (#assign N AGENT).
func (s *Server) assign(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, number, ok := s.chatOf(w, r, v)
	if !ok {
		return
	}
	who := strings.TrimSpace(r.PostFormValue("agent"))
	if who == "" {
		s.flash(r, v, "Choose the agent to assign chat #"+strconv.FormatInt(number, 10)+" to.")
		s.backToLive(w, r, portal)
		return
	}
	reply, err := s.cfg.Desk.Assign(r.Context(), portal, v.byInfo(portal), number, who)
	s.done(w, r, v, portal, number, "#assign "+strconv.FormatInt(number, 10)+" "+who, reply, err)
}

// end ends a chat, as #e does for an agent in it.
func (s *Server) end(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, number, ok := s.chatOf(w, r, v)
	if !ok {
		return
	}
	reply, err := s.cfg.Desk.End(r.Context(), portal, v.byInfo(portal), number)
	s.done(w, r, v, portal, number, "#e", reply, err)
}

// chatOf is the portal and the chat number a change is about.
func (s *Server) chatOf(w http.ResponseWriter, r *http.Request, v *viewer) (portal string, number int64, ok bool) {
	if portal, ok = s.portal(w, r, v); !ok {
		return "", 0, false
	}
	number, err := strconv.ParseInt(r.PathValue("number"), 10, 64)
	if err != nil || number <= 0 {
		s.fail(w, r, v, http.StatusNotFound, "There is no such chat.")
		return "", 0, false
	}
	return portal, number, true
}

// done audits a change, keeps its outcome for the next page, and goes
// back to the live page.
func (s *Server) done(w http.ResponseWriter, r *http.Request, v *viewer, portal string, number int64, command, reply string, err error) {
	var ce *bridge.CommandError
	result := reply
	switch {
	case errors.As(err, &ce):
		reply, result = ce.Msg, "refused: "+ce.Msg
	case err != nil:
		s.log.Error("console: change failed", "portal", portal, "chat", number, "command", command, "err", err)
		reply = "Something went wrong on the server; check the chat before trying again."
		result = "failed: " + err.Error()
	}
	if aerr := s.cfg.Store.AuditConsole(r.Context(), portal, actor(v, portal), number, command, result); aerr != nil {
		// The change is made; the log says what the audit log lacks.
		s.log.Error("console: audit a change", "portal", portal, "chat", number, "command", command, "result", result, "err", aerr)
	}
	s.flash(r, v, reply)
	s.backToLive(w, r, portal)
}

// flash keeps the outcome of a change for the session's next page, on
// whichever node it lands. Not kept, it is not shown; the change is made
// and audited either way.
func (s *Server) flash(r *http.Request, v *viewer, text string) {
	if err := s.sessions.setFlash(r.Context(), v.sess, text); err != nil {
		s.log.Error("console: keep the outcome of a change", "portal", v.agent.Portal, "agent", v.agent.Key(), "err", err)
	}
}

// actor is who the audit log names: the username in their own portal,
// PORTAL|USERNAME in another (an admin's).
func actor(v *viewer, portal string) string {
	if portal == v.agent.Portal {
		return v.agent.Key()
	}
	return address.Local(v.agent.Portal, v.agent.Key())
}

// backToLive sends the browser to the portal's live page after a change.
func (s *Server) backToLive(w http.ResponseWriter, r *http.Request, portal string) {
	http.Redirect(w, r, "/console/live?"+url.Values{"portal": {portal}}.Encode(), http.StatusSeeOther)
}
