package bridge

import (
	"errors"
	"fmt"
	"strings"

	"jabberdesk/commands"
	"jabberdesk/store"
)

// This file is the helpdesk side of a chat (docs/HELPDESK.md): the #support and
// #crm commands, ruled by the department's desk mode, and the automatic
// conversion of chats to tickets by the portal's settings.

// deskMode is the desk mode of the chat's department; a chat without a
// department is "mapped".
func (c *Chat) deskMode() store.DeskMode {
	if c.info.Department == "" {
		return store.DeskMapped
	}
	d, err := c.e.store.Department(c.ctx(), c.portal, c.info.Department)
	if err != nil {
		return store.DeskMapped
	}
	return d.DeskMode
}

// checkDeskMode refuses the helpdesk commands the department's desk mode
// does not allow, saying why and, in desk mode view, which are allowed.
func (c *Chat) checkDeskMode(spec commands.Spec) error {
	switch mode := c.deskMode(); mode {
	case store.DeskNone:
		return refuse("Department " + c.info.Department + " has no ticket features (desk mode none), so " + spec.Invocation() + " is not available here.")
	case store.DeskView:
		if spec.Changes() {
			return refuse("Department " + c.info.Department + " only lets agents view tickets (desk mode view): " + spec.Invocation() +
				" is not allowed; " + viewable(spec.Group()) + " are.")
		}
	}
	return nil
}

