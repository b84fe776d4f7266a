package xmppd

import (
	"strings"
)

// boardHistory is how many posts "#h" to the board replays.
const boardHistory = 20

// boardMessage posts to the portal's message board (SPEC §2): the text is
// stored and sent to every other online agent as "[Sender] text". "#h"
// replays the recent posts to the sender.
func (s *session) boardMessage(el *Element) error {
	body := el.ChildText(nsClient, "body")
	if body == "" || el.Get("type") == "error" {
		return nil // chat states and the like
	}
	board := s.srv.specialJID(s.agent.Portal, boardName)
	if cmd := strings.ToLower(strings.TrimSpace(body)); cmd == "#h" || cmd == "#help" {
		if cmd == "#help" {
			s.systemMessage(board, "Everything you send here goes to every online colleague. #h shows the recent posts.")
			return nil
		}
		return s.boardHistory(board)
	}
	post, err := s.srv.store.AddBoardPost(s.ctx(), s.agent.Portal, s.agent.Username, s.agent.DisplayName, body)
	if err != nil {
		return err
	}
	text := "[" + post.AuthorName + "] " + body
	out := NewElement(nsClient, "message", "from", board, "type", "chat").
		Add(NewElement(nsClient, "body").AddText(text))
	msg := out.Bytes()
	for _, o := range s.srv.router.portalSessions(s.agent.Portal) {
		if o.bare != s.bare && o.isAvailable() {
			o.sendMessageBytes(msg, out)
		}
	}
	return nil
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
