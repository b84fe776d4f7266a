package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/bridge"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newChatCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "List visitor chats and show their transcripts",
		Long: `Visitor chats are started by website visitors through the widget or the
visitor API, and by customers who write to one of the portal's IM channels
(WhatsApp, Telegram, LINE, Messenger, Instagram). Each has a per-portal
visitor number (#1042); its contact in agents' rosters is
PORTAL|v-1042@DOMAIN. A chat is waiting (for an agent), offered, active,
ended or missed (nobody accepted it in time).`,
		Example: `  jabberdesk chat list acme
  jabberdesk chat list acme --view unassigned --channel whatsapp --json
  jabberdesk chat show acme 1042`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newChatListCmd(e), newChatShowCmd(e))
	return cmd
}

// chatRow is a line of chat list.
type chatRow struct {
	Number      int64  `json:"number"`
	Status      string `json:"status"`
	Visitor     string `json:"visitor"`
	Email       string `json:"email,omitempty"`
	Channel     string `json:"channel,omitempty"`      // the channel's name; "" for a web visitor
	ChannelType string `json:"channel_type,omitempty"` // whatsapp, telegram, …; "" for a web visitor
	Department  string `json:"department,omitempty"`
	Agents      string `json:"agents,omitempty"`
	ReplyState  string `json:"reply_state,omitempty"` // replied (an agent wrote last), unreplied (the visitor did), or "" (nobody wrote)
	Question    string `json:"question"`
	Created     string `json:"created_at"`
	EndReason   string `json:"end_reason,omitempty"`
}

func newChatRow(c store.Chat) chatRow {
	r := chatRow{Number: c.Number, Status: string(c.Status), Visitor: c.VisitorName, Email: c.VisitorEmail,
		Channel: c.Channel, ChannelType: string(c.ChannelType), Department: c.Department, Agents: agentNames(c),
		Question: c.Question, Created: c.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), EndReason: c.EndReason}
	switch c.LastMessageFrom {
	case store.AuthorAgent:
		r.ReplyState = string(store.Replied)
	case store.AuthorVisitor:
		r.ReplyState = string(store.Unreplied)
	}
	return r
}

// channel is where the chat came from: "wa-sales (whatsapp)", or "web".
func (r chatRow) channel() string {
	if r.Channel == "" {
		return store.WebChannel
	}
	return r.Channel + " (" + r.ChannelType + ")"
}

func agentNames(c store.Chat) string {
	var names []string
	for _, a := range c.Agents {
		names = append(names, a.Username)
	}
	return strings.Join(names, ",")
}

// chatListFlags are chat list's options.
type chatListFlags struct {
	view               store.ChatView
	status             store.ChatStatus
	reply              store.ReplyState
	replied, unreplied bool
	channel, agent     string
	limit              int
}

// query checks the options and makes the store's query of them.
func (f chatListFlags) query(portal string) (store.ChatQuery, error) {
	q := store.ChatQuery{Portal: portal, View: f.view, Agent: f.agent, Reply: f.reply, Channel: f.channel, Status: f.status, Limit: f.limit}
	if f.limit < 1 || f.limit > store.ChatViewMax {
		return q, usagef("--limit must be 1 to %d, got %d", store.ChatViewMax, f.limit)
	}
	n := 0
	for _, set := range []bool{f.replied, f.unreplied, f.reply != store.ReplyAny} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return q, usagef("--replied, --unreplied and --reply-state each choose the reply state: give one of them")
	case f.replied:
		q.Reply = store.Replied
	case f.unreplied:
		q.Reply = store.Unreplied
	}
	switch {
	case f.view == store.ViewMine && f.agent == "":
		return q, usagef("--view mine needs --agent USERNAME: whose chats to list")
	case f.view != store.ViewMine && f.agent != "":
		return q, usagef("--agent goes with --view mine")
	}
	return q, nil
}

func newChatListCmd(e *env) *cobra.Command {
	f := chatListFlags{view: store.ViewAll}
	cmd := &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's chats by view, newest first",
		Long: `List shows the newest chats of a portal, each with its channel (the
channel's name and type, or web), as agents see them with #chats on the
Desk contact. --view keeps a view: all (the default), mine (the chats an
agent is in now; name them with --agent), unassigned (waiting or offered),
active, live (waiting, offered or active), ended (ended or missed), blocked
(the chats of blocked customers, and chats that ended with a block).
--replied keeps the chats where an agent wrote last, --unreplied those
where the visitor or customer did (or --reply-state replied|unreplied).
--channel keeps one channel's chats (by name), a type's (whatsapp,
telegram, line, messenger, instagram), or web. --status keeps only
waiting, offered, active, ended or missed ones. At most --limit chats are
listed; how many more there are is said (on standard error with --json).`,
		Example: `  jabberdesk chat list acme
  jabberdesk chat list acme --view unassigned --channel whatsapp
  jabberdesk chat list acme --view ended --unreplied --channel wa-sales --json
  jabberdesk chat list acme --view mine --agent fiona.b
  jabberdesk chat list acme --status missed --limit 20`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query(args[0])
			if err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			l, err := st.ChatsInView(cmd.Context(), q)
			if err != nil {
				return err
			}
			return e.emitChatList(cmd, l)
		},
	}
	fs := cmd.Flags()
	choiceVar(fs, &f.view, "view", "VIEW", store.ParseChatView, "the view: all, mine (with --agent), unassigned, active, live, ended or blocked")
	fs.StringVar(&f.agent, "agent", "", "--view mine: the agent's `USERNAME`")
	fs.BoolVar(&f.replied, "replied", false, "only chats where an agent wrote last")
	fs.BoolVar(&f.unreplied, "unreplied", false, "only chats where the visitor or customer wrote last")
	choiceVar(fs, &f.reply, "reply-state", "STATE", store.ParseReplyState, "replied or unreplied, as --replied or --unreplied")
	fs.StringVar(&f.channel, "channel", "", "only the chats of a channel (its `NAME`), of a type (whatsapp, …), or web")
	choiceVar(fs, &f.status, "status", "status", store.ParseChatStatus, "only chats in this status: waiting, offered, active, ended, missed")
	fs.IntVar(&f.limit, "limit", 50, "at most this many chats")
	return cmd
}