// viewable lists the helpdesk commands of group g that change nothing, as
// desk mode view allows them: "#support info, ticketinfo and recentreq".
func viewable(g commands.Group) string {
	var words []string
	for _, s := range commands.Specs() {
		if s.Group() != g || !s.Helpdesk() || s.Changes() {
			continue
		}
		w := s.Invocation()
		if len(words) > 0 {
			w = w[strings.LastIndex(w, " ")+1:]
		}
		words = append(words, w)
	}
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// setEmailCommand is #support setemail: it records the visitor's email
// address.
func (c *Chat) setEmailCommand(_ *member, cmd commands.Command) (string, error) {
	if err := c.e.store.SetChatEmail(c.ctx(), c.id, cmd.Text); err != nil {
		return "", userError(err)
	}
	c.reload()
	return "Email set to " + c.info.VisitorEmail + ".", nil
}

// ticketInfoCommand is #support ticketinfo: the ticket linked to the chat.
func (c *Chat) ticketInfoCommand(_ *member, _ commands.Command) (string, error) {
	t, ok, err := c.linkedTicket()
	if !ok || err != nil {
		return "No ticket for this visitor", err
	}
	return ticketText(t), nil
}

// linkedTicket is the ticket linked to the chat; ok is false when there
// is none.
func (c *Chat) linkedTicket() (t store.Ticket, ok bool, err error) {
	t, err = c.e.store.TicketForChat(c.ctx(), c.id)
	if errors.Is(err, store.ErrNotFound) {
		return t, false, nil
	}
	return t, err == nil, err
}

// recentTicketsCommand is #support recentreq: the visitor's five most
// recent tickets.
func (c *Chat) recentTicketsCommand(_ *member, _ commands.Command) (string, error) {
	if c.info.VisitorEmail == "" {
		return "No recent tickets for this visitor", nil
	}
	ts, err := c.e.store.RecentTickets(c.ctx(), c.portal, c.info.VisitorEmail, 5)
	if err != nil {
		return "", err
	}
	if len(ts) == 0 {
		return "No recent tickets for this visitor", nil
	}
	return ticketList("Recent tickets of "+c.info.VisitorEmail+":", ts), nil
}

// searchTicketsCommand is #support searchreq TERM.
func (c *Chat) searchTicketsCommand(_ *member, cmd commands.Command) (string, error) {
	ts, err := c.e.store.SearchTickets(c.ctx(), c.portal, cmd.Text, 10)
	if err != nil {
		return "", userError(err)
	}
	if len(ts) == 0 {
		return "No tickets match " + cmd.Text, nil
	}
	return ticketList(fmt.Sprintf("Tickets matching %q:", cmd.Text), ts), nil
}

// associateCommand is #support associate ID: it adds the chat to an
// existing ticket.
func (c *Chat) associateCommand(by *member, cmd commands.Command) (string, error) {
	t, err := c.e.store.AssociateChat(c.ctx(), c.portal, cmd.Number, c.id, c.transcript(), by.key)
	if err != nil {
		return "", userError(err)
	}
	return fmt.Sprintf("This chat is now part of ticket #%d (%s); its transcript was added.", t.Number, t.Subject), nil
}

// ticketStatusCommand is #support setreqstatus open|close.
func (c *Chat) ticketStatusCommand(by *member, cmd commands.Command) (string, error) {
	t, ok, err := c.linkedTicket()
	if !ok || err != nil {
		return "No ticket for this visitor: create one with #support conasreq", err
	}
	status := store.TicketOpen
	if cmd.Text == "close" {
		status = store.TicketClosed
	}
	t, err = c.e.store.SetTicketStatus(c.ctx(), c.portal, t.Number, status, by.key)
	if err != nil {
		return "", userError(err)
	}
	return fmt.Sprintf("Ticket #%d is now %s.", t.Number, store.TicketStatuses[t.Status]), nil
}

// userError turns a store error meant for people into a refusal.
func userError(err error) error {
	var ue *store.UserError
	if errors.As(err, &ue) {
		return refuse(ue.Msg)
	}
	return err
}

// reload refreshes the chat's stored details (after the email changed).
func (c *Chat) reload() {
	sc, err := c.e.store.Chat(c.ctx(), c.id)
	if err != nil {
		c.logStoreError("reload chat", err)
		return
	}
	sc.Status = c.info.Status
	c.info = sc
}

// convertCommand is #support conasreq [PSC] ["DEPARTMENT"]: it makes the
// chat a ticket.
func (c *Chat) convertCommand(m *member, cmd commands.Command) (string, error) {
	if c.info.VisitorEmail == "" {
		return "", refuse("This visitor has no email, and a ticket needs one: add it with #support setemail EMAIL, then #support conasreq again.")
	}
	if t, err := c.e.store.TicketForChat(c.ctx(), c.id); err == nil {
		return "", refuse(fmt.Sprintf("This chat already belongs to ticket #%d; see #support ticketinfo.", t.Number))
	}
	dept, err := ticketDepartment(c.ctx(), c.e.store, c.info, cmd.Department)
	if err != nil {
		return "", err
	}
	order := TicketOrder{Actor: m.key, Priority: cmd.Priority, Status: cmd.Status, Classification: cmd.Classification}
	t, err := c.createTicket(order, dept, false)
	if err != nil {
		return "", userError(err)
	}
	return fmt.Sprintf("Ticket #%d created (%s)%s", t.Number, commands.FormatPSC(t.Priority, t.Status, t.Classification), filedIn(t.Department, c.info.Department)), nil
}

// createTicket makes a ticket of the chat in department dept, with its
// transcript so far (completed when the chat ends).
func (c *Chat) createTicket(order TicketOrder, dept string, missed bool) (store.Ticket, error) {
	return c.e.store.CreateTicket(c.ctx(), store.NewTicket{
		Portal: c.portal, Subject: truncate(c.info.Question, 120),
		Email: c.info.VisitorEmail, Name: c.info.VisitorName, Phone: c.info.VisitorPhone,
		Department: dept, Priority: order.Priority, Status: order.Status, Classification: order.Classification,
		Channel: "chat", ChatID: c.id, Transcript: c.transcript(), Missed: missed, Actor: order.Actor,
	})
}

// filedIn says " in department D" when a ticket went to another
// department than the chat's.
func filedIn(ticketDept, chatDept string) string {
	if ticketDept == "" || equalFold(ticketDept, chatDept) {
		return ""
	}
	return " in department " + ticketDept
}

// transcript renders the chat for a ticket thread.
func (c *Chat) transcript() string {
	evs, err := c.e.store.ChatEvents(c.ctx(), c.id, 0, false, 0)
	if err != nil {
		c.logStoreError("read transcript", err)
		return ""
	}
	return RenderTranscript(c.info, evs)
}

// supportInfoCommand is #support info: contact, account, SLA, contract,
// owner and ticket counts.
func (c *Chat) supportInfoCommand(_ *member, _ commands.Command) (string, error) {
	if c.info.VisitorEmail == "" {
		return "No support information for this visitor", nil
	}
	ct, err := c.e.store.ContactByEmail(c.ctx(), c.portal, c.info.VisitorEmail)
	if errors.Is(err, store.ErrNotFound) {
		return "No support information for this visitor", nil
	}
	if err != nil {
		return "", err
	}
	total, overdue, err := c.e.store.TicketCounts(c.ctx(), c.portal, ct.Email)
	if err != nil {
		return "", err
	}
	lines := []string{"Contact: " + ct.Name + " <" + ct.Email + ">"}
	if ct.Account != "" {
		a, err := c.e.store.AccountByName(c.ctx(), c.portal, ct.Account)
		if err == nil {
			lines = append(lines, "Account: "+a.Name, "SLA: "+dashIfEmpty(a.SLAName)+slaHours(a), "Contract: "+dashIfEmpty(a.ContractName))
		}
	} else {
		lines = append(lines, "Account: —")
	}
	lines = append(lines, "Owner: "+dashIfEmpty(ct.Owner), fmt.Sprintf("Tickets: %d, overdue: %d", total, overdue))
	return strings.Join(lines, "\n"), nil
}

func slaHours(a store.Account) string {
	var parts []string
	if a.ResponseHours > 0 {
		parts = append(parts, fmt.Sprintf("response %d h", a.ResponseHours))
	}
	if a.ResolutionHours > 0 {
		parts = append(parts, fmt.Sprintf("resolution %d h", a.ResolutionHours))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// crmInfoCommand is #crm info: the visitor's contact record.
func (c *Chat) crmInfoCommand(_ *member, _ commands.Command) (string, error) {
	if c.info.VisitorEmail == "" {
		return "No CRM information for this visitor", nil
	}
	ct, err := c.e.store.ContactByEmail(c.ctx(), c.portal, c.info.VisitorEmail)
	if errors.Is(err, store.ErrNotFound) {
		return "No CRM information for this visitor", nil
	}
	if err != nil {
		return "", err
	}
	return strings.Join([]string{"Name: " + ct.Name, "Email: " + ct.Email, "Phone: " + dashIfEmpty(ct.Phone),
		"Account: " + dashIfEmpty(ct.Account), "Owner: " + dashIfEmpty(ct.Owner)}, "\n"), nil
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ticketText is #support ticketinfo.
func ticketText(t store.Ticket) string {
	due := ""
	if t.DueAt != nil {
		due = "\nDue: " + t.DueAt.Local().Format("2006-01-02 15:04")
		if t.Overdue {
			due += " (overdue)"
		}
	}
	return fmt.Sprintf("Ticket #%d: %s\nStatus: %s\nPriority: %s\nClassification: %s\nDepartment: %s\nContact: %s <%s>%s",
		t.Number, t.Subject, store.TicketStatuses[t.Status], store.TicketPriorities[t.Priority],
		store.TicketClassifications[t.Classification], dashIfEmpty(t.Department), t.ContactName, t.ContactEmail, due)
}

func ticketList(title string, ts []store.Ticket) string {
	lines := []string{title}
	for _, t := range ts {
		lines = append(lines, fmt.Sprintf("#%d %s — %s, %s — %s", t.Number, truncate(t.Subject, 60), store.TicketStatuses[t.Status],
			store.TicketPriorities[t.Priority], t.CreatedAt.Local().Format("2006-01-02")))
	}
	return strings.Join(lines, "\n")
}

// autoConvert converts the chat to a ticket when the portal's settings
// say so (docs/HELPDESK.md §6); moment is "accept", "end" or "missed". A chat whose
// visitor has no email is flagged instead; a department in desk mode none
// never converts.
func (c *Chat) autoConvert(moment string) {
	set, err := c.e.store.Conversion(c.ctx(), c.portal)
	if err != nil {
		c.logStoreError("read conversion settings", err)
		return
	}
	missed := moment == "missed"
	switch {
	case set.Which == "none":
		return
	case missed && set.Which != "all" && set.Which != "missed":
		return
	case !missed && set.Which != "all" && set.Which != "attended":
		return
	case !missed && set.When != moment:
		return
	}
	if c.deskMode() == store.DeskNone {
		return
	}
	if _, err := c.e.store.TicketForChat(c.ctx(), c.id); err == nil {
		return // an agent made one already
	}
	if c.info.VisitorEmail == "" {
		c.logStoreError("flag chat", c.e.store.FlagChat(c.ctx(), c.id, "the visitor has no email"))
		return
	}
	status := store.TicketOpen
	if set.Status == "closed" {
		status = store.TicketClosed
	}
	t, err := c.createTicket(TicketOrder{Actor: "auto", Status: status}, c.info.Department, missed)
	if err != nil {
		c.logStoreError("convert chat to ticket", err)
		return
	}
	for _, m := range c.members {
		c.tell(m.key, fmt.Sprintf("This chat became ticket #%d.", t.Number))
	}
}

// completeTicket brings the transcript of the chat's ticket up to date
// when the chat ends.
func (c *Chat) completeTicket() {
	if err := c.e.store.CompleteTranscript(c.ctx(), c.id, c.transcript()); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.logStoreError("complete ticket transcript", err)
	}
}
