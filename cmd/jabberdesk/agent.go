package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/address"
	"jabberdesk/internal/config"
	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newAgentCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Add, list, change and remove agents; print their client setup",
		Long: `Agents are the support staff of a portal. Each signs in from any XMPP
client as PORTAL|USERNAME@DOMAIN with a password (agent settings prints
what to type into the client).

Usernames are 6 to 30 characters: ASCII letters, digits, "_" and "." only,
unique within the portal regardless of case. Roles are agent, supervisor
(may also monitor and assign chats) and admin.

Passwords are never given on the command line, where other users could see
them: they are generated and printed once, or read from standard input
with --password-stdin.`,
		Example: `  jabberdesk agent add acme fiona.b --email fiona@acme.example --name "Fiona B" --dept Sales
  jabberdesk agent list acme
  jabberdesk agent settings acme fiona.b
  printf '%s\n' "$NEW_PASSWORD" | jabberdesk agent passwd acme fiona.b --password-stdin`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(
		newAgentAddCmd(e), newAgentListCmd(e), newAgentShowCmd(e), newAgentSetCmd(e),
		newAgentRemoveCmd(e), newAgentPasswdCmd(e), newAgentCheckCmd(e), newAgentSettingsCmd(e),
	)
	return cmd
}

// agentView is an agent as the CLI prints it: with its sign-in JID.
type agentView struct {
	store.Agent
	JID string `json:"jid"`
}

// jid is the canonical sign-in JID of an agent.
func jid(cfg *config.Config, portal, username string) string {
	return address.Agent{Portal: portal, Key: store.UsernameKey(username)}.JID(cfg.Domain)
}

func (e *env) view(a store.Agent) agentView {
	if a.Departments == nil {
		a.Departments = []string{}
	}
	return agentView{Agent: a, JID: jid(e.cfg, a.Portal, a.Username)}
}

// departmentList is how departments appear in human output.
func departmentList(ds []string) string {
	if len(ds) == 0 {
		return "-"
	}
	return strings.Join(ds, ", ")
}

func newAgentAddCmd(e *env) *cobra.Command {
	var n store.NewAgent
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "add PORTAL USERNAME",
		Short: "Create an agent",
		Long: `Add creates an agent. Without --password-stdin a random password is
generated and printed once; give it to the agent (or let them change it
with agent passwd). With --password-stdin the first line of standard input
is the password (at least 8 characters).`,
		Example: `  jabberdesk agent add acme fiona.b --email fiona@acme.example --name "Fiona B" --role supervisor --dept Sales --dept Support
  printf '%s\n' "$PASSWORD" | jabberdesk agent add acme george.m --email george@acme.example --password-stdin`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("email") {
				return usagef("--email is required (the agent's email address)")
			}
			n.Portal, n.Username = args[0], args[1]
			var generated bool
			var err error
			if n.Password, generated, err = password(cmd, pwStdin); err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			a, err := st.AddAgent(cmd.Context(), n, actor())
			if err != nil {
				return err
			}
			if n.MaxChats == 0 { // AddAgent takes 0 as "the default"
				zero := 0
				if a, err = st.UpdateAgent(cmd.Context(), a.Portal, a.Username, store.AgentUpdate{MaxChats: &zero}, actor()); err != nil {
					return err
				}
			}
			e.notify(cmd, control.OpAgentsChanged, a.Portal)
			return e.printAdded(cmd, a, n.Password, generated)
		},
	}
	f := cmd.Flags()
	f.StringVar(&n.Email, "email", "", "the agent's email `ADDRESS` (required)")
	f.StringVar(&n.DisplayName, "name", "", "display `NAME` shown to colleagues and visitors (default: the username)")
	n.Role = store.RoleAgent
	choiceVar(f, &n.Role, "role", "ROLE", store.ParseRole, "agent, supervisor or admin")
	f.StringArrayVar(&n.Departments, "dept", nil, "`DEPARTMENT` the agent answers chats for (repeat for several)")
	f.IntVar(&n.MaxChats, "max-chats", store.DefaultMaxChats, "most visitor chats at once, `N`")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func (e *env) printAdded(cmd *cobra.Command, a store.Agent, pw string, generated bool) error {
	type added struct {
		agentView
		Password string `json:"password,omitempty"`
	}
	v := added{agentView: e.view(a)}
	if generated {
		v.Password = pw
	}
	return e.emit(cmd, v, func(w *textout.Writer) error {
		w.Printf("Added agent %s to portal %s: %s <%s>, %s, departments: %s.\n",
			a.Username, a.Portal, a.DisplayName, a.Email, a.Role, departmentList(a.Departments))
		if generated {
			w.Printf("Password (shown once): %s\n", pw)
		}
		w.Printf("Sign-in: %s (client setup: jabberdesk agent settings %s %s)\n", v.JID, a.Portal, a.Username)
		return nil
	})
}

