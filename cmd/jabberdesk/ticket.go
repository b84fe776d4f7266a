package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/bridge"
	"jabberdesk/commands"
	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

// ticketSearchLimit is the most tickets ticket search prints.
const ticketSearchLimit = 20

// flaggedHint says how to turn flagged chat n (a number, or "N") of a
// portal into a ticket: the chat is usually over, so not from its window.
func flaggedHint(portal, n string) string {
	return fmt.Sprintf("on the Desk contact, #setemail %s EMAIL then #convert %s; or jabberdesk ticket create %s --from-chat %s --email EMAIL", n, n, portal, n)
}

// The views of ticket list: the store's views and the flagged chats.
var ticketViewNames = []string{"open", "missed", "flagged", "closed", "all"}

const viewFlagged = "flagged"

// ticketView is a view of ticket list.
type ticketView string

func parseTicketView(s string) (ticketView, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, name := range ticketViewNames {
		if v == name {
			return ticketView(v), nil
		}
	}
	return "", &store.UserError{Msg: fmt.Sprintf("view %q is not one of %s", s, strings.Join(ticketViewNames, ", ")), Kind: store.ErrInvalid}
}

func newTicketCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ticket",
		Short: "List, show, search tickets and change their status",
		Long: `Tickets are the helpdesk's requests. Agents make them from a chat with
#support conasreq, or the portal makes them automatically when a chat is
accepted or ends (see: jabberdesk settings --help). Each ticket has a
per-portal number (#1, #2, ...), a subject, a contact (found by email), a
department, and:

  priority        none, low, medium, high
  status          open, on hold, escalated, closed
  classification  none, question, problem, feature, others

A ticket of a contact whose account has an SLA is due the SLA's resolution
hours after it was made, and overdue once that time has passed and it is
not closed. Its thread holds the transcripts of its chats, notes and status
changes, oldest first.`,
		Example: `  jabberdesk ticket list acme
  jabberdesk ticket list acme --view missed --json
  jabberdesk ticket list acme --view flagged
  jabberdesk ticket show acme 12
  jabberdesk ticket set-status acme 12 closed
  jabberdesk ticket search acme ann@example.com`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newTicketListCmd(e), newTicketShowCmd(e), newTicketCreateCmd(e), newTicketSetStatusCmd(e), newTicketSearchCmd(e))
	return cmd
}

// ticketNumber reads a ticket number argument, "12" or "#12".
func ticketNumber(arg string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, usagef("N must be a ticket number like 12, got %q", arg)
	}
	return n, nil
}

// codeWord is the word of a ticket code; a code outside the table shows
// as its digits.
func codeWord(words []string, code int) string {
	if code >= 0 && code < len(words) {
		return words[code]
	}
	return strconv.Itoa(code)
}

func statusWord(code int) string         { return codeWord(store.TicketStatuses[:], code) }
func priorityWord(code int) string       { return codeWord(store.TicketPriorities[:], code) }
func classificationWord(code int) string { return codeWord(store.TicketClassifications[:], code) }

// ticketContact is how a ticket's contact appears in tables.
func ticketContact(t store.Ticket) string {
	if t.ContactName == "" {
		return t.ContactEmail
	}
	return t.ContactName + " <" + t.ContactEmail + ">"
}

// ticketDue is how a ticket's due time appears: "-" without an SLA.
func ticketDue(t store.Ticket) string {
	if t.DueAt == nil {
		return "-"
	}
	if t.Overdue {
		return formatTime(*t.DueAt) + " (overdue)"
	}
	return formatTime(*t.DueAt)
}

func printTickets(w io.Writer, ts []store.Ticket) error {
	tw := newTable(w)
	tw.Println("NUMBER\tSTATUS\tPRIORITY\tCLASSIFICATION\tSUBJECT\tCONTACT\tDEPARTMENT\tCREATED\tDUE")
	for _, t := range ts {
		tw.Printf("#%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, statusWord(t.Status), priorityWord(t.Priority),
			classificationWord(t.Classification), oneLine(t.Subject, 40), ticketContact(t), dash(t.Department),
			formatTime(t.CreatedAt), ticketDue(t))
	}
	return tw.Flush()
}

