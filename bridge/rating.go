package bridge

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jabberdesk/address"
	"jabberdesk/store"
)

// Ratings (docs/CHATS.md §7.5). When a chat an agent took part in ends,
// its visitor is asked to rate it: the widget reads the ended event's
// Rate and asks, a channel customer is sent the question. A rating is
// stored once with its transcript line, and the agents who were in the
// chat are told from its contact — as a server line, since the chat is
// over; an agent who is offline finds it at the next sign-in.

// Errors of a rating; bridge/web maps them to HTTP statuses.
var (
	ErrChatLive    = errors.New("bridge: the chat has not ended")
	ErrRated       = errors.New("bridge: the chat was rated already")
	ErrNotRateable = errors.New("bridge: the chat cannot be rated")
)

// Texts a channel customer is sent.
const (
	ratingQuestionText = "How was this chat? Reply with a number from 1 to 5 (5 is best); you can add a comment after it."
	ratingThanksText   = "Thank you for your rating!"
)

// ratingAnswerWindow is how long after its end a channel chat takes the
// customer's answer to the question as its rating.
const ratingAnswerWindow = 24 * time.Hour

// asksRatings reports whether the chat's portal asks for ratings and the
// chat has none yet (a channel chat reopened after it was rated).
func (c *Chat) asksRatings() bool {
	on, err := c.e.store.RatingsOn(c.ctx(), c.portal)
	c.logStoreError("read the ratings setting", err)
	if err != nil || !on {
		return false
	}
	_, rated, err := c.e.store.ChatRating(c.ctx(), c.id)
	c.logStoreError("read the chat's rating", err)
	return err == nil && !rated
}

// ratingAnswers are the question's quick replies, where the provider has
// them: a tap sends the number.
var ratingAnswers = []string{"1", "2", "3", "4", "5"}

// ratingQuestion is the question for a channel customer, or nil where
// the provider does not let us write to them now.
func (c *Chat) ratingQuestion() *store.Outbound {
	out, _, err := c.e.outboundTo(c.ctx(), c.info, store.OutboundPayload{Text: ratingQuestionText, QuickReplies: ratingAnswers})
	c.logStoreError("read the chat's customer", err)
	return out
}

// Rate is the visitor's rating of their chat once it has ended: 1 to 5
// stars and a comment (made one line, at most store.RatingCommentMax
// characters). It returns ErrChatLive while the chat goes on,
// ErrNotRateable for a chat that takes no rating and ErrRated for one
// rated already.
func (v *VisitorChat) Rate(ctx context.Context, stars int, comment string) error {
	comment = singleLine(comment)
	switch {
	case stars < 1 || stars > 5:
		return &store.UserError{Msg: "stars must be a whole number from 1 to 5", Kind: store.ErrInvalid}
	case utf8.RuneCountInString(comment) > store.RatingCommentMax:
		return &store.UserError{Msg: "the comment is too long (at most " + strconv.Itoa(store.RatingCommentMax) + " characters)", Kind: store.ErrInvalid}
	}
	// The owner of the chat's portal tells its agents once their chat
	// told them it is over (afterEnd).
	r := v.call()
	r.Stars, r.Text = stars, comment
	if _, done, err := forward[visitorCall, none](ctx, v.e, v.info.Portal, kindRate, r); done {
		return err
	}
	sc, err := v.e.store.Chat(ctx, v.info.ID)
	if err != nil {
		return err
	}
	if sc.Status.Live() {
		return ErrChatLive
	}
	return v.e.rate(ctx, sc, store.Rating{ChatID: sc.ID, Stars: stars, Comment: comment, Source: store.RatingWidget}, Event{})
}

// rateable reports whether a chat that is over takes a rating: an agent
// took part in it and it did not end with a block.
func rateable(sc store.Chat) bool {
	return sc.Status == store.ChatEnded && sc.AcceptedAt != nil && sc.EndReason != store.EndBlocked
}

// rate stores a rating of chat sc with the line that records it (ev
// adds what a channel customer's answer brings: the message it shows and
// the thanks it sends), then tells the chat's agents and completes its
// ticket's transcript.
func (e *Engine) rate(ctx context.Context, sc store.Chat, r store.Rating, ev Event) error {
	if !rateable(sc) {
		return ErrNotRateable
	}
	if on, err := e.store.RatingsOn(ctx, sc.Portal); err != nil {
		return err
	} else if !on {
		return ErrNotRateable
	}
	ev.Type, ev.Stars, ev.Text, ev.At = EventRated, r.Stars, r.Comment, e.now().UTC()
	r, _, err := e.store.RateChat(ctx, r, ev.record(store.AuthorVisitor, ""))
	if errors.Is(err, store.ErrExists) {
		return ErrRated
	}
	if err != nil {
		return err
	}
	if ev.out != nil {
		e.channelsSide().Wake()
	}
	e.afterEnd(ctx, sc.ID)
	e.tellRating(sc, r)
	e.completeTranscript(ctx, sc)
	e.log.Info("chat rated", "portal", sc.Portal, "chat", sc.Number, "stars", r.Stars, "source", r.Source)
	return nil
}

