package bridge

import (
	"context"
	"errors"
	"fmt"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// Making a chat a ticket from the Desk contact (#setemail N EMAIL,
// #convert N [PSC]) and from the CLI (ticket create --from-chat): for a
// chat that is live, and above all for one that has ended or was missed,
// whose window can no longer take #support setemail. A live chat is
// changed on its own goroutine, like the commands in its window.

// setChatEmailCommand is #setemail N EMAIL.
func (e *Engine) setChatEmailCommand(ctx context.Context, portal string, _ AgentInfo, cmd commands.Command) (string, error) {
	return e.SetChatEmail(ctx, portal, cmd.Number, cmd.Text)
}

// convertChatCommand is #convert N [PSC] ["DEPARTMENT"].
func (e *Engine) convertChatCommand(ctx context.Context, portal string, by AgentInfo, cmd commands.Command) (string, error) {
	t, err := e.ConvertChat(ctx, portal, cmd.Number, TicketOrder{Actor: by.Key, Priority: cmd.Priority, Status: cmd.Status,
		Classification: cmd.Classification, Department: cmd.Department})
	if err != nil {
		return "", err
	}
	return convertText(cmd.Number, t), nil
}

// SetChatEmail records the email address of a chat's visitor.
func (e *Engine) SetChatEmail(ctx context.Context, portal string, number int64, email string) (string, error) {
	r := chatCall{Portal: portal, Number: number, Email: email}
	if reply, done, err := forward[chatCall, string](ctx, e, portal, kindSetChatEmail, r); done {
		return reply, err
	}
	sc, err := e.chatForDesk(ctx, portal, number)
	if err != nil {
		return "", err
	}
	if c := e.chatByNumber(portal, number); c != nil {
		err = c.call(ctx, func() error {
			if err := e.store.SetChatEmail(ctx, c.id, email); err != nil {
				return userError(err)
			}
			c.reload()
			return nil
		})
		if !errors.Is(err, errChatOver) {
			return fmt.Sprintf("Email of chat #%d set to %s.", number, email), err
		}
	}
	if err := e.store.SetChatEmail(ctx, sc.ID, email); err != nil {
		return "", userError(err)
	}
	return fmt.Sprintf("Email of chat #%d set to %s.", number, email), nil
}

// ChatChanged tells a live chat that its record changed outside the
// server (the CLI set the visitor's email or made it a ticket), so that
// #info, #support and the end see the change. Nothing to do for a chat
// that is not live.
func (e *Engine) ChatChanged(ctx context.Context, portal string, number int64) error {
	if _, done, err := forward[chatCall, none](ctx, e, portal, kindChatChanged, chatCall{Portal: portal, Number: number}); done {
		return err
	}
	c := e.chatByNumber(portal, number)
	if c == nil {
		return nil
	}
	err := c.call(ctx, func() error {
		c.reload()
		return nil
	})
	if errors.Is(err, errChatOver) {
		return nil
	}
	return err
}

// TicketOrder is what an agent (#support conasreq, #convert) or an admin
// (ticket create --from-chat) asks of a chat's ticket.
type TicketOrder struct {
	Actor                            string
	Priority, Status, Classification int
	// Department to file the ticket in: "" for the chat's own; another
	// only where the chat's department has desk mode choose.
	Department string
}

// ConvertChat makes a chat a ticket, as an agent; the chat's
// department's desk mode must allow it.
func (e *Engine) ConvertChat(ctx context.Context, portal string, number int64, order TicketOrder) (store.Ticket, error) {
	r := chatCall{Portal: portal, Number: number, Order: &order}
	if t, done, err := forward[chatCall, store.Ticket](ctx, e, portal, kindConvertChat, r); done {
		return t, err
	}
	sc, err := e.chatForDesk(ctx, portal, number)
	if err != nil {
		return store.Ticket{}, err
	}
	if c := e.chatByNumber(portal, number); c != nil {
		var t store.Ticket
		err := c.call(ctx, func() error {
			if err := c.convertible(); err != nil {
				return err
			}
			dept, err := ticketDepartment(c.ctx(), c.e.store, c.info, order.Department)
			if err != nil {
				return err
			}
			t, err = c.createTicket(order, dept, false)
			return userError(err)
		})
		if !errors.Is(err, errChatOver) {
			return t, err
		}
		if sc, err = e.store.Chat(ctx, sc.ID); err != nil { // it ended meanwhile
			return store.Ticket{}, err
		}
	}
	return TicketFromChat(ctx, e.store, sc, order)
}

// TicketFromChat makes a chat that is not live (ended or missed) a
// ticket, with its whole transcript; refusals are *CommandError. The CLI
// (ticket create --from-chat) calls it without a running server.
func TicketFromChat(ctx context.Context, st *store.Store, sc store.Chat, order TicketOrder) (store.Ticket, error) {
	if err := convertibleChat(ctx, st, sc); err != nil {
		return store.Ticket{}, err
	}
	dept, err := ticketDepartment(ctx, st, sc, order.Department)
	if err != nil {
		return store.Ticket{}, err
	}
	evs, err := st.ChatEvents(ctx, sc.ID, 0, false, 0)
	if err != nil {
		return store.Ticket{}, err
	}
	t, err := st.CreateTicket(ctx, store.NewTicket{
		Portal: sc.Portal, Subject: truncate(sc.Question, 120),
		Email: sc.VisitorEmail, Name: sc.VisitorName, Phone: sc.VisitorPhone,
		Department: dept, Priority: order.Priority, Status: order.Status, Classification: order.Classification,
		Channel: "chat", ChatID: sc.ID, Transcript: RenderTranscript(sc, evs), Missed: sc.Status == store.ChatMissed, Actor: order.Actor,
	})
	return t, userError(err)
}

// ticketDepartment is the department a chat's ticket is filed in: the
// chat's own unless want names another and the chat's department has
// desk mode choose (docs/HELPDESK.md §5); the other must exist and make
// tickets.
func ticketDepartment(ctx context.Context, st *store.Store, sc store.Chat, want string) (string, error) {
	if want == "" || equalFold(want, sc.Department) {
		return sc.Department, nil
	}
	mode := store.DeskMapped
	if sc.Department != "" {
		d, err := st.Department(ctx, sc.Portal, sc.Department)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil {
			mode = d.DeskMode
		}
	}
	if mode != store.DeskChoose {
		own := "Chats without a department"
		if sc.Department != "" {
			own = "Department " + sc.Department
		}
		return "", refuse(fmt.Sprintf("%s files tickets in itself (desk mode %s); only a department with desk mode choose lets you pick another.", own, mode))
	}
	d, err := st.Department(ctx, sc.Portal, want)
	if errors.Is(err, store.ErrNotFound) {
		return "", refuse(fmt.Sprintf("There is no department %q; #d lists them.", want))
	}
	if err != nil {
		return "", err
	}
	if d.DeskMode == store.DeskNone || d.DeskMode == store.DeskView {
		return "", refuse(fmt.Sprintf("Department %s takes no new tickets (desk mode %s).", d.Name, d.DeskMode))
	}
	return d.Name, nil
}

// chatForDesk finds a chat of the portal by number, saying so when there
// is none.
func (e *Engine) chatForDesk(ctx context.Context, portal string, number int64) (store.Chat, error) {
	sc, err := e.store.ChatByNumber(ctx, portal, number)
	if errors.Is(err, store.ErrNotFound) {
		return store.Chat{}, refuse(fmt.Sprintf("There is no chat #%d.", number))
	}
	return sc, err
}

// convertible says why a live chat cannot become a ticket, if it cannot.
func (c *Chat) convertible() error {
	return convertibleChat(c.ctx(), c.e.store, c.info)
}

// convertibleChat says why a chat cannot become a ticket, if it cannot:
// its department has no ticket features, it has no email, or it is a
// ticket already.
func convertibleChat(ctx context.Context, st *store.Store, sc store.Chat) error {
	if sc.Department != "" {
		if d, err := st.Department(ctx, sc.Portal, sc.Department); err == nil && d.DeskMode != store.DeskMapped && d.DeskMode != store.DeskChoose {
			return refuse(fmt.Sprintf("Department %s does not make tickets of chats (desk mode %s).", sc.Department, d.DeskMode))
		}
	}
	if sc.VisitorEmail == "" {
		return refuse(fmt.Sprintf("Chat #%d's visitor has no email, and a ticket needs one: add it with #setemail %d EMAIL, then #convert %d again.",
			sc.Number, sc.Number, sc.Number))
	}
	if t, err := st.TicketForChat(ctx, sc.ID); err == nil {
		return refuse(fmt.Sprintf("Chat #%d already belongs to ticket #%d.", sc.Number, t.Number))
	}
	return nil
}

// convertText is the desk's answer to #convert.
func convertText(number int64, t store.Ticket) string {
	in := ""
	if t.Department != "" {
		in = ", department " + t.Department
	}
	return fmt.Sprintf("Ticket #%d created from chat #%d (%s%s).", t.Number, number, commands.FormatPSC(t.Priority, t.Status, t.Classification), in)
}
