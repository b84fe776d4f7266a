package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newAgentSetCmd(e *env) *cobra.Command {
	var name, email string
	var role store.Role
	var depts []string
	var clearDepts bool
	var maxChats int
	cmd := &cobra.Command{
		Use:   "set PORTAL USERNAME",
		Short: "Change an agent's name, email, role, departments or chat limit",
		Long: `Set changes what its flags say and leaves the rest as it is. Give at least
one flag. --dept replaces the agent's departments with the ones given;
--clear-depts removes them all. The username cannot be changed (it is part
of the sign-in): add a new agent and remove the old one instead.`,
		Example: `  jabberdesk agent set acme fiona.b --role supervisor
  jabberdesk agent set acme fiona.b --dept Sales --dept Support --max-chats 8
  jabberdesk agent set acme george.m --clear-depts`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var u store.AgentUpdate
			f := cmd.Flags()
			if f.Changed("name") {
				u.DisplayName = &name
			}
			if f.Changed("email") {
				u.Email = &email
			}
			if f.Changed("role") {
				u.Role = &role
			}
			if f.Changed("max-chats") {
				u.MaxChats = &maxChats
			}
			switch {
			case f.Changed("dept") && clearDepts:
				return usagef("--dept and --clear-depts exclude each other: --dept already replaces the departments")
			case f.Changed("dept"):
				u.Departments = &depts
			case clearDepts:
				none := []string{}
				u.Departments = &none
			}
			if u == (store.AgentUpdate{}) {
				return usagef("nothing to change: give at least one of --name, --email, --role, --dept, --clear-depts, --max-chats")
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			a, err := st.UpdateAgent(cmd.Context(), args[0], args[1], u, actor())
			if err != nil {
				return err
			}
			e.notify(cmd, control.OpAgentsChanged, a.Portal)
			return e.emit(cmd, e.view(a), func(w *textout.Writer) error { return e.printAgent(w, a) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "new display `NAME`")
	fl.StringVar(&email, "email", "", "new email `ADDRESS`")
	choiceVar(fl, &role, "role", "ROLE", store.ParseRole, "new role: agent, supervisor or admin")
	fl.StringArrayVar(&depts, "dept", nil, "`DEPARTMENT` (repeat for several); replaces the agent's departments")
	fl.BoolVar(&clearDepts, "clear-depts", false, "remove the agent from all departments")
	fl.IntVar(&maxChats, "max-chats", 0, "most visitor chats at once, `N` (0: no new chats)")
	return cmd
}

func newAgentRemoveCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "remove PORTAL USERNAME",
		Short: "Delete an agent",
		Long: `Remove deletes an agent: they can no longer sign in, sessions they have
open are closed, and colleagues no longer see them in their rosters.`,
		Example: `  jabberdesk agent remove acme george.m`,
		Args:    exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			a, err := st.Agent(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if err := st.RemoveAgent(cmd.Context(), a.Portal, a.Username, actor()); err != nil {
				return err
			}
			e.notify(cmd, control.OpAgentsChanged, a.Portal)
			return e.emit(cmd, map[string]any{"portal": a.Portal, "username": a.Username, "removed": true}, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Removed agent %s from portal %s.\n", a.Username, a.Portal)
				return err
			})
		},
	}
}

func newAgentPasswdCmd(e *env) *cobra.Command {
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "passwd PORTAL USERNAME",
		Short: "Set a new password for an agent",
		Long: `Passwd replaces an agent's password. Without --password-stdin a random
password is generated and printed once; with it, the first line of standard
input is the new password (at least 8 characters). The agent's open sessions
are closed: whoever signed in with the old password must sign in again.`,
		Example: `  jabberdesk agent passwd acme fiona.b
  printf '%s\n' "$NEW_PASSWORD" | jabberdesk agent passwd acme fiona.b --password-stdin`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			a, err := st.Agent(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			pw, generated, err := password(cmd, pwStdin)
			if err != nil {
				return err
			}
			if err := st.SetPassword(cmd.Context(), a.Portal, a.Username, pw, actor()); err != nil {
				return err
			}
			e.notifyEvent(cmd, control.Event{Op: control.OpPasswordChanged, Portal: a.Portal, Agent: a.Username})
			v := map[string]any{"portal": a.Portal, "username": a.Username, "jid": jid(e.cfg, a.Portal, a.Username)}
			if generated {
				v["password"] = pw
			}
			return e.emit(cmd, v, func(w *textout.Writer) error {
				w.Printf("New password set for %s.\n", v["jid"])
				if generated {
					w.Printf("Password (shown once): %s\n", pw)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newAgentCheckCmd(e *env) *cobra.Command {
	var portal string
	cmd := &cobra.Command{
		Use:   "check-username [PORTAL] NAME",
		Short: "Say whether a username can be used, and why not",
		Long: `Check-username checks a username against the rules (6 to 30 characters;
ASCII letters, digits, "_" and "." only) and against the agents that exist,
in one portal (given first, like every agent command) or in all. It exits
with status 0 if the name is available and 1, saying why, if not.
(--portal PORTAL still works.)`,
		Example: `  jabberdesk agent check-username acme fiona.b
  jabberdesk agent check-username fiona.b`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 || len(args) == 2 {
				return nil
			}
			return usagef("want PORTAL NAME, or NAME alone to check every portal; got %d arguments", len(args))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[len(args)-1]
			if len(args) == 2 {
				if portal != "" && !strings.EqualFold(portal, args[0]) {
					return usagef("portal %s and --portal %s disagree: give it once", args[0], portal)
				}
				portal = args[0]
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			if err := st.CheckUsername(cmd.Context(), portal, name); err != nil {
				return err
			}
			return e.emit(cmd, map[string]any{"username": name, "available": true}, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "username %q is available\n", name)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&portal, "portal", "", "check only in `PORTAL` (the same as giving it first)")
	return cmd
}
