package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"jabberdesk/bridge"
	"jabberdesk/store"
)

// The Conversations pages: a search of the portal's chats (by number,
// visitor's name or email, or words of the transcript, within dates) and
// one chat with its details, transcript and ticket.

// conversationsShown is the most chats a search shows.
const conversationsShown = 50

// conversationsData is the search page.
type conversationsData struct {
	Query, From, To string
	Chats           []store.Chat
	Max             int
	Message         string // why there are no results: a search that cannot run
}

// conversationsPage searches the portal's chats; without a search it
// lists the newest.
func (s *Server) conversationsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, ok := s.portal(w, r, v)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := conversationsData{Query: strings.TrimSpace(q.Get("q")), From: q.Get("from"), To: q.Get("to"), Max: conversationsShown}
	from, to, msg := dayRange(d.From, d.To)
	if msg != "" {
		d.Message = msg
	} else {
		chats, err := s.cfg.Store.SearchChats(r.Context(), store.ChatSearch{Portal: portal, Term: d.Query, From: from, To: to, Limit: d.Max})
		var ue *store.UserError
		switch {
		case errors.As(err, &ue):
			d.Message = ue.Msg
		case err != nil:
			s.fail(w, r, v, http.StatusInternalServerError, "", err)
			return
		}
		d.Chats = chats
	}
	s.render(w, r, http.StatusOK, "conversations", s.pageFor(r, v, portal, "conversations", "Conversations", d))
}

// dayRange reads a page's "from" and "to" days (YYYY-MM-DD, the server's
// zone; both included) as [from, to); msg says what is wrong with them.
func dayRange(fromDay, toDay string) (from, to time.Time, msg string) {
	read := func(s, what string) (time.Time, bool) {
		if s == "" {
			return time.Time{}, true
		}
		t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
		if err != nil {
			msg = "The " + what + " date is not a day like 2026-03-01."
			return time.Time{}, false
		}
		return t, true
	}
	from, ok := read(fromDay, "from")
	if !ok {
		return time.Time{}, time.Time{}, msg
	}
	if to, ok = read(toDay, "to"); !ok {
		return time.Time{}, time.Time{}, msg
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return time.Time{}, time.Time{}, "The from date is after the to date."
	}
	return from, to, ""
}

// conversationData is one chat's page.
type conversationData struct {
	Chat        store.Chat
	Page        string // the page the visitor came from, if it is a web address
	Lines       []bridge.TranscriptLine
	Ticket      *store.Ticket
	TicketWords string
	Thread      []store.ThreadEntry // the ticket's status changes and notes
}

// conversationPage shows one chat: details, transcript, ticket.
func (s *Server) conversationPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	portal, ok := s.portal(w, r, v)
	if !ok {
		return
	}
	number, err := strconv.ParseInt(r.PathValue("number"), 10, 64)
	if err != nil {
		s.fail(w, r, v, http.StatusNotFound, "There is no such chat.")
		return
	}
	ctx := r.Context()
	c, err := s.cfg.Store.ChatByNumber(ctx, portal, number)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, v, http.StatusNotFound, "Portal "+portal+" has no chat #"+strconv.FormatInt(number, 10)+".")
		return
	}
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	evs, err := s.cfg.Store.ChatEvents(ctx, c.ID, 0, false, 0)
	if err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	d := conversationData{Chat: c, Lines: bridge.TranscriptLines(c, evs)}
	if bridge.IsWebAddress(c.PageURL) {
		d.Page = c.PageURL
	}
	if err := s.ticketOf(r, &d); err != nil {
		s.fail(w, r, v, http.StatusInternalServerError, "", err)
		return
	}
	s.render(w, r, http.StatusOK, "conversation", s.pageFor(r, v, portal, "conversations", "#"+strconv.FormatInt(number, 10), d))
}

// ticketOf adds the chat's ticket, if it has one, with the entries of its
// thread that are not transcripts (the page shows the transcript).
func (s *Server) ticketOf(r *http.Request, d *conversationData) error {
	t, err := s.cfg.Store.TicketForChat(r.Context(), d.Chat.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	d.Ticket, d.TicketWords = &t, t.Words()
	thread, err := s.cfg.Store.TicketThread(r.Context(), t.ID)
	if err != nil {
		return err
	}
	for _, e := range thread {
		if e.Kind != store.ThreadTranscript {
			d.Thread = append(d.Thread, e)
		}
	}
	return nil
}
