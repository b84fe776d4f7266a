package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newTemplateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Manage the WhatsApp message templates agents send outside the 24-hour window",
		Long: `WhatsApp lets a business write freely to a customer only within 24 hours of
the customer's last message; after that only message templates approved
by Meta may be sent. Record here the templates approved for a channel, as
they are in the WhatsApp Manager: name, language and body, with the
placeholders {{1}}, {{2}}… that agents fill in order with #tpl NAME ARG….
Only approved templates are sent.`,
		Example: `  jabberdesk template add acme wa-sales order_update --language en_US --body "Hi {{1}}, your order {{2}} has shipped."
  jabberdesk template list acme wa-sales
  jabberdesk template remove acme wa-sales order_update`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newTemplateAddCmd(e), newTemplateListCmd(e), newTemplateRemoveCmd(e))
	return cmd
}

func newTemplateAddCmd(e *env) *cobra.Command {
	var language, body string
	status := store.TemplateApproved
	cmd := &cobra.Command{
		Use:   "add PORTAL CHANNEL NAME",
		Short: "Record a message template of a channel",
		Long: `Add records a template as Meta approved it: NAME (lowercase letters, digits
and _), --language (a code such as en or en_US) and --body with its
placeholders {{1}}, {{2}}…. --status is approved (default), pending or
rejected; only approved templates can be sent.`,
		Example: `  jabberdesk template add acme wa-sales order_update --language en_US --body "Hi {{1}}, your order {{2}} has shipped."
  jabberdesk template add acme wa-sales follow_up --language de --body "Hallo {{1}}!" --status pending`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if language == "" || body == "" {
				return usagef("--language and --body are required")
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			t, err := st.AddTemplate(cmd.Context(), args[0], args[1], store.Template{Name: args[2], Language: language, Body: body, Status: status}, actor())
			if err != nil {
				return err
			}
			return e.emit(cmd, t, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Added template %s (%s, %s) to channel %s, with %d placeholders.\n", t.Name, t.Language, t.Status, t.Channel, t.Placeholders())
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&language, "language", "", "the template's language `CODE`, such as en_US (required)")
	f.StringVar(&body, "body", "", "the template's `TEXT` with placeholders {{1}}, {{2}}… (required)")
	choiceVar(f, &status, "status", "STATUS", store.ParseTemplateStatus, "approved, pending or rejected")
	return cmd
}

func newTemplateListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL CHANNEL",
		Short: "List a channel's message templates",
		Long:  `List prints a channel's templates: name, language, status, placeholders and body.`,
		Example: `  jabberdesk template list acme wa-sales
  jabberdesk template list acme wa-sales --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, c, err := e.channel(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			ts, err := st.Templates(cmd.Context(), c.ID)
			if err != nil {
				return err
			}
			return e.emit(cmd, ts, func(w *textout.Writer) error {
				if len(ts) == 0 {
					_, err := fmt.Fprintf(w, "Channel %s has no templates. Add one with: jabberdesk template add %s %s NAME --language L --body TEXT\n", c.Name, c.Portal, c.Name)
					return err
				}
				tw := newTable(w)
				tw.Println("TEMPLATE\tLANGUAGE\tSTATUS\tARGS\tBODY")
				for _, t := range ts {
					tw.Printf("%s\t%s\t%s\t%d\t%s\n", t.Name, t.Language, t.Status, t.Placeholders(), oneLine(t.Body, 60))
				}
				return tw.Flush()
			})
		},
	}
}

func newTemplateRemoveCmd(e *env) *cobra.Command {
	var language string
	cmd := &cobra.Command{
		Use:   "remove PORTAL CHANNEL NAME",
		Short: "Remove a message template",
		Long:  `Remove deletes a template of a channel: every language of it, or only --language.`,
		Example: `  jabberdesk template remove acme wa-sales order_update
  jabberdesk template remove acme wa-sales order_update --language de`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if err := st.RemoveTemplate(cmd.Context(), args[0], args[1], args[2], language, actor()); err != nil {
				return err
			}
			return e.emit(cmd, map[string]any{"portal": args[0], "channel": args[1], "template": args[2], "removed": true}, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Removed template %s from channel %s.\n", args[2], args[1])
				return err
			})
		},
	}
	cmd.Flags().StringVar(&language, "language", "", "remove only this language `CODE`")
	return cmd
}