// flaggedRow is a line of ticket list --view flagged.
type flaggedRow struct {
	Number     int64  `json:"number"`
	Visitor    string `json:"visitor"`
	Department string `json:"department,omitempty"`
	Question   string `json:"question"`
	Status     string `json:"status"`
	Created    string `json:"created_at"`
	Hint       string `json:"hint"`
}

func newTicketListCmd(e *env) *cobra.Command {
	view := ticketView("open")
	var limit int
	cmd := &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's tickets in a view, newest first",
		Long: `List prints the tickets of a view, newest first: number, status, priority,
classification, subject, contact, department, when it was made and when it
is due. The views are:

  open      tickets that are not closed (default)
  missed    tickets made from missed chats, in any status (the Missed chats view)
  closed    closed tickets
  all       every ticket
  flagged   not tickets: chats that could not become tickets automatically
            because the visitor gave no email. An agent converts one on the
            Desk contact with #setemail N EMAIL then #convert N, or:
            jabberdesk ticket create PORTAL --from-chat N --email EMAIL

With --json the tickets have priority, status and classification as words
and "overdue" worked out as of now.`,
		Example: `  jabberdesk ticket list acme
  jabberdesk ticket list acme --view missed
  jabberdesk ticket list acme --view flagged
  jabberdesk ticket list acme --view all --limit 500 --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit <= 0 {
				return usagef("--limit must be at least 1, got %d", limit)
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			portal := args[0]
			if view == viewFlagged {
				chats, err := st.FlaggedChats(cmd.Context(), portal)
				if err != nil {
					return err
				}
				chats = chats[:min(len(chats), limit)]
				rows := make([]flaggedRow, 0, len(chats))
				for _, c := range chats {
					rows = append(rows, flaggedRow{Number: c.Number, Visitor: c.VisitorName, Department: c.Department, Question: c.Question,
						Status: string(c.Status), Created: c.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), Hint: flaggedHint(portal, strconv.FormatInt(c.Number, 10))})
				}
				return e.emit(cmd, rows, func(w *textout.Writer) error {
					if len(rows) == 0 {
						_, err := fmt.Fprintf(w, "No flagged chats in portal %s: every chat that was to become a ticket did.\n", portal)
						return err
					}
					tw := newTable(w)
					tw.Println("NUMBER\tVISITOR\tDEPARTMENT\tSTATUS\tSTARTED\tQUESTION")
					for i, r := range rows {
						tw.Printf("#%d\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Visitor, dash(r.Department), r.Status,
							formatTime(chats[i].CreatedAt), oneLine(r.Question, 50))
					}
					if err := tw.Flush(); err != nil {
						return err
					}
					_, err := fmt.Fprintf(w, "\nThese chats have no visitor email, so they could not become tickets. To convert chat N: %s.\n", flaggedHint(portal, "N"))
					return err
				})
			}
			ts, err := st.Tickets(cmd.Context(), portal, string(view), limit)
			if err != nil {
				return err
			}
			return e.emit(cmd, ts, func(w *textout.Writer) error {
				if len(ts) == 0 {
					_, err := fmt.Fprintf(w, "No tickets in the %s view of portal %s.\n", view, portal)
					return err
				}
				return printTickets(w, ts)
			})
		},
	}
	choiceVar(cmd.Flags(), &view, "view", "VIEW", parseTicketView, "which tickets: open, missed, flagged, closed or all")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most `N` tickets")
	return cmd
}

// ticketDetail is what ticket show prints: the ticket with its thread.
type ticketDetail struct {
	store.Ticket
	Thread []store.ThreadEntry `json:"thread"`
}

// MarshalJSON writes the ticket as store.Ticket does (codes as words),
// with the thread added.
func (d ticketDetail) MarshalJSON() ([]byte, error) {
	t, err := json.Marshal(d.Ticket)
	if err != nil {
		return nil, err
	}
	th, err := json.Marshal(d.Thread)
	if err != nil {
		return nil, err
	}
	t = bytes.TrimSuffix(bytes.TrimSpace(t), []byte("}"))
	return append(append(append(t, `,"thread":`...), th...), '}'), nil
}

func newTicketShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show PORTAL N",
		Short: "Show a ticket and its thread",
		Long: `Show prints a ticket's details (subject, contact, department, priority,
status, classification, channel, chats, times) and its thread, oldest
first: the transcripts of its chats and every status change with who
made it.`,
		Example: `  jabberdesk ticket show acme 12
  jabberdesk ticket show acme '#12' --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			number, err := ticketNumber(args[1])
			if err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			t, err := st.Ticket(cmd.Context(), args[0], number)
			if err != nil {
				return err
			}
			thread, err := st.TicketThread(cmd.Context(), t.ID)
			if err != nil {
				return err
			}
			d := ticketDetail{Ticket: t, Thread: thread}
			return e.emit(cmd, d, func(w *textout.Writer) error { return printTicket(w, d) })
		},
	}
}

