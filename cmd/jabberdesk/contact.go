package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newContactCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contact",
		Short: "Add, list and import a portal's helpdesk contacts",
		Long: `Contacts are the people the helpdesk knows, one per portal and email
(ignoring case): name, email, phone, the account (customer organisation)
they belong to and the agent who looks after them (owner). Tickets are
filed under their contact; a ticket made from a chat finds its contact by
the visitor's email, or creates it.

A contact's account decides the SLA of their tickets; add accounts first
with jabberdesk account add.`,
		Example: `  jabberdesk contact add acme --email ann@example.com --name "Ann Smith" --account Globex --owner fiona.b
  jabberdesk contact list acme
  jabberdesk contact import acme contacts.csv`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newContactAddCmd(e), newContactListCmd(e), newContactImportCmd(e))
	return cmd
}

// contactDetails is a contact's account and owner as they appear in
// messages, "" when it has neither.
func contactDetails(c store.Contact) string {
	var parts []string
	if c.Account != "" {
		parts = append(parts, "account "+c.Account)
	}
	if c.Owner != "" {
		parts = append(parts, "owner "+c.Owner)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func newContactAddCmd(e *env) *cobra.Command {
	var c store.Contact
	cmd := &cobra.Command{
		Use:   "add PORTAL",
		Short: "Create a contact",
		Long: fmt.Sprintf(`Add creates a contact. The email is required and must be new in the
portal; the name is at most %d characters, the phone at most %d. --account
names one of the portal's accounts and --owner one of its agents (both
ignoring case).`, store.VisitorNameMax, store.ContactPhoneMax),
		Example: `  jabberdesk contact add acme --email ann@example.com --name "Ann Smith"
  jabberdesk contact add acme --email bob@globex.example --name "Bob Jones" --phone "+1 555 0100" --account Globex --owner fiona.b --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if !f.Changed("email") {
				return usagef("--email is required (the contact's email address)")
			}
			if !f.Changed("name") {
				return usagef("--name is required (the contact's name)")
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			c.Portal = args[0]
			added, err := st.AddContact(cmd.Context(), c, actor())
			if err != nil {
				return err
			}
			return e.emit(cmd, added, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Added contact %s <%s> to portal %s%s.\n", added.Name, added.Email, added.Portal, contactDetails(added))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Email, "email", "", "the contact's email `ADDRESS` (required)")
	f.StringVar(&c.Name, "name", "", "the contact's `NAME` (required)")
	f.StringVar(&c.Phone, "phone", "", "the contact's phone `NUMBER`")
	f.StringVar(&c.Account, "account", "", "the `ACCOUNT` the contact belongs to (see: jabberdesk account list)")
	f.StringVar(&c.Owner, "owner", "", "`USERNAME` of the agent who looks after the contact")
	return cmd
}

func newContactListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's contacts",
		Long:  `List prints a portal's contacts by email: email, name, phone, account and owner.`,
		Example: `  jabberdesk contact list acme
  jabberdesk contact list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			cs, err := st.Contacts(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return e.emit(cmd, cs, func(w *textout.Writer) error {
				if len(cs) == 0 {
					_, err := fmt.Fprintf(w, "Portal %s has no contacts yet. Add one with: jabberdesk contact add %s --email EMAIL --name NAME\n", args[0], args[0])
					return err
				}
				tw := newTable(w)
				tw.Println("EMAIL\tNAME\tPHONE\tACCOUNT\tOWNER")
				for _, c := range cs {
					tw.Printf("%s\t%s\t%s\t%s\t%s\n", c.Email, dash(c.Name), dash(c.Phone), dash(c.Account), dash(c.Owner))
				}
				return tw.Flush()
			})
		},
	}
}

// contactColumns are the columns of a contacts CSV file.
var contactColumns = []string{"email", "name", "phone", "account", "owner"}

func newContactImportCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "import PORTAL FILE",
		Short: "Add or update contacts from a CSV file",
		Long: `Import reads contacts from a CSV file ("-" for standard input). The first
line names the columns, in any order and ignoring case:

  email     required; a contact is found (or created) by it
  name, phone, account, owner     optional

A contact whose email is known is updated with the row's non-empty fields;
empty fields keep what is stored. Each email may be on one row only.
Accounts and owners must exist in the portal (see: jabberdesk account list,
jabberdesk agent list).

It is all or nothing: if any row is wrong, the error names its line (the
header is line 1) and what was wrong, and no contact is stored.`,
		Example: `  jabberdesk contact import acme contacts.csv
  printf 'email,name\nann@example.com,Ann Smith\n' | jabberdesk contact import acme -`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			portal, file := args[0], args[1]
			name := file
			var in io.Reader
			if file == "-" {
				name, in = "standard input", cmd.InOrStdin()
			} else {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer func() { _ = f.Close() }() // read only: closing loses nothing
				in = f
			}
			cs, lines, err := readContactsCSV(in, name)
			if err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			added, updated, err := st.ImportContacts(cmd.Context(), portal, cs, actor())
			if err != nil {
				return importError(name, lines, err)
			}
			v := map[string]any{"portal": portal, "added": added, "updated": updated}
			return e.emit(cmd, v, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Imported contacts into portal %s: added %d, updated %d.\n", portal, added, updated)
				return err
			})
		},
	}
}

// readContactsCSV reads the contacts of a CSV file with a header row, and
// for each the line it starts on. name is the file's name in errors.
func readContactsCSV(in io.Reader, name string) ([]store.Contact, []int, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s is empty: its first line must name the columns, e.g. %s", name, strings.Join(contactColumns, ","))
	}
	if err != nil {
		return nil, nil, csvError(name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // the byte order mark some spreadsheets write
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(contactColumns, h):
			return nil, nil, fmt.Errorf("%s line 1: column %q is not one of %s", name, header[i], strings.Join(contactColumns, ", "))
		case col[h] != 0:
			return nil, nil, fmt.Errorf("%s line 1: column %q is named twice", name, h)
		}
		col[h] = i + 1 // 0 means absent
	}
	if col["email"] == 0 {
		return nil, nil, fmt.Errorf("%s line 1: there is no email column; the first line names the columns, e.g. %s", name, strings.Join(contactColumns, ","))
	}
	var cs []store.Contact
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, csvError(name, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return nil, nil, fmt.Errorf("%s line %d: %d fields, but the header names %d columns; nothing was imported", name, line, len(rec), len(header))
		}
		field := func(c string) string {
			if i := col[c]; i != 0 {
				return rec[i-1]
			}
			return ""
		}
		cs = append(cs, store.Contact{Email: field("email"), Name: field("name"), Phone: field("phone"), Account: field("account"), Owner: field("owner")})
		lines = append(lines, line)
	}
	if len(cs) == 0 {
		return nil, nil, fmt.Errorf("%s has no contacts: there are no lines after the header", name)
	}
	return cs, lines, nil
}

// csvError is a CSV syntax error with its line.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s line %d: %v; nothing was imported", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("read %s: %w", name, err)
}

var (
	rowPrefix = regexp.MustCompile(`^row (\d+): `)
	otherRow  = regexp.MustCompile(`is on row (\d+) too`)
)

// importError turns the row numbers of an ImportContacts error into the
// lines of the CSV file (lines[i] is the line of row i+1).
func importError(name string, lines []int, err error) error {
	var ue *store.UserError
	if !errors.As(err, &ue) {
		return err
	}
	line := func(row string) (int, bool) {
		n, err := strconv.Atoi(row)
		if err != nil || n < 1 || n > len(lines) {
			return 0, false
		}
		return lines[n-1], true
	}
	m := rowPrefix.FindStringSubmatch(ue.Msg)
	if m == nil {
		return err
	}
	l, ok := line(m[1])
	if !ok {
		return err
	}
	msg := otherRow.ReplaceAllStringFunc(ue.Msg[len(m[0]):], func(s string) string {
		if other, ok := line(otherRow.FindStringSubmatch(s)[1]); ok {
			return fmt.Sprintf("is on line %d too", other)
		}
		return s
	})
	return &store.UserError{Msg: fmt.Sprintf("%s line %d: %s; nothing was imported", name, l, msg), Kind: ue.Kind}
}
