package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"jabberdesk/internal/config"
	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

// Where the configuration is looked for when --config is not given.
const (
	configEnv         = "JABBERDESK_CONFIG"
	defaultConfigFile = "jabberdesk.toml"
	databaseFile      = "jabberdesk.db"
)

// notifyTimeout bounds how long a command waits for a running server to
// take note of a change.
const notifyTimeout = 5 * time.Second

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "jabberdesk",
		Short: "Helpdesk chat server for agents who use any XMPP client",
		Long: `jabberdesk is a helpdesk chat server. Support agents sign in from any XMPP
(Jabber) client as PORTAL|USERNAME@DOMAIN; website visitors appear in their
rosters as contacts, and agents answer them in ordinary chat windows.

This binary runs the server (jabberdesk serve) and administers it: portals
(customer organisations), their departments and their agents. Changes made
here while the server runs take effect at once.

The configuration file is --config, else $JABBERDESK_CONFIG, else
./jabberdesk.toml; without any, the defaults are used (see
config.example.toml). Start with: jabberdesk init.`,
		Example: `  jabberdesk init --domain chat.example.com
  jabberdesk portal add acme
  jabberdesk agent add acme fiona.b --email fiona@acme.example --name "Fiona B"
  jabberdesk agent settings acme fiona.b
  jabberdesk serve`,
		Args:          subcommandArgs,
		RunE:          showHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	e.root = root
	pf := root.PersistentFlags()
	pf.StringVar(&e.configPath, "config", "", "configuration `FILE` (default: $"+configEnv+", else ./"+defaultConfigFile+")")
	pf.BoolVar(&e.jsonOut, "json", false, "print JSON for scripts instead of tables")
	root.SetFlagErrorFunc(flagError)
	root.Version = currentBuild().String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(
		newVersionCmd(e),
		newInitCmd(e),
		newServeCmd(e),
		newPortalCmd(e),
		newDeptCmd(e),
		newAgentCmd(e),
		newChatCmd(e),
		newBlockCmd(e),
		newCannedCmd(e),
		newTicketCmd(e),
		newContactCmd(e),
		newAccountCmd(e),
		newSettingsCmd(e),
		newChannelCmd(e),
		newTemplateCmd(e),
		newReportCmd(e),
		newBenchCmd(e),
		newMigrateCmd(e),
		newClusterCmd(e),
	)
	return root
}

// env is what commands share: the configuration and the store, loaded
// when first needed, and the global flags.
type env struct {
	root       *cobra.Command
	configPath string // --config
	jsonOut    bool   // --json

	cfg *config.Config
	st  *store.Store
}

// configFile returns the configuration file and whether it must exist:
// a file named by --config or $JABBERDESK_CONFIG must; the default
// ./jabberdesk.toml may be missing (then the defaults apply).
func (e *env) configFile() (path string, mustExist bool) {
	if e.root != nil && e.root.PersistentFlags().Changed("config") {
		return e.configPath, true
	}
	if p := os.Getenv(configEnv); p != "" {
		return p, true
	}
	return defaultConfigFile, false
}

// config loads the configuration once.
func (e *env) config() (*config.Config, error) {
	if e.cfg != nil {
		return e.cfg, nil
	}
	path, mustExist := e.configFile()
	cfg, err := config.Load(path, mustExist)
	if err != nil {
		return nil, configError(err)
	}
	e.cfg = cfg
	return cfg, nil
}

// configError introduces a list of several configuration problems.
func configError(err error) error {
	var ce *config.Errors
	if errors.As(err, &ce) && len(ce.Problems) > 1 {
		return fmt.Errorf("%d problems in the configuration:\n%w", len(ce.Problems), err)
	}
	return err
}

// dbPath is the SQLite database file of cfg's data directory.
// uploadsDir is where the files of chats are kept.
func uploadsDir(cfg *config.Config) string {
	if cfg.Uploads.Dir != "" {
		return cfg.Uploads.Dir
	}
	return filepath.Join(cfg.DataDir, "uploads")
}

func dbPath(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, databaseFile)
}

// storeAddr is the database of cfg as store.Open takes it: store.url,
// else the SQLite file in the data directory. It may hold a password:
// print storeName instead.
func storeAddr(cfg *config.Config) string {
	if cfg.Store.URL != "" {
		return cfg.Store.URL
	}
	return dbPath(cfg)
}

// storeName is the database of cfg fit to print: the file, or the URL
// without its password.
func storeName(cfg *config.Config) string {
	if cfg.Store.URL != "" {
		return cfg.Store.RedactedURL()
	}
	return dbPath(cfg)
}

// storeProbeTimeout bounds the look at whether the configured database
// exists.
const storeProbeTimeout = 30 * time.Second

// storeExists reports whether the configured database exists: the
// SQLite file, or the store's schema in the PostgreSQL database.
func storeExists(cfg *config.Config) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeProbeTimeout)
	defer cancel()
	return store.Exists(ctx, storeAddr(cfg))
}

