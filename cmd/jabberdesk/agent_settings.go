package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/address"
	"jabberdesk/internal/config"
	"jabberdesk/internal/textout"
	"jabberdesk/internal/tlsutil"
	"jabberdesk/store"
)

// setupCard is what an agent types into an XMPP client (docs/AGENTS.md §2.1).
type setupCard struct {
	Portal        string `json:"portal"`
	Username      string `json:"username"`
	Name          string `json:"name"`
	JID           string `json:"jid"`
	JIDBackslash  string `json:"jid_backslash"`
	PasswordHint  string `json:"password_hint"`
	PasswordReset string `json:"password_reset"`
	Host          string `json:"host"`
	// Port is the STARTTLS port and TLSPort the direct TLS port; nil when
	// that listener is disabled.
	Port        *int         `json:"port"`
	TLSPort     *int         `json:"tls_port"`
	Resources   []string     `json:"resources"`
	SelfSigned  bool         `json:"self_signed_certificate"`
	Certificate certInfo     `json:"certificate"`
	Notes       []clientNote `json:"notes"`
}

// certInfo is what an agent needs to check or pin the server's
// certificate.
type certInfo struct {
	// From: "self-signed" (generated), "files" (xmpp.cert_file) or
	// "acme" (an ACME authority; clients trust it).
	From      string `json:"from"`
	SHA256    string `json:"sha256,omitempty"`     // of the certificate, as clients show it
	PublicKey string `json:"public_key,omitempty"` // SHA-256 of its public key (poezio pins this)
	URL       string `json:"url,omitempty"`        // where to download it
}

// clientNote tells how to set up the clients of one platform.
type clientNote struct {
	Platform string   `json:"platform"`
	Clients  []string `json:"clients"`
	Steps    []string `json:"steps"`
}

func newAgentSettingsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "settings PORTAL USERNAME",
		Short: "Print an agent's client setup card: sign-in, host, ports, per-client notes",
		Long: `Settings prints what an agent types into an XMPP client, ready to copy:
the sign-in JID (also in the PORTAL\USERNAME form for clients that cannot
type "|"), where the password comes from, the host and ports to connect
to, a resource name, and short notes for common clients on Android, iOS
and desktop computers. The host is xmpp.public_host (or the domain), the
ports come from xmpp.listen_starttls and xmpp.listen_tls.`,
		Example: `  jabberdesk agent settings acme fiona.b
  jabberdesk agent settings acme fiona.b --json`,
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
			card := newSetupCard(e.cfg, a)
			return e.emit(cmd, card, func(w *textout.Writer) error { return card.print(w) })
		},
	}
}

// listenPort returns the port of a listen address, nil if disabled.
func listenPort(addr string) *int {
	if addr == "" {
		return nil
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return nil
	}
	return &n
}

func newSetupCard(cfg *config.Config, a store.Agent) setupCard {
	_, _, generated := cfg.CertPaths()
	addr := address.Agent{Portal: a.Portal, Key: a.Key()}
	user := addr.Local()
	c := setupCard{
		Portal:        a.Portal,
		Username:      a.Username,
		Name:          a.DisplayName,
		JID:           addr.JID(cfg.Domain),
		JIDBackslash:  addr.AltJID(cfg.Domain),
		PasswordHint:  "the password set with 'jabberdesk agent add' or 'jabberdesk agent passwd'",
		PasswordReset: "jabberdesk agent passwd " + a.Portal + " " + a.Username,
		Host:          cfg.PublicHostName(),
		Port:          listenPort(cfg.XMPP.ListenStartTLS),
		TLSPort:       listenPort(cfg.XMPP.ListenTLS),
		Resources:     []string{"phone", "desktop"},
		SelfSigned:    generated && !cfg.XMPP.ACME,
	}
	c.Certificate = certificateInfo(cfg)
	c.Notes = c.clientNotes(cfg.Domain, user)
	return c
}

// certificateInfo reads the certificate in use (not with ACME: it may not
// be there yet, and clients trust it).
func certificateInfo(cfg *config.Config) certInfo {
	certFile, _, generated := cfg.CertPaths()
	switch {
	case cfg.XMPP.ACME:
		return certInfo{From: "acme"}
	case generated:
		c := certInfo{From: "self-signed"}
		c.SHA256, c.PublicKey, _ = tlsutil.Fingerprints(certFile) // missing: printed as unknown
		if cfg.HTTP.Listen != "" {
			c.URL = publicURL(cfg, cfg.HTTP.Listen) + "/certificate.pem"
		}
		return c
	}
	c := certInfo{From: "files"}
	c.SHA256, c.PublicKey, _ = tlsutil.Fingerprints(certFile) // missing: printed as unknown
	return c
}

// connectPort is the port the notes recommend, and whether it is direct
// TLS; ok is false when no listener is enabled.
func (c setupCard) connectPort() (port int, directTLS, ok bool) {
	switch {
	case c.Port != nil:
		return *c.Port, false, true
	case c.TLSPort != nil:
		return *c.TLSPort, true, true
	}
	return 0, false, false
}

