package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newBlockCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "block",
		Short: "List, add and remove blocked visitor IP addresses",
		Long: `A portal refuses new chats from a blocked IP address: the widget and the
visitor API answer 403 until the block is removed. Agents block the address
of the visitor they are chatting with by typing #b REASON in the chat; the
chat then ends. Here an administrator lists the blocks, lifts them, and can
block an address up front.

Addresses are IPv4 (203.0.113.7) or IPv6 (2001:db8::7); an IPv4-mapped IPv6
address (::ffff:203.0.113.7) is the same as its IPv4 address. Each block
keeps its reason, who blocked, when, and the chat it was made from. A change
takes effect at once, also while the server runs.`,
		Example: `  jabberdesk block list acme
  jabberdesk block add acme 203.0.113.7 --reason "spam"
  jabberdesk block remove acme 203.0.113.7`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newBlockListCmd(e), newBlockAddCmd(e), newBlockRemoveCmd(e))
	return cmd
}

// chatNumber is how the chat a block was made from appears in tables.
func chatNumber(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("#%d", n)
}

func newBlockListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's blocked IP addresses, newest first",
		Long: `List prints a portal's blocked IP addresses, newest first: the address, the
reason, who blocked it (an agent's username, or cli:USER for this command
line), the chat it was blocked from and when.`,
		Example: `  jabberdesk block list acme
  jabberdesk block list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			bs, err := st.BlockedIPs(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return e.emit(cmd, bs, func(w *textout.Writer) error {
				if len(bs) == 0 {
					_, err := fmt.Fprintln(w, "No blocked addresses.")
					return err
				}
				tw := newTable(w)
				tw.Println("ADDRESS\tREASON\tBLOCKED BY\tCHAT\tBLOCKED AT")
				for _, b := range bs {
					tw.Printf("%s\t%s\t%s\t%s\t%s\n", b.IP, oneLine(b.Reason, 50), b.BlockedBy, chatNumber(b.ChatNumber), formatTime(b.CreatedAt))
				}
				return tw.Flush()
			})
		},
	}
}

func newBlockAddCmd(e *env) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "add PORTAL IP",
		Short: "Block an IP address: new chats from it are refused",
		Long: fmt.Sprintf(`Add blocks an IP address in a portal before any chat comes from it. New
chats from the address are refused until the block is removed (block
remove); chats already running go on. The reason is required (at most %d
characters) and is kept with the block.`, store.BlockReasonMax),
		Example: `  jabberdesk block add acme 203.0.113.7 --reason "spam"
  jabberdesk block add acme 2001:db8::7 --reason "abusive messages" --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("reason") {
				return usagef("--reason is required (why the address is blocked; it is kept with the block)")
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			b, err := st.BlockIP(cmd.Context(), args[0], args[1], reason, actor(), 0)
			if err != nil {
				return err
			}
			return e.emit(cmd, b, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "IP address %s blocked in portal %s: new chats from it are refused until: jabberdesk block remove %s %s\n",
					b.IP, b.Portal, b.Portal, b.IP)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the address is blocked, `TEXT` (required)")
	return cmd
}

func newBlockRemoveCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "remove PORTAL IP",
		Short: "Unblock an IP address: new chats from it are accepted again",
		Long: `Remove lifts the block of an IP address, whether an agent blocked it with
#b or it was added with block add. New chats from the address are accepted
again at once.`,
		Example: `  jabberdesk block remove acme 203.0.113.7
  jabberdesk block remove acme 2001:db8::7 --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if err := st.UnblockIP(cmd.Context(), args[0], args[1], actor()); err != nil {
				return err
			}
			ip, err := store.CanonicalIP(args[1]) // parsed by UnblockIP already
			if err != nil {
				return err
			}
			return e.emit(cmd, map[string]any{"portal": args[0], "ip": ip, "removed": true}, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "IP address %s unblocked: new chats from it are accepted again\n", ip)
				return err
			})
		},
	}
}