// store opens the existing database once. Commands other than init and
// serve never create one: a missing database usually means a wrong
// directory, store.url or --config.
func (e *env) store() (*store.Store, error) {
	if e.st != nil {
		return e.st, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	ok, err := storeExists(cfg)
	if err != nil {
		return nil, err
	}
	if !ok {
		from := "the defaults, as ./" + defaultConfigFile + " does not exist"
		if cfg.Path != "" {
			from = cfg.Path
		}
		what := "no database at " + storeName(cfg)
		if cfg.Store.URL != "" {
			what = "no jabberdesk tables in the database " + storeName(cfg) + " (store.url)"
		}
		return nil, fmt.Errorf("%s (configuration: %s); run 'jabberdesk init' first, or pass --config FILE", what, from)
	}
	return e.openStore()
}

// openStore opens the database, creating the data directory and the
// database (the SQLite file, or the tables in PostgreSQL's) if needed.
func (e *env) openStore() (*store.Store, error) {
	if e.st != nil {
		return e.st, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.Open(storeAddr(cfg), store.Options{Iterations: cfg.Auth.ScramIterations})
	if err != nil {
		return nil, err
	}
	e.st = st
	return st, nil
}

// close closes the store if it was opened.
func (e *env) close() error {
	if e.st == nil {
		return nil
	}
	err := e.st.Close()
	e.st = nil
	return err
}

// actor names who made a change, for the audit log.
func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// notify tells a running server what changed. The change is already
// stored, so a failure is only a warning; no server running is fine.
func (e *env) notify(cmd *cobra.Command, op, portal string) {
	e.notifyEvent(cmd, control.Event{Op: op, Portal: portal})
}

// notifyEvent tells a running server of a change, like notify.
func (e *env) notifyEvent(cmd *cobra.Command, ev control.Event) {
	cfg, err := e.config()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), notifyTimeout)
	defer cancel()
	_, err = control.Notify(ctx, control.SocketPath(cfg.DataDir), ev)
	if err != nil {
		_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "%swarning: the change is stored, but the running server was not told (it will see it after a restart): %v\n", errorPrefix(cmd), err) // stderr: nowhere to report a failure
	}
}

// emit prints v as indented JSON with --json, else calls human, whose
// first failed write is the error.
func (e *env) emit(cmd *cobra.Command, v any, human func(w *textout.Writer) error) error {
	w := cmd.OutOrStdout()
	if e.jsonOut {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	out := textout.New(w)
	if err := human(out); err != nil {
		return err
	}
	return out.Err()
}

// table aligns tab-separated columns: print rows with Printf and
// Println, then Flush, which reports the first write that failed.
type table struct {
	*textout.Writer
	tw *tabwriter.Writer
}

// newTable returns a table that writes to w.
func newTable(w io.Writer) *table {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	return &table{Writer: textout.New(tw), tw: tw}
}

// Flush writes the table out; the error is the first write that failed.
func (t *table) Flush() error {
	if err := t.Err(); err != nil {
		return err
	}
	return t.tw.Flush()
}

// formatTime is how times appear in tables.
func formatTime(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04")
}

// showHelp is the action of commands that only group others.
func showHelp(cmd *cobra.Command, _ []string) error {
	return cmd.Help()
}

// subcommandArgs refuses unknown subcommands of a command group.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &usageError{errors.New(msg)}
}

// exactArgs requires exactly the arguments named in upper case in the
// command's Use line, e.g. "add PORTAL USERNAME".
func exactArgs(cmd *cobra.Command, args []string) error {
	var names []string
	for _, w := range strings.Fields(cmd.Use)[1:] {
		if w == strings.ToUpper(w) && !strings.HasPrefix(w, "[") && !strings.HasPrefix(w, "-") {
			names = append(names, w)
		}
	}
	if len(args) == len(names) {
		return nil
	}
	if len(names) == 0 {
		return usagef("takes no arguments, got %d (%s)", len(args), strings.Join(args, " "))
	}
	noun := "arguments"
	if len(names) == 1 {
		noun = "argument"
	}
	return usagef("want %d %s (%s), got %d", len(names), noun, strings.Join(names, " "), len(args))
}

// flagError makes flag parsing errors usage errors, with plain messages
// for bad values.
func flagError(_ *cobra.Command, err error) error {
	var ive *pflag.InvalidValueError
	if errors.As(err, &ive) {
		name := "--" + ive.GetFlag().Name
		var ne *strconv.NumError
		var ue *store.UserError
		switch {
		case errors.As(err, &ne):
			return usagef("%s: %q is not a whole number", name, ive.GetValue())
		case errors.As(err, &ue):
			return usagef("%s: %s", name, ue.Msg)
		}
	}
	return &usageError{err}
}

// choiceValue is a flag whose value must be one of a set of names, checked
// by a parse function of the store (ParseRole, ParseDeskMode, ...).
type choiceValue[T ~string] struct {
	p     *T
	parse func(string) (T, error)
	typ   string
}

func (v *choiceValue[T]) String() string { return string(*v.p) }
func (v *choiceValue[T]) Type() string   { return v.typ }
func (v *choiceValue[T]) Set(s string) error {
	t, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = t
	return nil
}

// choiceVar defines a flag --name of type T.
func choiceVar[T ~string](fs *pflag.FlagSet, p *T, name, typ string, parse func(string) (T, error), usage string) {
	fs.Var(&choiceValue[T]{p: p, parse: parse, typ: typ}, name, usage)
}
