package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/internal/limit"
)

// createRequest is the body of POST /api/v1/chats.
type createRequest struct {
	Portal     string `json:"portal"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Phone      string `json:"phone"`
	Department string `json:"department"`
	Question   string `json:"question"`
	PageURL    string `json:"page_url"`
	Language   string `json:"language"`
}

func (s *Server) createChat(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	if ok, after := s.chats.Allow(limit.Key(ip), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(limit.RetryAfterSeconds(after)))
		s.writeError(w, r, fail(http.StatusTooManyRequests, "rate_limited", "too many chats started from your address; please wait a minute and try again"))
		return
	}
	var req createRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := s.cfg.Store.Portal(ctx, req.Portal); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Department != "" {
		if _, err := s.cfg.Store.Department(ctx, req.Portal, req.Department); err != nil {
			s.writeError(w, r, fail(http.StatusBadRequest, "unknown_department",
				"department "+strconv.Quote(req.Department)+" does not exist; GET /api/v1/portals/"+req.Portal+"/departments lists them"))
			return
		}
	}
	ua := r.UserAgent()
	browser, os := parseUserAgent(ua)
	started, err := s.cfg.Engine.Create(ctx, bridge.NewChat{
		Portal: req.Portal, Name: req.Name, Email: req.Email, Phone: req.Phone, Department: req.Department,
		Question: req.Question, PageURL: truncate(req.PageURL, 2000), Language: truncate(req.Language, 35),
		IP: ip.String(), UserAgent: truncate(ua, 500), Browser: browser, OS: os, Country: s.cfg.GeoIP.Country(ip),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, started)
}

// check reports missing fields.
func (req *createRequest) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"portal", req.Portal}, {"name", req.Name}, {"question", req.Question}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fail(http.StatusBadRequest, "missing_field", "missing required field(s): "+strings.Join(missing, ", ")+
			` (send {"portal", "name", "question"} and optionally email, phone, department, page_url, language)`)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err == nil {
		err = admitChatRate(s.lim.messages, v.Info().PublicID, "messages")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Text     string `json:"text"`
		ClientID string `json:"client_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := v.Say(r.Context(), req.Text, req.ClientID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "stored"})
}

func (s *Server) typing(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err == nil {
		err = admitChatRate(s.lim.typing, v.Info().PublicID, "typing notifications")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		State string `json:"state"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := v.Typing(r.Context(), req.State); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) end(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rate, err := v.End(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, endAnswer{Status: "ended", Rate: rate})
}

// endAnswer is the answer to POST …/end: rate says that the visitor is
// asked to rate the chat (…/rating).
type endAnswer struct {
	Status string `json:"status"`
	Rate   bool   `json:"rate,omitempty"`
}

// rating is the visitor's rating of a chat that ended.
func (s *Server) rating(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Stars   *int   `json:"stars"`
		Comment string `json:"comment"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Stars == nil {
		s.writeError(w, r, fail(http.StatusBadRequest, "missing_field", `missing required field: stars (send {"stars": 1 to 5, "comment": "…"}; the comment is optional)`))
		return
	}
	if err := v.Rate(r.Context(), *req.Stars, req.Comment); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"status": "rated"})
}

// opened is the widget saying that the visitor opened a pushed page.
func (s *Server) opened(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		URL string `json:"url"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !bridge.IsWebAddress(req.URL) {
		s.writeError(w, r, fail(http.StatusBadRequest, "bad_url", "url must be the http(s) address of the pushed page"))
		return
	}
	if err := v.Opened(r.Context(), truncate(req.URL, 2000)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// events is the long poll: events after ?after=SEQ, waiting up to 25 s.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := afterParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	release, err := s.openStream(r, v.Info().PublicID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	end := time.Now().Add(s.cfg.LongPollWait + s.cfg.Limits.RequestTimeout)
	setDeadlines(w, end, end)
	ctx, cancel := s.streamContext(r)
	defer cancel()
	evs, err := v.Events(ctx, after, s.cfg.LongPollWait)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
}

func afterParam(r *http.Request) (int64, error) {
	a := r.URL.Query().Get("after")
	if a == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 0 {
		return 0, fail(http.StatusBadRequest, "bad_after", "after must be the seq of the last event you have (0 or more)")
	}
	return n, nil
}

func (s *Server) departments(w http.ResponseWriter, r *http.Request) {
	if err := s.admitRequest(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	depts, anyone, err := s.cfg.Engine.Departments(r.Context(), r.PathValue("portal"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": depts, "anyone_online": anyone})
}
