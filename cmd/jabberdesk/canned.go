package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newCannedCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "canned",
		Short: "Add, list and remove canned responses (prepared answers agents send with #r)",
		Long: fmt.Sprintf(`Canned responses are prepared answers. In a chat, an agent types #r to list
them by category and #r SHORTCUT to send one to the visitor. In the text,
{visitor.name} and {agent.name} are filled in with the visitor's name and
the sending agent's name.

A response is for all departments of the portal, or with --dept for one
department; in a chat of that department its own response takes precedence
over one for all departments with the same shortcut. Shortcuts are 1 to %d
ASCII letters, digits, "_", "-" and ".", unique per department regardless
of case. Categories group the responses in #r (default %q). Changes take
effect at once, also while the server runs.`, store.ShortcutMax, store.DefaultCannedCategory),
		Example: `  jabberdesk canned add acme hello --text "Hello {visitor.name}, I am {agent.name}. How can I help?"
  jabberdesk canned add acme refund --dept Sales --category Billing --text-stdin < refund.txt
  jabberdesk canned list acme
  jabberdesk canned remove acme refund --dept Sales`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newCannedAddCmd(e), newCannedListCmd(e), newCannedRemoveCmd(e))
	return cmd
}

// cannedDept is how a canned response's department appears in messages
// and tables.
func cannedDept(department string) string {
	if department == "" {
		return "all departments"
	}
	return department
}

func newCannedAddCmd(e *env) *cobra.Command {
	var dept, category, text string
	var textStdin bool
	cmd := &cobra.Command{
		Use:   "add PORTAL SHORTCUT",
		Short: "Create a canned response",
		Long: fmt.Sprintf(`Add creates a canned response for all departments of the portal, or with
--dept for one. The text (at most %d characters) is --text, or with
--text-stdin the whole of standard input, for texts of several lines.
{visitor.name} and {agent.name} in it are filled in when an agent sends it
with #r SHORTCUT. --category groups it in #r (default %q).`, store.CannedTextMax, store.DefaultCannedCategory),
		Example: `  jabberdesk canned add acme hello --text "Hello {visitor.name}, I am {agent.name}. How can I help?"
  jabberdesk canned add acme refund --dept Sales --category Billing --text-stdin < refund.txt`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			switch {
			case f.Changed("text") && textStdin:
				return usagef("--text and --text-stdin exclude each other: give the text one way")
			case !f.Changed("text") && !textStdin:
				return usagef("the text is required: give --text TEXT, or --text-stdin to read it from standard input (for several lines)")
			case textStdin:
				var err error
				if text, err = readText(cmd); err != nil {
					return err
				}
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			c, err := st.AddCanned(cmd.Context(), args[0], dept, args[1], category, text, actor())
			if err != nil {
				return err
			}
			return e.emit(cmd, c, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Added canned response %q to portal %s for %s (category %s). Agents send it with: #r %s\n",
					c.Shortcut, c.Portal, cannedDept(c.Department), c.Category, c.Shortcut)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dept, "dept", "", "the `DEPARTMENT` it is for (default: all departments)")
	f.StringVar(&category, "category", "", "`CATEGORY` it is listed under in #r (default "+store.DefaultCannedCategory+")")
	f.StringVar(&text, "text", "", "the `TEXT` sent to the visitor")
	f.BoolVar(&textStdin, "text-stdin", false, "read the text from standard input, all of it (for several lines)")
	return cmd
}

// readText reads a canned response's text: the whole of standard input.
func readText(cmd *cobra.Command) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			_, _ = fmt.Fprint(cmd.ErrOrStderr(), "Text (end with Ctrl-D on a line of its own):\n") // stderr: nowhere to report a failure
		}
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return "", fmt.Errorf("--text-stdin: %w", err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return "", errors.New("--text-stdin: standard input is empty; write the text of the response to it")
	}
	return text, nil
}

func newCannedListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's canned responses",
		Long: `List prints a portal's canned responses grouped by department (those for
all departments first), then by category: the shortcut and the start of the
text on one line. --json gives the full texts.`,
		Example: `  jabberdesk canned list acme
  jabberdesk canned list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			cs, err := st.CannedList(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return e.emit(cmd, cs, func(w *textout.Writer) error {
				if len(cs) == 0 {
					_, err := fmt.Fprintf(w, "Portal %s has no canned responses yet. Add one with: jabberdesk canned add %s SHORTCUT --text TEXT\n", args[0], args[0])
					return err
				}
				tw := newTable(w)
				tw.Println("DEPARTMENT\tCATEGORY\tSHORTCUT\tTEXT")
				for i, c := range cs {
					// Department and category only where they change.
					dept, category := cannedDept(c.Department), c.Category
					if i > 0 && cs[i-1].Department == c.Department {
						dept = ""
						if cs[i-1].Category == c.Category {
							category = ""
						}
					}
					tw.Printf("%s\t%s\t%s\t%s\n", dept, category, c.Shortcut, oneLine(c.Text, 60))
				}
				return tw.Flush()
			})
		},
	}
}

func newCannedRemoveCmd(e *env) *cobra.Command {
	var dept string
	cmd := &cobra.Command{
		Use:   "remove PORTAL SHORTCUT",
		Short: "Delete a canned response",
		Long: `Remove deletes the canned response with the shortcut (regardless of case)
that is for all departments, or with --dept the one of that department.`,
		Example: `  jabberdesk canned remove acme hello
  jabberdesk canned remove acme refund --dept Sales`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if dept != "" { // spelled as the department is
				d, err := st.Department(cmd.Context(), args[0], dept)
				if err != nil {
					return err
				}
				dept = d.Name
			}
			if err := st.RemoveCanned(cmd.Context(), args[0], dept, args[1], actor()); err != nil {
				return err
			}
			v := map[string]any{"portal": args[0], "department": dept, "shortcut": args[1], "removed": true}
			return e.emit(cmd, v, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Removed canned response %q of portal %s for %s.\n", args[1], args[0], cannedDept(dept))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&dept, "dept", "", "the `DEPARTMENT` whose response it is (default: the one for all departments)")
	return cmd
}