// password returns the password from the first line of standard input
// (fromStdin), or a new random one (generated).
func password(cmd *cobra.Command, fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		pw, err = generatePassword()
		return pw, true, err
	}
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			_, _ = fmt.Fprint(cmd.ErrOrStderr(), "Password (the text you type is visible; end with Enter): ") // stderr: nowhere to report a failure
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		if errors.Is(err, io.EOF) {
			return "", false, errors.New("--password-stdin: standard input is empty; write the password as its first line")
		}
		return "", false, fmt.Errorf("--password-stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if err := store.ValidatePassword(line); err != nil {
		return "", false, fmt.Errorf("--password-stdin: %w", err)
	}
	return line, false, nil
}

// passwordAlphabet leaves out characters that are easily confused (0 O 1 l I).
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// generatePassword returns 16 random characters (about 93 bits).
func generatePassword() (string, error) {
	b := make([]byte, 16)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b), nil
}

func newAgentListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's agents",
		Long:  `List prints a portal's agents: username, name, email, role, departments and chat limit.`,
		Example: `  jabberdesk agent list acme
  jabberdesk agent list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			as, err := st.Agents(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			views := []agentView{}
			for _, a := range as {
				views = append(views, e.view(a))
			}
			return e.emit(cmd, views, func(w *textout.Writer) error {
				if len(views) == 0 {
					_, err := fmt.Fprintf(w, "Portal %s has no agents yet. Add one with: jabberdesk agent add %s USERNAME --email EMAIL\n", args[0], args[0])
					return err
				}
				tw := newTable(w)
				tw.Println("USERNAME\tNAME\tEMAIL\tROLE\tDEPARTMENTS\tMAX CHATS")
				for _, a := range views {
					tw.Printf("%s\t%s\t%s\t%s\t%s\t%d\n", a.Username, a.DisplayName, a.Email, a.Role, departmentList(a.Departments), a.MaxChats)
				}
				return tw.Flush()
			})
		},
	}
}

func newAgentShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show PORTAL USERNAME",
		Short: "Show an agent",
		Long:  `Show prints an agent's details and sign-in JID. For the client setup card use agent settings.`,
		Example: `  jabberdesk agent show acme fiona.b
  jabberdesk agent show acme fiona.b --json`,
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
			return e.emit(cmd, e.view(a), func(w *textout.Writer) error { return e.printAgent(w, a) })
		},
	}
}

func (e *env) printAgent(w *textout.Writer, a store.Agent) error {
	tw := newTable(w)
	tw.Printf("Username\t%s\n", a.Username)
	tw.Printf("Portal\t%s\n", a.Portal)
	tw.Printf("Name\t%s\n", a.DisplayName)
	tw.Printf("Email\t%s\n", a.Email)
	tw.Printf("Role\t%s\n", a.Role)
	tw.Printf("Departments\t%s\n", departmentList(a.Departments))
	tw.Printf("Max chats\t%d\n", a.MaxChats)
	tw.Printf("Sign-in (JID)\t%s\n", jid(e.cfg, a.Portal, a.Username))
	tw.Printf("Created\t%s\n", formatTime(a.CreatedAt))
	tw.Printf("Updated\t%s\n", formatTime(a.UpdatedAt))
	return tw.Flush()
}
