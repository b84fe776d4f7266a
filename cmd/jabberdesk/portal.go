package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newPortalCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "portal",
		Short: "Add, list, show and remove portals (customer organisations)",
		Long: `A portal is one customer organisation. Its agents, departments, visitors,
chats and tickets belong to it alone. Agents sign in as
PORTAL|USERNAME@DOMAIN. Portal names are 2 to 30 lowercase letters, digits
and "-", starting with a letter or digit.`,
		Example: `  jabberdesk portal add acme
  jabberdesk portal list
  jabberdesk portal show acme --json
  jabberdesk portal remove acme --yes`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newPortalAddCmd(e), newPortalListCmd(e), newPortalShowCmd(e), newPortalRemoveCmd(e))
	return cmd
}

func newPortalAddCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "add NAME",
		Short: "Create a portal",
		Long:  `Add creates a portal. Then add its departments (dept add) and agents (agent add).`,
		Example: `  jabberdesk portal add acme
  jabberdesk portal add acme-eu --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			p, err := st.AddPortal(cmd.Context(), args[0], actor())
			if err != nil {
				return err
			}
			return e.emit(cmd, p, func(w *textout.Writer) error {
				w.Printf("Added portal %q.\nNext: jabberdesk dept add %s NAME, then jabberdesk agent add %s USERNAME --email EMAIL\n", p.Name, p.Name, p.Name)
				return nil
			})
		},
	}
}

// portalSummary is a row of portal list.
type portalSummary struct {
	store.Portal
	DepartmentCount int `json:"department_count"`
	AgentCount      int `json:"agent_count"`
}

// portalDetail is what portal show prints.
type portalDetail struct {
	store.Portal
	Departments []deptRow `json:"departments"`
	AgentCount  int       `json:"agent_count"`
}

func portalDetails(ctx context.Context, st *store.Store, p store.Portal) (portalDetail, error) {
	depts, n, err := departmentRows(ctx, st, p.Name)
	if err != nil {
		return portalDetail{}, err
	}
	return portalDetail{Portal: p, Departments: depts, AgentCount: n}, nil
}

func newPortalListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List portals",
		Long:  `List prints every portal with its number of departments and agents.`,
		Example: `  jabberdesk portal list
  jabberdesk portal list --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			ps, err := st.Portals(cmd.Context())
			if err != nil {
				return err
			}
			rows := []portalSummary{}
			for _, p := range ps {
				d, err := portalDetails(cmd.Context(), st, p)
				if err != nil {
					return err
				}
				rows = append(rows, portalSummary{Portal: p, DepartmentCount: len(d.Departments), AgentCount: d.AgentCount})
			}
			return e.emit(cmd, rows, func(w *textout.Writer) error {
				if len(rows) == 0 {
					w.Println("No portals yet. Add one with: jabberdesk portal add NAME")
					return nil
				}
				tw := newTable(w)
				tw.Println("PORTAL\tDEPARTMENTS\tAGENTS\tCREATED")
				for _, r := range rows {
					tw.Printf("%s\t%d\t%d\t%s\n", r.Name, r.DepartmentCount, r.AgentCount, formatTime(r.CreatedAt))
				}
				return tw.Flush()
			})
		},
	}
}

func newPortalShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a portal: departments, number of agents, creation time",
		Long:  `Show prints a portal's departments (with desk mode and routing), its number of agents and when it was created.`,
		Example: `  jabberdesk portal show acme
  jabberdesk portal show acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			p, err := st.Portal(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := portalDetails(cmd.Context(), st, p)
			if err != nil {
				return err
			}
			return e.emit(cmd, d, func(w *textout.Writer) error {
				tw := newTable(w)
				tw.Printf("Portal\t%s\n", d.Name)
				tw.Printf("Created\t%s\n", formatTime(d.CreatedAt))
				tw.Printf("Agents\t%d\n", d.AgentCount)
				tw.Printf("Departments\t%d\n", len(d.Departments))
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(d.Departments) > 0 {
					w.Println()
					return printDepartments(w, d.Departments)
				}
				return nil
			})
		},
	}
}

func newPortalRemoveCmd(e *env) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Delete a portal and everything in it",
		Long: `Remove deletes a portal with all its departments, agents and everything
else that belongs to it. This cannot be undone, so it needs --yes. Agents
of the portal who are signed in are disconnected.`,
		Example: `  jabberdesk portal remove acme --yes`,
		Args:    exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			p, err := st.Portal(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := portalDetails(cmd.Context(), st, p)
			if err != nil {
				return err
			}
			what := fmt.Sprintf("%d departments, %d agents and everything else in it", len(d.Departments), d.AgentCount)
			if !yes {
				return fmt.Errorf("removing portal %q deletes its %s, for good; add --yes to confirm", p.Name, what)
			}
			if err := st.RemovePortal(cmd.Context(), p.Name, actor()); err != nil {
				return err
			}
			e.notify(cmd, control.OpPortalRemoved, p.Name)
			return e.emit(cmd, map[string]any{"name": p.Name, "removed": true}, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Removed portal %q with its %s.\n", p.Name, what)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm that the portal and everything in it are to be deleted")
	return cmd
}
