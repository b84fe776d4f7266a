package xmppd

import (
	"context"
	"strings"
	"time"

	"jabberdesk/address"
)

// boardHistory is how many posts "#h" to the board replays.
const boardHistory = 20

// boardMessage posts to the portal's message board: the text is stored
// and sent to every other online agent as "[Sender] text"; agents who are
// offline get it at their next sign-in (deliverMissedBoard). "#h" replays
// the recent posts to the sender.
func (s *session) boardMessage(el *Element) error {
	body := el.ChildText(nsClient, "body")
	if body == "" || el.Get("type") == "error" {
		return nil // chat states and the like
	}
	board := s.srv.specialJID(s.agent.Portal, address.BoardName)
	if cmd := strings.ToLower(strings.TrimSpace(body)); cmd == "#h" || cmd == "#help" {
		if cmd == "#help" {
			s.systemMessage(board, "Everything you send here goes to every online colleague. #h shows the recent posts.")
			return nil
		}
		return s.boardHistory(board)
	}
	post, err := s.srv.store.AddBoardPost(s.ctx(), s.agent.Portal, s.agent.Username, s.currentAgent().DisplayName, body)
	if err != nil {
		return err
	}
	s.srv.boardPosted.Store(s.agent.Portal, true)
	text := "[" + post.AuthorName + "] " + body
	out := NewElement(nsClient, "message", "from", board, "type", "chat").
		Add(NewElement(nsClient, "body").AddText(text))
	msg := out.Bytes()
	for _, o := range s.srv.router.portalSessions(s.agent.Portal) {
		if o.bare != s.bare && o.isAvailable() {
			o.sendMessageBytes(msg, out)
		}
	}
	s.srv.publish(s.agent.Portal, portalEvent{Op: opBoard, Bare: s.bare, Stanza: msg})
	return nil
}

// missedBoardPosts is how many posts made while an agent was offline
// are delivered at the next sign-in, at most.
const missedBoardPosts = 50

// deliverMissedBoard sends an agent who was offline the board posts made
// meanwhile, with their times (XEP-0203), as the offline messages they
// are.
func (s *session) deliverMissedBoard() {
	if !s.srv.boardHasPosts(s.agent.Portal) {
		return // most portals: no need to ask the store at every sign-in
	}
	posts, err := s.srv.store.BoardPostsMissed(s.ctx(), s.agent.Portal, s.agent.Key(), missedBoardPosts)
	if err != nil {
		s.log.Error("read missed board posts", "err", err)
		return
	}
	board := s.srv.specialJID(s.agent.Portal, address.BoardName)
	for _, p := range posts {
		el := NewElement(nsClient, "message", "from", board, "to", s.full, "type", "chat").
			Add(NewElement(nsClient, "body").AddText("["+p.AuthorName+"] "+p.Body),
				NewElement(nsDelay, "delay", "from", s.srv.domain, "stamp", p.At.UTC().Format(nsDelayStamp)))
		s.send(el)
	}
}

// boardHasPosts reports whether a portal's board has ever had a post
// (remembered once known).
func (srv *Server) boardHasPosts(portal string) bool {
	if v, ok := srv.boardPosted.Load(portal); ok {
		return v.(bool)
	}
	posts, err := srv.store.BoardPosts(context.Background(), portal, 1)
	has := err != nil || len(posts) > 0 // on an error, look
	if err == nil {
		srv.boardPosted.Store(portal, has)
	}
	return has
}

// boardSeen records, when an agent's last resource goes offline, that the
// agent saw the board up to now.
func (srv *Server) boardSeen(portal, agent string) {
	if err := srv.store.SetBoardSeen(context.Background(), portal, agent, time.Now()); err != nil {
		srv.log.Error("record board seen", "agent", agent, "err", err)
	}
}

func (s *session) boardHistory(board string) error {
	posts, err := s.srv.store.BoardPosts(s.ctx(), s.agent.Portal, boardHistory)
	if err != nil {
		return err
	}
	if len(posts) == 0 {
		s.systemMessage(board, "No posts yet")
		return nil
	}
	for _, p := range posts {
		s.systemMessage(board, "["+p.AuthorName+", "+p.At.Local().Format("2006-01-02 15:04")+"] "+p.Body)
	}
	return nil
}
