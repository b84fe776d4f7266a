package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"jabberdesk/store"
)

// The Audit log page: the portal's audit log (every admin change, every
// hash command that changes something, every change made here), newest
// first, filtered by actor, action and dates, paged back.

// auditShown is the most entries one page shows.
const auditShown = 100

// auditData is the Audit log page.
type auditData struct {
	Actor, Action, From, To string
	Actions                 []string // the actions the log holds, for the action field
	Entries                 []store.AuditEntry
	Older                   string // the address of the next page back; "" when there is none
	Message                 string
}

// auditPage lists the audit log.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, ok := s.portal(w, r, v)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), From: q.Get("from"), To: q.Get("to")}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64) // not a number: the newest page
	from, to, msg := dayRange(d.From, d.To)
	ctx := r.Context()
	var err error
	if d.Actions, err = s.cfg.Store.AuditActions(ctx, portal); err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	if msg != "" {
		d.Message = msg
	} else {
		f := store.AuditFilter{Portal: portal, Actor: d.Actor, Action: d.Action, From: from, To: to, Before: before, Limit: auditShown}
		if d.Entries, err = s.cfg.Store.AuditQuery(ctx, f); err != nil {
			s.fail(w, r, v, http.StatusInternalServerError, "", err)
			return
		}
	}
	if n := len(d.Entries); n == auditShown {
		next := url.Values{"portal": {portal}, "before": {strconv.FormatInt(d.Entries[n-1].ID, 10)}}
		for k, val := range map[string]string{"actor": d.Actor, "action": d.Action, "from": d.From, "to": d.To} {
			if val != "" {
				next.Set(k, val)
			}
		}
		d.Older = "/console/audit?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", s.pageFor(r, v, portal, "audit", "Audit log", d))
}