func printTicket(w *textout.Writer, d ticketDetail) error {
	t := d.Ticket
	tw := newTable(w)
	tw.Printf("Ticket\t#%d of portal %s\n", t.Number, t.Portal)
	tw.Printf("Subject\t%s\n", oneLine(t.Subject, store.TicketSubjectMax))
	tw.Printf("Status\t%s\n", statusWord(t.Status))
	tw.Printf("Priority\t%s\n", priorityWord(t.Priority))
	tw.Printf("Classification\t%s\n", classificationWord(t.Classification))
	tw.Printf("Contact\t%s\n", ticketContact(t))
	tw.Printf("Department\t%s\n", dash(t.Department))
	channel := t.Channel
	if t.Missed {
		channel += " (missed chat)"
	}
	tw.Printf("Channel\t%s\n", channel)
	var chats []string
	for _, n := range t.ChatNumbers {
		chats = append(chats, fmt.Sprintf("#%d", n))
	}
	tw.Printf("Chats\t%s\n", dash(strings.Join(chats, ", ")))
	tw.Printf("Created\t%s\n", formatTime(t.CreatedAt))
	tw.Printf("Updated\t%s\n", formatTime(t.UpdatedAt))
	tw.Printf("Due\t%s\n", ticketDue(t))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Thread) == 0 {
		_, err := fmt.Fprintln(w, "\nThe thread is empty.")
		return err
	}
	w.Println("\nThread:")
	for _, en := range d.Thread {
		at := formatTime(en.CreatedAt)
		switch en.Kind {
		case store.ThreadTranscript:
			chat := "a chat that no longer exists"
			if en.ChatNumber != 0 {
				chat = fmt.Sprintf("chat #%d", en.ChatNumber)
			}
			w.Printf("\n[%s] transcript of %s (added by %s):\n", at, chat, en.Author)
		case store.ThreadNote:
			w.Printf("\n[%s] note by %s:\n", at, en.Author)
		default:
			w.Printf("\n[%s] %s by %s\n", at, en.Body, en.Author)
			continue
		}
		body := strings.TrimRight(en.Body, "\n")
		if strings.TrimSpace(body) == "" {
			body = "(empty)"
		}
		for _, line := range strings.Split(body, "\n") {
			w.Printf("  %s\n", line)
		}
	}
	return nil
}