// afterEnd returns once the chat's goroutine has finished the end (its
// agents were told it is over), or when ctx ends.
func (e *Engine) afterEnd(ctx context.Context, chatID int64) {
	e.mu.Lock()
	c := e.live[chatID]
	e.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.exited:
	case <-ctx.Done():
	}
}

// ratingWords is a rating in words: "4/5", or "4/5: comment". The comment is
// one line after the server's words: it cannot pass for another line.
func ratingWords(n int, comment string) string {
	s := strconv.Itoa(n) + "/5"
	if comment != "" {
		s += ": " + comment
	}
	return s
}

// tellRating tells the agents who were in the chat (not silent monitors)
// of its rating, from its contact.
func (e *Engine) tellRating(sc store.Chat, r store.Rating) {
	m := Message{From: address.VisitorName(sc.Number), Body: SystemPrefix + "Rated " + ratingWords(r.Stars, r.Comment), System: true}
	told := map[string]bool{}
	for _, a := range sc.Agents {
		key := store.UsernameKey(a.Username)
		if a.Role == store.ChatRoleMonitor || told[key] {
			continue
		}
		told[key] = true
		e.agentsSide().Message(sc.Portal, key, m)
	}
}

// completeTranscript renders a chat's ticket transcript again (a rating
// came after its end).
func (e *Engine) completeTranscript(ctx context.Context, sc store.Chat) {
	evs, err := e.store.ChatEvents(ctx, sc.ID, 0, false, 0)
	if err == nil {
		err = e.store.CompleteTranscript(ctx, sc.ID, RenderTranscript(sc, evs))
	}
	if err != nil {
		e.log.Error("chat: complete ticket transcript after a rating failed", "portal", sc.Portal, "chat", sc.Number, "err", err)
	}
}

// customerRating takes a channel customer's message as the rating of
// their last chat when it answers the question (parseRating) within
// ratingAnswerWindow of the chat's end; taken reports that it did. A
// message that is no answer, or comes too late, for a chat not asked or
// rated already, starts a new chat as any other.
func (e *Engine) customerRating(ctx context.Context, in store.Inbound) (taken bool, err error) {
	stars, comment, ok := parseRating(in.Message)
	if !ok {
		return false, nil
	}
	sc, found, err := e.store.LastChatOfCustomer(ctx, in.Customer.ID)
	if err != nil || !found || !rateable(sc) || sc.EndedAt == nil || e.now().Sub(*sc.EndedAt) > ratingAnswerWindow {
		return false, err
	}
	if asked, err := e.ratingAsked(ctx, sc); err != nil || !asked {
		return false, err
	}
	ev := Event{inbound: in.ID}
	// They just wrote: the provider takes the thanks unless they are blocked.
	ev.out, _, err = e.outboundTo(ctx, sc, store.OutboundPayload{Text: ratingThanksText})
	if err != nil {
		return false, err
	}
	err = e.rate(ctx, sc, store.Rating{ChatID: sc.ID, Stars: stars, Comment: comment, Source: store.RatingChannel}, ev)
	if errors.Is(err, ErrRated) || errors.Is(err, ErrNotRateable) {
		return false, nil
	}
	return true, err
}

// ratingAsked reports whether the end of chat sc asked its visitor to
// rate it (the ended event's Rate; it is among the chat's last events).
func (e *Engine) ratingAsked(ctx context.Context, sc store.Chat) (bool, error) {
	recs, err := e.store.ChatEvents(ctx, sc.ID, max(sc.LastSeq-8, 0), true, 0)
	if err != nil {
		return false, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type == EventEnded {
			return eventFromRecord(recs[i]).Rate, nil
		}
	}
	return false, nil
}

// parseRating reads an answer to the rating question: a digit from 1 to
// 5, alone or with "/5", then nothing or a comment after a space or
// punctuation ("4", "5/5 great", "3: slow"). A message with files, or
// whose first word is longer ("12", "3pm"), is no answer.
func parseRating(m store.InboundMessage) (stars int, comment string, ok bool) {
	t := strings.TrimSpace(m.Text)
	if len(m.Attachments) > 0 || t == "" || t[0] < '1' || t[0] > '5' {
		return 0, "", false
	}
	stars, rest := int(t[0]-'0'), t[1:]
	if r := strings.TrimLeft(rest, " "); strings.HasPrefix(r, "/") {
		if r = strings.TrimLeft(r[1:], " "); strings.HasPrefix(r, "5") {
			rest = r[1:]
		}
	}
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return 0, "", false
	}
	comment = strings.TrimLeft(singleLine(rest), " .,:;!-–—")
	return stars, truncate(comment, store.RatingCommentMax), true
}
