package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newSettingsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show and change a portal's settings (automatic conversion of chats to tickets, ratings)",
		Long: `A portal's settings say which of its chats become helpdesk tickets
automatically, when, and with which status:

  convert          which chats: all, attended (an agent accepted it),
                   missed (no agent accepted it) or none (default: none;
                   agents still make tickets with #support conasreq,
                   or #convert N on the Desk contact)
  convert_when     when: accept (when an agent accepts the chat) or end
                   (when the chat ends; default). Missed chats are never
                   accepted: they become tickets when they are missed.
  convert_status   the status of the tickets made: open (default) or closed
  ratings          on (default) or off: whether a chat an agent took part
                   in asks the visitor, when it ends, to rate it from 1 to
                   5 stars (the widget's question; a channel customer gets
                   it as a message)

Missed chats that become tickets are in the Missed chats view:
  jabberdesk ticket list PORTAL --view missed
A chat whose visitor gave no email cannot become a ticket; it is flagged
instead. An agent adds the email and converts it on the Desk contact
(#setemail N EMAIL, then #convert N), or an admin runs
jabberdesk ticket create PORTAL --from-chat N --email EMAIL. The flagged
chats are:
  jabberdesk ticket list PORTAL --view flagged
Chats of departments with desk mode none never become tickets.

Changes take effect at once, also while the server runs.`,
		Example: `  jabberdesk settings show acme
  jabberdesk settings set acme convert missed
  jabberdesk settings set acme convert_when accept
  jabberdesk settings set acme convert_status closed
  jabberdesk settings set acme ratings off`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newSettingsShowCmd(e), newSettingsSetCmd(e))
	return cmd
}

// settingRow is a line of settings show.
type settingRow struct {
	store.SettingKey
	Value string `json:"value"`
}

func newSettingsShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show PORTAL",
		Short: "Show a portal's settings",
		Long:  `Show prints every setting of a portal: its value, its default, the values it accepts and what it does.`,
		Example: `  jabberdesk settings show acme
  jabberdesk settings show acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			values, err := st.PortalSettings(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rows := []settingRow{}
			for _, k := range store.SettingKeys() {
				rows = append(rows, settingRow{SettingKey: k, Value: values[k.Key]})
			}
			return e.emit(cmd, rows, func(w *textout.Writer) error {
				tw := newTable(w)
				tw.Println("SETTING\tVALUE\tDEFAULT\tACCEPTS\tWHAT IT DOES")
				for _, r := range rows {
					accepts := strings.Join(r.Accepts, ", ")
					if r.Accepts == nil {
						accepts = fmt.Sprintf("text (%d characters)", store.TeamNameMax)
					}
					tw.Printf("%s\t%s\t%s\t%s\t%s\n", r.Key, dash(r.Value), dash(r.Default), accepts, r.Help)
				}
				return tw.Flush()
			})
		},
	}
}

func newSettingsSetCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "set PORTAL KEY VALUE",
		Short: "Change a portal setting",
		Long: `Set changes a setting of a portal to one of the values it accepts (see:
jabberdesk settings show PORTAL). The change is recorded in the audit log
and takes effect at once.`,
		Example: `  jabberdesk settings set acme convert attended
  jabberdesk settings set acme convert_when accept --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if err := st.SetPortalSetting(cmd.Context(), args[0], args[1], args[2], actor()); err != nil {
				return err
			}
			values, err := st.PortalSettings(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(args[1])), "-", "_") // as SetPortalSetting reads it
			v := map[string]any{"portal": args[0], "key": key, "value": values[key]}
			return e.emit(cmd, v, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Portal %s: %s = %s.\n", args[0], key, values[key])
				return err
			})
		},
	}
}