func newTicketCreateCmd(e *env) *cobra.Command {
	var chat int64
	var psc, email, dept string
	cmd := &cobra.Command{
		Use:   "create PORTAL",
		Short: "Make a chat a ticket (--from-chat N), live, ended or missed",
		Long: `Create makes chat N a ticket with its transcript, as #convert on the Desk
contact does: for a chat that ended or was missed, say a flagged one whose
visitor left no email (give it with --email), or a live one (the running
server is told: the agents see the email, and the rest of the chat goes to
the ticket when it ends). --psc sets priority, status
and classification as three digits: ` + commands.PSCCodes() + `.
The department's desk mode must allow tickets; a chat that is a ticket
already is refused. The ticket goes to the chat's department, or with
--dept to another where the chat's department has desk mode choose.`,
		Example: `  jabberdesk ticket create acme --from-chat 1042
  jabberdesk ticket create acme --from-chat 1042 --email ann@example.com --psc 112
  jabberdesk ticket create acme --from-chat 1042 --dept Billing
  jabberdesk ticket create acme --from-chat 1042 --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if chat <= 0 {
				return usagef("--from-chat N names the chat to make a ticket of")
			}
			p, s, c, ok := commands.ParsePSC(psc)
			if !ok {
				return usagef("--psc %q is not valid: %s", psc, commands.PSCCodes())
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			sc, err := st.ChatByNumber(cmd.Context(), args[0], chat)
			if err != nil {
				return err
			}
			// A live chat reloads its record: #info shows the email, and
			// the rest of the transcript goes to the ticket at its end.
			changed := control.Event{Op: control.OpChatChanged, Portal: sc.Portal, Chat: sc.Number}
			if email != "" {
				if err := st.SetChatEmail(cmd.Context(), sc.ID, email); err != nil {
					return err
				}
				if sc, err = st.Chat(cmd.Context(), sc.ID); err != nil {
					return err
				}
			}
			t, err := bridge.TicketFromChat(cmd.Context(), st, sc, bridge.TicketOrder{Actor: actor(), Priority: p, Status: s, Classification: c, Department: dept})
			if email != "" || err == nil {
				e.notifyEvent(cmd, changed)
			}
			if err != nil {
				return err
			}
			return e.emit(cmd, t, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Ticket #%d of portal %s created from chat #%d (%s).\n", t.Number, t.Portal, chat,
					commands.FormatPSC(t.Priority, t.Status, t.Classification))
				return err
			})
		},
	}
	cmd.Flags().Int64Var(&chat, "from-chat", 0, "the chat's number, `N`")
	cmd.Flags().StringVar(&psc, "psc", "", "priority, status and classification digits, like 112")
	cmd.Flags().StringVar(&email, "email", "", "the visitor's email address, if the chat has none")
	cmd.Flags().StringVar(&dept, "dept", "", "file the ticket in `DEPARTMENT` (where the chat's department has desk mode choose)")
	return cmd
}

func newTicketSetStatusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "set-status PORTAL N STATUS",
		Short: "Change a ticket's status",
		Long: fmt.Sprintf(`Set-status changes a ticket's status to STATUS: one of %s, or its code 0
to 3 ("close" and "reopen" work too). The change is added to the ticket's
thread and recorded in the audit log with who made it.`, strings.Join(store.TicketStatuses[:], ", ")),
		Example: `  jabberdesk ticket set-status acme 12 closed
  jabberdesk ticket set-status acme 12 "on hold"
  jabberdesk ticket set-status acme 12 reopen --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			number, err := ticketNumber(args[1])
			if err != nil {
				return err
			}
			status, err := store.ParseTicketStatus(args[2])
			if err != nil {
				return &usageError{err}
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			before, err := st.Ticket(cmd.Context(), args[0], number)
			if err != nil {
				return err
			}
			t, err := st.SetTicketStatus(cmd.Context(), args[0], number, status, actor())
			if err != nil {
				return err
			}
			return e.emit(cmd, t, func(w *textout.Writer) error {
				var err error
				if before.Status == t.Status {
					_, err = fmt.Fprintf(w, "Ticket #%d of portal %s is %s already; nothing changed.\n", t.Number, t.Portal, statusWord(t.Status))
				} else {
					_, err = fmt.Fprintf(w, "Ticket #%d of portal %s: status %s → %s.\n", t.Number, t.Portal,
						statusWord(before.Status), statusWord(t.Status))
				}
				return err
			})
		},
	}
}

func newTicketSearchCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "search PORTAL TERM",
		Short: "Find tickets by email, number or words",
		Long: fmt.Sprintf(`Search finds a portal's tickets, newest first, at most %d:
  an email         the tickets of the contact with that email (ignoring case)
  a number         that ticket (12 or #12)
  words            tickets with every word (ignoring case) in the subject
                   or in the contact's name; quote several words as one TERM`, ticketSearchLimit),
		Example: `  jabberdesk ticket search acme ann@example.com
  jabberdesk ticket search acme '#12'
  jabberdesk ticket search acme "printer jam" --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			ts, err := st.SearchTickets(cmd.Context(), args[0], args[1], ticketSearchLimit)
			if err != nil {
				return err
			}
			return e.emit(cmd, ts, func(w *textout.Writer) error {
				if len(ts) == 0 {
					_, err := fmt.Fprintf(w, "No tickets of portal %s match %q.\n", args[0], args[1])
					return err
				}
				return printTickets(w, ts)
			})
		},
	}
}
