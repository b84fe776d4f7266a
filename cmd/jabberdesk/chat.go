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
visitor API. Each has a per-portal visitor number (#1042); its contact in
agents' rosters is PORTAL|v-1042@DOMAIN. A chat is waiting (for an agent),
offered, active, ended or missed (nobody accepted it in time).`,
		Example: `  jabberdesk chat list acme
  jabberdesk chat list acme --status active --json
  jabberdesk chat show acme 1042`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newChatListCmd(e), newChatShowCmd(e))
	return cmd
}

// chatRow is a line of chat list.
type chatRow struct {
	Number     int64  `json:"number"`
	Status     string `json:"status"`
	Visitor    string `json:"visitor"`
	Email      string `json:"email,omitempty"`
	Department string `json:"department,omitempty"`
	Agents     string `json:"agents,omitempty"`
	Question   string `json:"question"`
	Created    string `json:"created_at"`
	EndReason  string `json:"end_reason,omitempty"`
}

func agentNames(c store.Chat) string {
	var names []string
	for _, a := range c.Agents {
		names = append(names, a.Username)
	}
	return strings.Join(names, ",")
}

func newChatListCmd(e *env) *cobra.Command {
	var status store.ChatStatus
	var limit int
	cmd := &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's chats, newest first",
		Long:  `List shows the newest chats of a portal; --status keeps only waiting, offered, active, ended or missed ones.`,
		Example: `  jabberdesk chat list acme
  jabberdesk chat list acme --status missed --limit 20
  jabberdesk chat list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if _, err := st.Portal(cmd.Context(), args[0]); err != nil {
				return err
			}
			chats, err := st.Chats(cmd.Context(), args[0], status, limit)
			if err != nil {
				return err
			}
			rows := make([]chatRow, 0, len(chats))
			for _, c := range chats {
				rows = append(rows, chatRow{Number: c.Number, Status: string(c.Status), Visitor: c.VisitorName, Email: c.VisitorEmail,
					Department: c.Department, Agents: agentNames(c), Question: c.Question, Created: c.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), EndReason: c.EndReason})
			}
			return e.emit(cmd, rows, func(w *textout.Writer) error {
				if len(rows) == 0 {
					_, err := fmt.Fprintln(w, "No chats.")
					return err
				}
				tw := newTable(w)
				tw.Println("NUMBER\tSTATUS\tVISITOR\tDEPARTMENT\tAGENTS\tSTARTED\tQUESTION")
				for i, r := range rows {
					tw.Printf("#%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Status, r.Visitor, dash(r.Department), dash(r.Agents),
						formatTime(chats[i].CreatedAt), oneLine(r.Question, 50))
				}
				return tw.Flush()
			})
		},
	}
	choiceVar(cmd.Flags(), &status, "status", "status", store.ParseChatStatus, "only chats in this status: waiting, offered, active, ended, missed")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many chats")
	return cmd
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
