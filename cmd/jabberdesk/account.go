package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newAccountCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Add and list a portal's helpdesk accounts (customers with SLA and contract)",
		Long: `An account is a customer organisation that contacts belong to, with its
service level agreement (SLA) and contract. The SLA has a name, a response
time and a resolution time in hours; a ticket of one of the account's
contacts is due the resolution hours after it was made, and overdue once
that has passed while it is not closed. Agents see the account, SLA and
contract of a visitor with #support info.

Account names are unique in the portal, ignoring case. Put contacts in an
account with jabberdesk contact add --account, or the account column of
jabberdesk contact import.`,
		Example: `  jabberdesk account add acme Globex --sla Gold --response-hours 4 --resolution-hours 24 --contract "GLX-2026"
  jabberdesk account list acme`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newAccountAddCmd(e), newAccountListCmd(e))
	return cmd
}

// hours is how SLA hours appear in tables: "-" for none.
func hours(h int) string {
	if h == 0 {
		return "-"
	}
	return fmt.Sprintf("%d h", h)
}

// accountTerms describes an account's SLA and contract for messages, ""
// when it has neither.
func accountTerms(a store.Account) string {
	var parts []string
	if a.SLAName != "" || a.ResponseHours != 0 || a.ResolutionHours != 0 {
		sla := "SLA"
		if a.SLAName != "" {
			sla += " " + a.SLAName
		}
		parts = append(parts, fmt.Sprintf("%s: response %s, resolution %s", sla, hours(a.ResponseHours), hours(a.ResolutionHours)))
	}
	if a.ContractName != "" {
		parts = append(parts, "contract "+a.ContractName)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func newAccountAddCmd(e *env) *cobra.Command {
	var a store.Account
	cmd := &cobra.Command{
		Use:   "add PORTAL NAME",
		Short: "Create an account",
		Long: fmt.Sprintf(`Add creates an account. Names (of the account, the SLA and the contract) are
at most %d characters; the hours are 0 (none) to %d. Tickets made before a
contact joins the account keep the due time they had.`, store.AccountNameMax, store.AccountHoursMax),
		Example: `  jabberdesk account add acme Globex
  jabberdesk account add acme Initech --sla Gold --response-hours 4 --resolution-hours 24 --contract "INI-2026" --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			a.Portal, a.Name = args[0], args[1]
			added, err := st.AddAccount(cmd.Context(), a, actor())
			if err != nil {
				return err
			}
			return e.emit(cmd, added, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Added account %q to portal %s%s.\n", added.Name, added.Portal, accountTerms(added))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.SLAName, "sla", "", "`NAME` of the service level agreement")
	f.IntVar(&a.ResponseHours, "response-hours", 0, "the SLA's response time, `N` hours (0: none)")
	f.IntVar(&a.ResolutionHours, "resolution-hours", 0, "the SLA's resolution time, `N` hours; tickets are due this long after they are made (0: none)")
	f.StringVar(&a.ContractName, "contract", "", "`NAME` of the contract")
	return cmd
}

func newAccountListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's accounts",
		Long:  `List prints a portal's accounts by name: SLA with its response and resolution hours, and contract.`,
		Example: `  jabberdesk account list acme
  jabberdesk account list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			as, err := st.Accounts(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return e.emit(cmd, as, func(w *textout.Writer) error {
				if len(as) == 0 {
					_, err := fmt.Fprintf(w, "Portal %s has no accounts yet. Add one with: jabberdesk account add %s NAME\n", args[0], args[0])
					return err
				}
				tw := newTable(w)
				tw.Println("ACCOUNT\tSLA\tRESPONSE\tRESOLUTION\tCONTRACT\tCREATED")
				for _, a := range as {
					tw.Printf("%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, dash(a.SLAName), hours(a.ResponseHours), hours(a.ResolutionHours),
						dash(a.ContractName), formatTime(a.CreatedAt))
				}
				return tw.Flush()
			})
		},
	}
}