// emitChatList prints a chat listing, and says how many chats it left
// out (on standard error with --json, which stays a list of chats).
func (e *env) emitChatList(cmd *cobra.Command, l store.ChatList) error {
	rows := make([]chatRow, 0, len(l.Chats))
	for _, c := range l.Chats {
		rows = append(rows, newChatRow(c))
	}
	more := ""
	if n := l.More(); n > 0 {
		more = fmt.Sprintf("…and %d more; raise --limit (at most %d) or narrow the view.", n, store.ChatViewMax)
	}
	err := e.emit(cmd, rows, func(w *textout.Writer) error {
		if len(rows) == 0 {
			_, err := fmt.Fprintln(w, "No chats.")
			return err
		}
		tw := newTable(w)
		tw.Println("NUMBER\tSTATUS\tVISITOR\tCHANNEL\tDEPARTMENT\tAGENTS\tSTARTED\tQUESTION")
		for i, r := range rows {
			tw.Printf("#%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Status, r.Visitor, r.channel(), dash(r.Department), dash(r.Agents),
				formatTime(l.Chats[i].CreatedAt), oneLine(r.Question, 50))
		}
		if err := tw.Flush(); err != nil || more == "" {
			return err
		}
		_, err := fmt.Fprintln(w, more)
		return err
	})
	if err != nil || more == "" || !e.jsonOut {
		return err
	}
	w := textout.New(cmd.ErrOrStderr())
	w.Println(more)
	return w.Err()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// transcript is what chat show prints.
type transcript struct {
	store.Chat
	Lines []transcriptLine `json:"transcript"`
}

type transcriptLine struct {
	At     string `json:"at"`
	Author string `json:"author"`
	Kind   string `json:"kind"`
	Type   string `json:"type"`
	Text   string `json:"text"`
}

func newChatShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show PORTAL NUMBER",
		Short: "Show a chat's details and transcript",
		Long: `Show prints the chat's details (visitor, department, times, agents) and
its transcript: every message with its time and author, and the system
lines (agent joined, chat ended, …).`,
		Example: `  jabberdesk chat show acme 1042
  jabberdesk chat show acme 1042 --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			number, err := strconv.ParseInt(strings.TrimPrefix(args[1], "#"), 10, 64)
			if err != nil || number <= 0 {
				return usagef("NUMBER must be a visitor number like 1042, got %q", args[1])
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			c, err := st.ChatByNumber(cmd.Context(), args[0], number)
			if err != nil {
				return err
			}
			evs, err := st.ChatEvents(cmd.Context(), c.ID, 0, false, 0)
			if err != nil {
				return err
			}
			tr := transcript{Chat: c, Lines: make([]transcriptLine, 0, len(evs))}
			for _, ev := range evs {
				author := ev.AuthorName
				switch ev.AuthorKind {
				case "visitor":
					author = c.VisitorName + " (visitor)"
				case "system":
					author = "system"
				}
				text := ev.Text
				if text == "" {
					text = strings.ReplaceAll(ev.Type, "_", " ")
					if ev.Data != "" {
						text += " " + ev.Data
					}
				}
				tr.Lines = append(tr.Lines, transcriptLine{At: ev.At.Format("2006-01-02T15:04:05Z07:00"), Author: author, Kind: ev.AuthorKind, Type: ev.Type, Text: text})
			}
			return e.emit(cmd, tr, func(w *textout.Writer) error { return printTranscript(w, c, evs) })
		},
	}
}

// printTranscript prints the chat's details and its transcript as a
// ticket's thread shows it (bridge.RenderTranscript).
func printTranscript(w *textout.Writer, c store.Chat, evs []store.ChatEvent) error {
	w.Printf("Chat #%d of portal %s: %s\n", c.Number, c.Portal, c.Status)
	w.Printf("Visitor:    %s %s %s\n", c.VisitorName, dash(c.VisitorEmail), c.VisitorPhone)
	w.Printf("Department: %s\nQuestion:   %s\n", dash(c.Department), c.Question)
	w.Printf("From:       %s, %s on %s, page %s\n", dash(c.IP), dash(c.Browser), dash(c.OS), dash(bridge.WebAddress(c.PageURL)))
	w.Printf("Started:    %s\n", formatTime(c.CreatedAt))
	if c.EndedAt != nil {
		w.Printf("Ended:      %s (%s)\n", formatTime(*c.EndedAt), c.EndReason)
	}
	w.Printf("Agents:     %s\n\n", dash(agentNames(c)))
	_, err := io.WriteString(w, bridge.RenderTranscript(c, evs))
	return err
}
