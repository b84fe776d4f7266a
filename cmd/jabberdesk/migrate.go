package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

// migrateBeforeVerify, when set (by tests), runs in the target's
// transaction before the copy is checked.
var migrateBeforeVerify func(ctx context.Context, tx pgx.Tx) error

func newMigrateCmd(e *env) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Copy an SQLite installation into an empty PostgreSQL database",
		Long: `Migrate copies a single server's SQLite database into an empty PostgreSQL
database, for servers that are to share it (docs/CLUSTER.md, "Moving to
PostgreSQL"). Stop the server first: migrate refuses while a server
answers on the data directory's control socket.

--from is the SQLite file (default: jabberdesk.db in the configuration's
data_dir); it must be at this jabberdesk's schema version, and is only
read. --to is the PostgreSQL database (default: the configuration's
store.url), which must exist; migrate creates the tables in it and
refuses it if any table already holds a row. Leave the password out of
the URL and give it in $PGPASSWORD or ~/.pgpass; it is never printed.

Every table is copied in one PostgreSQL transaction, parents before the
tables that refer to them, and each id sequence is set past the largest
id copied. Before the commit each table is read back and compared with
the SQLite one: the same number of rows and the same checksum (SHA-256
of the rows in primary key order). Any difference, or any other error,
rolls everything back and exits 1: the PostgreSQL tables are left
empty. The table printed (or --json) gives the rows and checksums.

Then set store.url in the configuration to the PostgreSQL URL and start
the server. The uploaded files under data_dir/uploads are not in the
database: keep them with the server (or copy them to its data_dir).`,
		Example: `  jabberdesk migrate --to 'postgres://jabberdesk@db.example.com/jabberdesk?sslmode=verify-full'
  PGPASSWORD=... jabberdesk migrate --from /var/lib/jabberdesk/jabberdesk.db --to postgres://jabberdesk@localhost/jabberdesk --json
  jabberdesk migrate --config /etc/jabberdesk/jabberdesk.toml   # to store.url of the file`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.runMigrate(cmd, from, to)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the SQLite database `FILE` (default: jabberdesk.db in data_dir)")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL database `URL`, postgres://... (default: store.url)")
	return cmd
}

// migrateResult is what migrate prints: the copy's report and its speed.
type migrateResult struct {
	*store.CopyReport
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
}

func (e *env) runMigrate(cmd *cobra.Command, from, to string) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if from == "" {
		from = dbPath(cfg)
	}
	if store.IsPostgresURL(from) {
		return usagef("--from: migrate copies from an SQLite file, not from PostgreSQL")
	}
	if to == "" {
		to = cfg.Store.URL
		if to == "" {
			return usagef("give the PostgreSQL database with --to postgres://..., or set store.url in the configuration")
		}
	} else if !store.IsPostgresURL(to) {
		return usagef("--to: %q is not a postgres:// URL", redactedURL(to))
	}
	if sock := control.SocketPath(filepath.Dir(from)); serverAnswers(sock) {
		return fmt.Errorf("a jabberdesk server is running on %s (its control socket %s answers): stop it first, so that nothing it writes during the copy is lost", filepath.Dir(from), sock)
	}
	opts := store.Options{Iterations: cfg.Auth.ScramIterations}
	src, err := store.OpenCopySource(from, opts)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }() // only read
	dst, err := store.Open(to, opts)
	if err != nil {
		return err
	}
	defer func() { _ = dst.Close() }() // the copy's transaction is over, committed or not
	progress := newMigrateProgress(cmd, e.jsonOut)
	start := time.Now()
	rep, err := store.CopyTo(cmd.Context(), src, dst, store.CopyOptions{Progress: progress, BeforeVerify: migrateBeforeVerify})
	elapsed := time.Since(start)
	res := migrateResult{CopyReport: rep, Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		res.RowsPerSecond = float64(rep.Rows) / elapsed.Seconds()
	}
	if err == nil || errors.Is(err, store.ErrCopyMismatch) {
		if perr := e.emit(cmd, res, func(w *textout.Writer) error { return printMigrate(w, res) }); err == nil {
			err = perr
		}
	}
	return err
}

// printMigrate prints the copy's report as a table and a summary.
func printMigrate(w *textout.Writer, res migrateResult) error {
	tw := newTable(w)
	tw.Println("TABLE\tROWS\tREAD BACK\tCHECKSUM\tOK")
	for _, t := range res.Tables {
		ok := "yes"
		switch {
		case t.TargetChecksum == "":
			ok = "-"
		case !t.OK:
			ok = "NO"
		}
		tw.Printf("%s\t%d\t%d\t%s\t%s\n", t.Table, t.Rows, t.TargetRows, shortSum(t.Checksum), ok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case res.Committed:
		w.Printf("Copied %d rows of %d tables from %s to %s in %.1f s (%.0f rows/s); every table read back matches.\n",
			res.Rows, len(res.Tables), res.From, res.To, res.Seconds, res.RowsPerSecond)
		w.Printf("Next: set store.url in the configuration to this database, and start the server.\n")
	default:
		w.Printf("Nothing was committed: %s is as it was.\n", res.To)
	}
	return w.Err()
}

// shortSum is the start of a checksum, enough to compare by eye.
func shortSum(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// newMigrateProgress says, on standard error at most once a second once
// the copy has run for a second, how far it got; nothing with --json.
func newMigrateProgress(cmd *cobra.Command, jsonOut bool) func(string, int64) {
	if jsonOut {
		return nil
	}
	last := time.Now() // a copy done within a second says nothing
	return func(table string, rows int64) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		// Progress is a courtesy: a failed write to stderr changes nothing.
		_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "copying %s: %d rows\n", table, rows)
	}
}

// serverAnswers reports whether a server listens on the control socket.
func serverAnswers(sock string) bool {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return false
	}
	_ = c.Close() // it answered: that is all there is to know
	return true
}

// redactedURL is a URL without its password, fit to print.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}
