package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"jabberdesk/internal/config"
	"jabberdesk/internal/textout"
)

func newServeCmd(e *env) *cobra.Command {
	var demo, check bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (--check: only validate the configuration)",
		Long: `Serve runs the jabberdesk server until it gets SIGINT or SIGTERM. Like
init, it first makes sure the data directory, the database and (unless one
is configured) the self-signed TLS certificate exist.

--demo also creates a demo portal "demo" with the departments Sales and
Support and two agents, fiona.demo (supervisor) and george.demo, and prints
how to sign in as them. Their passwords are generated once and kept in
DATA_DIR/demo-passwords.txt, so they stay the same from one run to the next.

--check only loads the configuration and reports every problem in it
(exit status 1), or prints "config OK" (exit status 0).`,
		Example: `  jabberdesk serve
  jabberdesk serve --demo
  jabberdesk serve --check --config /etc/jabberdesk/jabberdesk.toml`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if check {
				return e.checkConfig(cmd.OutOrStdout())
			}
			cfg, err := e.config()
			if err != nil {
				return err
			}
			out := textout.New(cmd.OutOrStdout())
			st, err := e.prepare(out, false)
			if err != nil {
				return err
			}
			if demo {
				accounts, err := seedDemo(cmd.Context(), st, cfg.DataDir)
				if err != nil {
					return fmt.Errorf("demo: %w", err)
				}
				if err := printDemo(out, cfg, accounts); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return startServer(ctx, cmd, cfg, st)
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "seed a demo portal with two agents and print how to sign in")
	cmd.Flags().BoolVar(&check, "check", false, "validate the configuration and exit")
	return cmd
}

// checkConfig loads the configuration and says it is fine; problems come
// back as the error.
func (e *env) checkConfig(out io.Writer) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if cfg.Path == "" {
		_, err = fmt.Fprintf(out, "config OK: no %s, using the defaults\n", defaultConfigFile)
		return err
	}
	_, err = fmt.Fprintf(out, "config OK: %s\n", cfg.Path)
	return err
}

// printDemo says how to sign in as the demo agents.
func printDemo(out *textout.Writer, cfg *config.Config, accounts []demoAccount) error {
	port := func(addr string) string {
		if p := listenPort(addr); p != nil {
			return fmt.Sprint(*p)
		}
		return "disabled"
	}
	out.Printf("\nDemo portal %q: sign in with any XMPP client (passwords are kept in %s).\n", demoPortal, demoPasswordsFile(cfg.DataDir))
	tw := newTable(out)
	tw.Println("AGENT\tROLE\tSIGN-IN (JID)\tPASSWORD\tHOST\tSTARTTLS PORT\tTLS PORT")
	for _, a := range accounts {
		tw.Printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Username, a.Role, jid(cfg, demoPortal, a.Username), a.Password,
			cfg.PublicHostName(), port(cfg.XMPP.ListenStartTLS), port(cfg.XMPP.ListenTLS))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	out.Printf("Client setup for each: jabberdesk agent settings %s USERNAME\n", demoPortal)
	if cfg.HTTP.Listen != "" {
		out.Printf("Chat as a visitor: open %s/chat/%s in a browser, and answer with y from a demo agent's client.\n",
			publicURL(cfg, cfg.HTTP.Listen), demoPortal)
	}
	out.Println()
	return out.Err()
}
