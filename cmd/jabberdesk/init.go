package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jabberdesk/internal/config"
	"jabberdesk/internal/textout"
	"jabberdesk/internal/tlsutil"
	"jabberdesk/store"
)

func newInitCmd(e *env) *cobra.Command {
	var domain, dataDir string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a configuration, create the database and a TLS certificate",
		Long: `Init prepares a jabberdesk installation:

  - writes the configuration file (--config, $JABBERDESK_CONFIG or
    ./jabberdesk.toml) with the domain and the data directory, unless it
    exists: an existing file is never changed;
  - creates the data directory and the database, or brings an existing
    database up to date;
  - creates a self-signed TLS certificate for the domain when no
    certificate is configured (xmpp.cert_file) and none was made before.

Running it again does no harm. --domain and --data-dir only apply when
the configuration file is written.`,
		Example: `  jabberdesk init --domain chat.example.com
  jabberdesk init --config /etc/jabberdesk/jabberdesk.toml --data-dir /var/lib/jabberdesk`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.runInit(cmd, domain, dataDir)
		},
	}
	cmd.Flags().StringVar(&domain, "domain", "", "XMPP `DOMAIN` agents sign in at, e.g. chat.example.com (default localhost)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "`DIR` for the database and certificate (default: data, next to the config file)")
	return cmd
}

func (e *env) runInit(cmd *cobra.Command, domain, dataDir string) error {
	out := textout.New(cmd.OutOrStdout())
	path, _ := e.configFile()
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	wrote, err := writeConfig(abs, domain, dataDir)
	if err != nil {
		return err
	}
	if wrote {
		out.Printf("Wrote configuration %s\n", abs)
	} else {
		out.Printf("Kept the existing configuration %s (init never changes it)\n", abs)
		if cmd.Flags().Changed("domain") || cmd.Flags().Changed("data-dir") {
			_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "%swarning: --domain and --data-dir apply only to a new configuration file; edit %s instead\n", errorPrefix(cmd), abs) // stderr: nowhere to report a failure
		}
	}
	cfg, err := config.Load(abs, true)
	if err != nil {
		return configError(err)
	}
	e.cfg = cfg
	if _, err := e.prepare(out, true); err != nil {
		return err
	}
	if cfg.Domain == "localhost" {
		out.Printf("Note: the domain is localhost, so only clients on this machine can sign in; set domain in %s for real use.\n", abs)
	}
	prog := "jabberdesk"
	if e.root.PersistentFlags().Changed("config") {
		prog += " --config " + shellQuote(path)
	}
	out.Printf("\nNext steps:\n")
	tw := newTable(out)
	tw.Printf("  %s portal add NAME\tcreate a portal (one customer organisation)\n", prog)
	tw.Printf("  %s serve\trun the server (add --demo to try it with a demo portal)\n", prog)
	if err := tw.Flush(); err != nil {
		return err
	}
	return out.Err()
}

// prepare makes sure the data directory, the database and (unless one is
// configured) the TLS certificate exist, and returns the open store. With
// verbose it says what it found as well as what it did; whether out could
// be written is for the caller to ask (out.Err).
func (e *env) prepare(out *textout.Writer, verbose bool) (*store.Store, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	existed, err := storeExists(cfg)
	if err != nil {
		return nil, err
	}
	st, err := e.openStore()
	if err != nil {
		return nil, err
	}
	switch {
	case !existed && cfg.Store.URL != "":
		out.Printf("Created the tables in the PostgreSQL database %s\n", storeName(cfg))
	case !existed:
		out.Printf("Created the database %s\n", storeName(cfg))
	case verbose:
		out.Printf("Database %s is ready\n", storeName(cfg))
	}
	if err := ensureCert(out, cfg, verbose); err != nil {
		return nil, err
	}
	return st, nil
}

// ensureCert creates the self-signed certificate when none is configured,
// or checks that the configured ones load, each with its key.
func ensureCert(out *textout.Writer, cfg *config.Config, verbose bool) error {
	cert, key, generated := cfg.CertPaths()
	if cfg.XMPP.ACME {
		if verbose {
			out.Printf("Certificates for %s come from the ACME authority %s\n", strings.Join(acmeHosts(cfg), ", "), cfg.XMPP.ACMEDirectory)
		}
		return nil
	}
	if !generated {
		if _, err := loadCertPairs(cfg, nil); err != nil {
			return err
		}
		if verbose {
			certs, _, _ := cfg.CertPairs()
			out.Printf("Using the configured certificate %s\n", strings.Join(certs, ", "))
		}
		return nil
	}
	hosts := []string{cfg.Domain, cfg.PublicHostName()}
	why, err := tlsutil.EnsureCertificate(cert, key, hosts, time.Now())
	if err != nil {
		return err
	}
	if why != "" {
		out.Printf("Created a self-signed certificate %s for %s, as %s (valid 825 days; set xmpp.cert_file and xmpp.key_file to use your own)\n",
			cert, strings.Join(uniq(hosts), ", "), why)
		if why != "there was none" {
			out.Println("Agents who accepted or pinned the old certificate will be asked to accept the new one; jabberdesk agent settings prints its fingerprint.")
		}
	} else if verbose {
		out.Printf("Certificate %s exists, kept\n", cert)
	}
	return nil
}

// writeConfig writes a new configuration file at path (absolute) and
// reports whether it did; an existing file is left alone.
func writeConfig(path, domain, dataDir string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" {
		domain = config.Default().Domain
	}
	dir := "data"
	if dataDir != "" {
		d, err := configRelative(filepath.Dir(path), dataDir)
		if err != nil {
			return false, err
		}
		dir = d
	}
	data := []byte(fmt.Sprintf(configTemplate, tomlString(domain), tomlString(dir)))
	if err := checkInitFlags(data); err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // the write's error is the one to report
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

const configTemplate = `# jabberdesk configuration, written by 'jabberdesk init'.
#
# Every key has a default, so only what differs needs to be here. All keys
# (listen addresses, TLS certificate, authentication, limits) are described
# line by line in config.example.toml. Check a changed file with:
#   jabberdesk serve --check

# The XMPP domain. Agents sign in as PORTAL|USERNAME@<domain>; it should be
# a DNS name of this server.
domain = %s

# Where the database, the generated TLS certificate and the control socket
# are kept. A relative path is relative to the directory of this file.
data_dir = %s
`

// checkInitFlags validates a configuration init is about to write and
// blames the flag that set a bad value.
func checkInitFlags(data []byte) error {
	_, err := config.Parse(data, "")
	var ce *config.Errors
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	flags := map[string]string{"domain": "--domain", "data_dir": "--data-dir"}
	var msgs []string
	for _, p := range ce.Problems {
		msgs = append(msgs, flags[p.Key]+": "+p.Msg)
	}
	return usagef("%s", strings.Join(msgs, "\n"))
}

// configRelative returns dir (given relative to the working directory) as
// written in a configuration file in cfgDir: relative to cfgDir when inside
// it, else absolute.
func configRelative(cfgDir, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(cfgDir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs, nil
	}
	return rel, nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:=@,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// uniq returns ss without empty strings and repeats, in order.
func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
