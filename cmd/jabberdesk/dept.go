package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newDeptCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dept",
		Short: "Add, list, change and remove a portal's departments",
		Long: `Departments group a portal's agents; visitor chats are routed to the
agents of the department the visitor picked.

Each department has a desk mode, which says what agents may do with
tickets from its chats:
  mapped   tickets go to this department (default)
  choose   agents create tickets and may file them in another department
           (#support conasreq 112 "Billing", #convert N "Billing")
  view     agents may look tickets up but not create or change them
  none     no ticket features; its chats never become tickets

and a routing mode, which says how new chats are offered:
  broadcast     to all online agents at once; the first to accept wins (default)
  round_robin   to one agent at a time, in turn`,
		Example: `  jabberdesk dept add acme Sales
  jabberdesk dept add acme "Tech Support" --desk-mode choose --routing round_robin
  jabberdesk dept list acme
  jabberdesk dept set acme Sales --name "Sales EU"
  jabberdesk dept remove acme "Sales EU"`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newDeptAddCmd(e), newDeptListCmd(e), newDeptSetCmd(e), newDeptRemoveCmd(e))
	return cmd
}

// deptRow is a department with its number of agents.
type deptRow struct {
	store.Department
	AgentCount int `json:"agent_count"`
}

// departmentRows lists a portal's departments with their numbers of
// agents, and the number of agents of the portal.
func departmentRows(ctx context.Context, st *store.Store, portal string) ([]deptRow, int, error) {
	depts, err := st.Departments(ctx, portal)
	if err != nil {
		return nil, 0, err
	}
	agents, err := st.Agents(ctx, portal)
	if err != nil {
		return nil, 0, err
	}
	count := map[string]int{}
	for _, a := range agents {
		for _, d := range a.Departments {
			count[strings.ToLower(d)]++
		}
	}
	rows := []deptRow{}
	for _, d := range depts {
		rows = append(rows, deptRow{Department: d, AgentCount: count[strings.ToLower(d.Name)]})
	}
	return rows, len(agents), nil
}

func printDepartments(w io.Writer, rows []deptRow) error {
	tw := newTable(w)
	tw.Println("DEPARTMENT\tDESK MODE\tROUTING\tAGENTS\tCREATED")
	for _, d := range rows {
		tw.Printf("%s\t%s\t%s\t%d\t%s\n", d.Name, d.DeskMode, d.Routing, d.AgentCount, formatTime(d.CreatedAt))
	}
	return tw.Flush()
}

// deptModeFlags defines --desk-mode and --routing; withDefaults mentions
// the defaults of a new department.
func deptModeFlags(cmd *cobra.Command, mode *store.DeskMode, routing *store.Routing, withDefaults bool) {
	modeDef, routingDef := "", ""
	if withDefaults {
		modeDef, routingDef = " (default mapped)", " (default broadcast)"
	}
	choiceVar(cmd.Flags(), mode, "desk-mode", "MODE", store.ParseDeskMode, "ticket features: mapped, choose, view or none"+modeDef)
	choiceVar(cmd.Flags(), routing, "routing", "ROUTING", store.ParseRouting, "how chats are offered: broadcast or round_robin"+routingDef)
}

func newDeptAddCmd(e *env) *cobra.Command {
	var mode store.DeskMode
	var routing store.Routing
	cmd := &cobra.Command{
		Use:   "add PORTAL NAME",
		Short: "Create a department",
		Long: `Add creates a department in a portal. Names are 1 to 60 characters, without
quotes or "#", unique in the portal regardless of case.`,
		Example: `  jabberdesk dept add acme Sales
  jabberdesk dept add acme "Tech Support" --desk-mode choose --routing round_robin`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			d, err := st.AddDepartment(cmd.Context(), args[0], args[1], mode, routing, actor())
			if err != nil {
				return err
			}
			e.notify(cmd, control.OpDepartmentsChanged, d.Portal)
			return e.emit(cmd, d, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Added department %q to portal %s (desk mode %s, routing %s).\n", d.Name, d.Portal, d.DeskMode, d.Routing)
				return err
			})
		},
	}
	deptModeFlags(cmd, &mode, &routing, true)
	return cmd
}

func newDeptListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's departments",
		Long:  `List prints a portal's departments with desk mode, routing and number of agents.`,
		Example: `  jabberdesk dept list acme
  jabberdesk dept list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			rows, _, err := departmentRows(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			return e.emit(cmd, rows, func(w *textout.Writer) error {
				if len(rows) == 0 {
					_, err := fmt.Fprintf(w, "Portal %s has no departments yet. Add one with: jabberdesk dept add %s NAME\n", args[0], args[0])
					return err
				}
				return printDepartments(w, rows)
			})
		},
	}
}

func newDeptSetCmd(e *env) *cobra.Command {
	var name string
	var mode store.DeskMode
	var routing store.Routing
	cmd := &cobra.Command{
		Use:   "set PORTAL NAME",
		Short: "Rename a department or change its desk mode or routing",
		Long:  `Set changes what its flags say and leaves the rest as it is. Give at least one flag.`,
		Example: `  jabberdesk dept set acme Sales --name "Sales EU"
  jabberdesk dept set acme Support --desk-mode view --routing round_robin`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var u store.DepartmentUpdate
			f := cmd.Flags()
			if f.Changed("name") {
				u.Name = &name
			}
			if f.Changed("desk-mode") {
				u.DeskMode = &mode
			}
			if f.Changed("routing") {
				u.Routing = &routing
			}
			if u == (store.DepartmentUpdate{}) {
				return usagef("nothing to change: give at least one of --name, --desk-mode, --routing")
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			d, err := st.UpdateDepartment(cmd.Context(), args[0], args[1], u, actor())
			if err != nil {
				return err
			}
			e.notify(cmd, control.OpDepartmentsChanged, d.Portal)
			return e.emit(cmd, d, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Department %q of portal %s: desk mode %s, routing %s.\n", d.Name, d.Portal, d.DeskMode, d.Routing)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new `NAME` of the department")
	deptModeFlags(cmd, &mode, &routing, false)
	return cmd
}

func newDeptRemoveCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "remove PORTAL NAME",
		Short:   "Delete a department",
		Long:    `Remove deletes a department. Its agents stay in the portal, without it.`,
		Example: `  jabberdesk dept remove acme Sales`,
		Args:    exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			d, err := st.Department(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if err := st.RemoveDepartment(cmd.Context(), d.Portal, d.Name, actor()); err != nil {
				return err
			}
			e.notify(cmd, control.OpDepartmentsChanged, d.Portal)
			return e.emit(cmd, map[string]any{"portal": d.Portal, "name": d.Name, "removed": true}, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Removed department %q from portal %s; its agents stay, without it.\n", d.Name, d.Portal)
				return err
			})
		},
	}
}