func (c setupCard) clientNotes(domain, user string) []clientNote {
	port, direct, ok := c.connectPort()
	if !ok {
		return []clientNote{}
	}
	hp := fmt.Sprintf("host %s, port %d", c.Host, port)
	kind, pidgin, gajim := "", `Connection security "Require encryption"`, "STARTTLS"
	if direct {
		kind = ` with "Direct TLS" on`
		pidgin = `Connection security "Use encryption (old-style SSL)"`
		gajim = "Direct TLS"
	}
	dino := fmt.Sprintf("Dino: sign in with %s and the password.", c.JID)
	if port != 5222 || c.Host != domain {
		dino = fmt.Sprintf("Dino: has no host or port setting; it needs DNS SRV records for %s (_xmpp-client._tcp to %s port %d", domain, c.Host, port)
		if c.TLSPort != nil {
			dino += fmt.Sprintf(", _xmpps-client._tcp to %s port %d", c.Host, *c.TLSPort)
		}
		dino += "): ask your administrator."
	}
	profTLS := "force"
	if direct {
		profTLS = "legacy"
	}
	notes := []clientNote{
		{Platform: "Android", Clients: []string{"Conversations", "blabber.im"}, Steps: []string{
			fmt.Sprintf("Add an account with the XMPP address %s and the password.", c.JID),
			"Host and port: turn on Settings > Expert settings > \"Extended connection settings\",",
			fmt.Sprintf("then set %s%s in the account.", hp, kind),
		}},
		{Platform: "iOS", Clients: []string{"Monal", "Siskin"}, Steps: []string{
			fmt.Sprintf("Add an account with %s and the password.", c.JID),
			fmt.Sprintf("Under the account's advanced / \"Server\" settings set the hostname %s and port %d%s.", c.Host, port, kind),
		}},
		{Platform: "Desktop", Clients: []string{"Gajim", "Dino", "Profanity", "Pidgin"}, Steps: []string{
			fmt.Sprintf("Gajim: Add account > Advanced: custom %s, connection type %s.", hp, gajim),
			dino,
			fmt.Sprintf("Profanity: /connect %s server %s port %d tls %s", c.JID, c.Host, port, profTLS),
			fmt.Sprintf("Pidgin: protocol XMPP, Username %s, Domain %s, Resource desktop; Advanced tab: %s, Connect port %d, Connect server %s.", user, domain, pidgin, port, c.Host),
		}},
	}
	if pin := c.pinNote(); pin != nil {
		notes = append(notes, *pin)
	}
	return notes
}

// pinNote says how each client is made to trust a self-signed
// certificate: most ask once and show its fingerprint; poezio and mcabber
// refuse it unless told.
func (c setupCard) pinNote() *clientNote {
	ci := c.Certificate
	if ci.From != "self-signed" || ci.SHA256 == "" {
		return nil
	}
	hex := strings.ToLower(strings.ReplaceAll(ci.SHA256, ":", ""))
	file := "the certificate file (from the administrator"
	if ci.URL != "" {
		file += ", or " + ci.URL
	}
	file += "; check it with: openssl x509 -in FILE -noout -fingerprint -sha256)"
	return &clientNote{Platform: "Trusting the self-signed certificate", Clients: []string{"every client"}, Steps: []string{
		"Conversations, Monal, Gajim, Dino, Pidgin: the client shows the certificate once; accept it only if its SHA-256 fingerprint is",
		"  " + ci.SHA256,
		"Profanity: check the fingerprint it shows, then /tls always",
		"mcabber: in ~/.mcabber/mcabberrc: set ssl_fingerprint = SHA256:" + hex + " and set ssl_ignore_checks = 1",
		"  (or set ssl_ca = " + file + ")",
		"poezio: in poezio.cfg: certificate = " + ci.PublicKey,
		"  and ca_cert_path = " + file,
	}}
}

func (c setupCard) print(w *textout.Writer) error {
	w.Printf("Client setup for %s (%s), portal %s\n\n", c.Name, c.Username, c.Portal)
	tw := newTable(w)
	tw.Printf("Sign-in (JID)\t%s\n", c.JID)
	tw.Printf("\t%s  (the same account, for clients that cannot type \"|\")\n", c.JIDBackslash)
	tw.Printf("Password\t%s\n\t(forgotten? a new one: %s)\n", c.PasswordHint, c.PasswordReset)
	tw.Printf("Host\t%s\n", c.Host)
	if c.Port != nil {
		tw.Printf("Port\t%d  (STARTTLS, TLS required)\n", *c.Port)
	} else {
		tw.Printf("Port\tnone: the STARTTLS listener is disabled on this server (xmpp.listen_starttls)\n")
	}
	if c.TLSPort != nil {
		tw.Printf("SSL/TLS port\t%d  (direct TLS, \"SSL\" in older clients)\n", *c.TLSPort)
	} else {
		tw.Printf("SSL/TLS port\tnone: the direct TLS listener is disabled on this server (xmpp.listen_tls)\n")
	}
	tw.Printf("Resource\t%s  (any name; a different one on each device)\n", strings.Join(c.Resources, " or "))
	switch ci := c.Certificate; {
	case ci.From == "acme":
		tw.Printf("Certificate\tfrom an ACME certificate authority (Let's Encrypt): clients trust it\n")
	case ci.SHA256 == "":
		tw.Printf("Certificate\tnot readable here (start the server once, or check xmpp.cert_file)\n")
	case c.SelfSigned:
		tw.Printf("Certificate\tself-signed: the client asks once whether to trust it (see below)\n")
		tw.Printf("  SHA-256\t%s\n", ci.SHA256)
	default:
		tw.Printf("Certificate SHA-256\t%s\n", ci.SHA256)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(c.Notes) == 0 {
		_, err := fmt.Fprintln(w, "\nNo client can connect: both XMPP listeners are disabled in the configuration.")
		return err
	}
	for _, n := range c.Notes {
		w.Printf("\n%s (%s):\n", n.Platform, strings.Join(n.Clients, ", "))
		for _, s := range n.Steps {
			w.Printf("  %s\n", s)
		}
	}
	return nil
}
