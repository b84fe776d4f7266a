package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jabberdesk/bridge/im"
	"jabberdesk/internal/control"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

func newChannelCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channel",
		Short: "Connect a portal's WhatsApp, Telegram, LINE, Messenger and Instagram accounts",
		Long: `A channel is a portal's account with a messaging provider: a Telegram bot, a
WhatsApp Business number, a LINE Official Account, a Facebook page
(messenger) or an Instagram professional account. Customers who write to
it appear to agents like web visitors: offered, accepted with y, and
answered from the agents' Jabber clients.

Each channel has a webhook address on the HTTP listener that the provider
must be told (channel show prints it), and secrets that prove requests
come from the provider and let jabberdesk answer. Secrets are read as a
JSON object on standard input, never from the command line, and are
never printed:
` + secretsHelp() + `
A channel with a department gets its chats routed there.`,
		Example: `  printf '{"bot_token":"123456:ABC..."}' | jabberdesk channel add acme telegram tg-support --dept Support
  jabberdesk channel list acme
  jabberdesk channel show acme tg-support
  jabberdesk channel check acme tg-support
  jabberdesk channel set acme tg-support --disable
  jabberdesk channel remove acme tg-support`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newChannelAddCmd(e), newChannelListCmd(e), newChannelShowCmd(e), newChannelCheckCmd(e), newChannelSetCmd(e), newChannelRemoveCmd(e))
	return cmd
}

// channelSecrets are the secrets each type needs (required) and may have,
// by the names of package channels (phone_number_id, WhatsApp's number,
// is not secret but comes with them). access_token is the page or
// system-user token for Meta, the channel access token for LINE.
var channelSecrets = map[store.ChannelType]struct{ required, optional []string }{
	store.ChannelTelegram:  {[]string{"bot_token"}, []string{"secret_token"}},
	store.ChannelWhatsApp:  {[]string{"access_token", "app_secret", "verify_token", "phone_number_id"}, nil},
	store.ChannelLINE:      {[]string{"access_token", "channel_secret"}, nil},
	store.ChannelMessenger: {[]string{"access_token", "app_secret", "verify_token"}, nil},
	store.ChannelInstagram: {[]string{"access_token", "app_secret", "verify_token"}, nil},
}

func secretsHelp() string {
	var b strings.Builder
	for _, t := range []store.ChannelType{store.ChannelTelegram, store.ChannelWhatsApp, store.ChannelLINE, store.ChannelMessenger, store.ChannelInstagram} {
		s := channelSecrets[t]
		fmt.Fprintf(&b, "  %-10s %s", t, strings.Join(s.required, ", "))
		if len(s.optional) > 0 {
			fmt.Fprintf(&b, " (optional: %s)", strings.Join(s.optional, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("For telegram, a secret_token is made up when none is given; jabberdesk\nregisters it with the webhook.\n")
	return b.String()
}

// readSecrets reads the JSON object of secrets from standard input and
// checks its names for the type; partial allows a subset (channel set).
func readSecrets(cmd *cobra.Command, t store.ChannelType, partial bool) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read the secrets from standard input: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, usagef("standard input must be a JSON object of secrets, like {\"bot_token\":\"...\"}: %v", jsonProblem(err))
	}
	spec := channelSecrets[t]
	known := map[string]bool{}
	for _, k := range append(append([]string{}, spec.required...), spec.optional...) {
		known[k] = true
	}
	var unknown, missing []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if !partial {
		for _, k := range spec.required {
			if m[k] == "" {
				missing = append(missing, k)
			}
		}
	}
	sort.Strings(unknown)
	switch {
	case len(unknown) > 0:
		return nil, usagef("%s channels have no secret %s: they take %s", t, strings.Join(unknown, ", "),
			strings.Join(append(append([]string{}, spec.required...), spec.optional...), ", "))
	case len(missing) > 0:
		return nil, usagef("%s channels need the secrets %s on standard input", t, strings.Join(missing, ", "))
	}
	if t == store.ChannelTelegram && !partial && m["secret_token"] == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		m["secret_token"] = hex.EncodeToString(b)
	}
	return m, nil
}

// jsonProblem says what is wrong with JSON input without echoing it: the
// input holds secrets.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return "every value must be a string"
	}
	return "not a JSON object"
}

// channel opens the store and reads a portal's channel.
func (e *env) channel(cmd *cobra.Command, portal, name string) (*store.Store, store.Channel, error) {
	st, err := e.store()
	if err != nil {
		return nil, store.Channel{}, err
	}
	c, err := st.Channel(cmd.Context(), portal, name)
	return st, c, err
}

// channelChanged tells a running server that a channel was added or
// changed, which registers a Telegram channel's webhook at once, and
// reads the channel again with the state that left.
func (e *env) channelChanged(cmd *cobra.Command, st *store.Store, c store.Channel) store.Channel {
	e.notifyEvent(cmd, control.Event{Op: control.OpChannelChanged, Portal: c.Portal, Channel: c.Name})
	fresh, err := st.ChannelByID(cmd.Context(), c.ID)
	if err != nil {
		return c // the change is stored: it is shown as written
	}
	return fresh
}

// channelView is a channel as the CLI shows it: no secret values, their
// names, and the webhook address.
type channelView struct {
	store.Channel
	SecretNames []string `json:"secrets"`
	Webhook     string   `json:"webhook_url"`
}

func (e *env) channelView(c store.Channel) channelView {
	return channelView{Channel: c, SecretNames: c.SecretNames(), Webhook: e.webhookURL(c)}
}

// webhookURL is the address the provider posts to.
func (e *env) webhookURL(c store.Channel) string {
	return publicURL(e.cfg, e.cfg.HTTP.Listen) + "/hooks/" + c.PublicID
}

func channelState(c store.Channel) string {
	switch {
	case c.Disabled:
		return "disabled"
	case c.Status == store.ChannelRateLimited && c.StatusUntil != nil:
		return "rate_limited until " + formatTime(*c.StatusUntil)
	case c.StatusDetail != "":
		return string(c.Status) + " (" + c.StatusDetail + ")"
	}
	return string(c.Status)
}

func newChannelAddCmd(e *env) *cobra.Command {
	var dept, apiBase string
	cmd := &cobra.Command{
		Use:   "add PORTAL TYPE NAME",
		Short: "Connect a provider account (secrets as JSON on standard input)",
		Long: `Add connects a provider account to a portal. TYPE is telegram, whatsapp,
line, messenger or instagram; NAME is 1 to 40 letters, digits, -, _ and .,
unique in the portal, and not one of the other words of #chats (its views,
replied, unreplied, web): agents type it, as in #chats mine NAME. The
secrets are a JSON object on standard input:
` + secretsHelp() + `
--api-base points the channel at another address of the provider's API
(a staging or test server); by default it speaks to the provider itself.
Afterwards, register the webhook address that channel show prints with
the provider; for telegram the server does it (setWebhook), at once if it
is running. channel check tests the token.`,
		Example: `  printf '{"bot_token":"123456:ABC..."}' | jabberdesk channel add acme telegram tg-support --dept Support
  jabberdesk channel add acme whatsapp wa-sales < wa-secrets.json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := store.ParseChannelType(args[1])
			if err != nil {
				return err
			}
			secrets, err := readSecrets(cmd, t, false)
			if err != nil {
				return err
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			c, err := st.AddChannel(cmd.Context(), store.NewChannel{Portal: args[0], Name: args[2], Type: t, Department: dept, APIBase: apiBase, Secrets: secrets}, actor())
			if err != nil {
				return err
			}
			v := e.channelView(e.channelChanged(cmd, st, c))
			return e.emit(cmd, v, func(w *textout.Writer) error {
				w.Printf("Added %s channel %s to portal %s.\n", c.Type, c.Name, c.Portal)
				if v.Status != store.ChannelOK {
					w.Printf("State: %s\n", channelState(v.Channel))
				}
				return printWebhookAdvice(w, v)
			})
		},
	}
	cmd.Flags().StringVar(&dept, "dept", "", "route the channel's chats to `DEPARTMENT`")
	cmd.Flags().StringVar(&apiBase, "api-base", "", "the provider API's base `URL` (default: the provider's own)")
	return cmd
}

// printWebhookAdvice says what to register with the provider.
func printWebhookAdvice(w *textout.Writer, v channelView) error {
	w.Printf("Webhook URL: %s\n", v.Webhook)
	if !strings.HasPrefix(v.Webhook, "https://") {
		w.Println("Providers only call HTTPS addresses: set http.public_url to the HTTPS address of this server (or of a proxy in front of its HTTP listener).")
	}
	var how string
	switch v.Type {
	case store.ChannelTelegram:
		how = "jabberdesk registers it with Telegram (setWebhook, with the secret token) when the server starts, and at once when a running server is told of a channel add or set; failures show in the channel's state."
	case store.ChannelWhatsApp, store.ChannelMessenger, store.ChannelInstagram:
		how = "Enter it as the callback URL of the app's Webhooks product in the Meta developer dashboard, with the verify token, and subscribe to the messages field."
	case store.ChannelLINE:
		how = "Enter it as the webhook URL in the LINE Developers console (Messaging API tab) and turn on \"Use webhook\"."
	}
	w.Println(how)
	return w.Err()
}

func newChannelListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list PORTAL",
		Short: "List a portal's channels and their state",
		Long: `List prints each channel's name, type, department and state: ok, disabled,
token_expired, rate_limited (until when) or provider_error (code and text),
as the provider's last answer left it.`,
		Example: `  jabberdesk channel list acme
  jabberdesk channel list acme --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if _, err := st.Portal(cmd.Context(), args[0]); err != nil {
				return err
			}
			cs, err := st.Channels(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			views := make([]channelView, len(cs))
			for i, c := range cs {
				views[i] = e.channelView(c)
			}
			return e.emit(cmd, views, func(w *textout.Writer) error {
				if len(views) == 0 {
					_, err := fmt.Fprintf(w, "Portal %s has no channels. Connect one with: jabberdesk channel add %s TYPE NAME\n", args[0], args[0])
					return err
				}
				tw := newTable(w)
				tw.Println("CHANNEL\tTYPE\tDEPARTMENT\tSTATE")
				for _, v := range views {
					tw.Printf("%s\t%s\t%s\t%s\n", v.Name, v.Type, dash(v.Department), channelState(v.Channel))
				}
				return tw.Flush()
			})
		},
	}
}

func newChannelShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show PORTAL NAME",
		Short: "Show a channel and the webhook address to register",
		Long: `Show prints a channel's type, department, state, the names of its secrets
(never their values) and the webhook URL to register with the provider.`,
		Example: `  jabberdesk channel show acme tg-support
  jabberdesk channel show acme tg-support --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := e.channel(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			v := e.channelView(c)
			return e.emit(cmd, v, func(w *textout.Writer) error {
				tw := newTable(w)
				tw.Printf("Channel\t%s (%s) of portal %s\n", v.Name, v.Type, v.Portal)
				tw.Printf("Department\t%s\n", dash(v.Department))
				tw.Printf("State\t%s\n", channelState(v.Channel))
				tw.Printf("Secrets\t%s\n", strings.Join(v.SecretNames, ", "))
				api := v.APIBase
				if api == "" {
					api = "the provider's own"
				}
				tw.Printf("API base\t%s\n", api)
				tw.Printf("Created\t%s\n", formatTime(v.CreatedAt))
				if err := tw.Flush(); err != nil {
					return err
				}
				return printWebhookAdvice(w, v)
			})
		},
	}
}

func newChannelSetCmd(e *env) *cobra.Command {
	var dept, apiBase string
	var noDept, disable, enable, secretsStdin bool
	cmd := &cobra.Command{
		Use:   "set PORTAL NAME",
		Short: "Change a channel's department, API base, secrets or whether it is on",
		Long: `Set changes what its flags say. --secrets-stdin reads a JSON object of the
secrets to replace (an empty value removes one); --disable stops taking
and sending messages (webhooks are answered 503 so that the provider
keeps them and delivers them after --enable).`,
		Example: `  jabberdesk channel set acme tg-support --dept Sales
  printf '{"bot_token":"123456:NEW..."}' | jabberdesk channel set acme tg-support --secrets-stdin
  jabberdesk channel set acme tg-support --disable`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var u store.ChannelUpdate
			f := cmd.Flags()
			switch {
			case f.Changed("dept") && noDept:
				return usagef("--dept and --no-dept exclude each other")
			case f.Changed("dept"):
				u.Department = &dept
			case noDept:
				none := ""
				u.Department = &none
			}
			if f.Changed("api-base") {
				u.APIBase = &apiBase
			}
			switch {
			case disable && enable:
				return usagef("--disable and --enable exclude each other")
			case disable, enable:
				u.Disabled = &disable
			}
			st, c, err := e.channel(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			if secretsStdin {
				if u.Secrets, err = readSecrets(cmd, c.Type, true); err != nil {
					return err
				}
			}
			if u.Department == nil && u.APIBase == nil && u.Disabled == nil && u.Secrets == nil {
				return usagef("nothing to change: give at least one of --dept, --no-dept, --api-base, --secrets-stdin, --disable, --enable")
			}
			if c, err = st.UpdateChannel(cmd.Context(), args[0], args[1], u, actor()); err != nil {
				return err
			}
			v := e.channelView(e.channelChanged(cmd, st, c))
			return e.emit(cmd, v, func(w *textout.Writer) error {
				_, err := fmt.Fprintf(w, "Channel %s of portal %s: department %s, %s.\n", v.Name, v.Portal, dash(v.Department), channelState(v.Channel))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dept, "dept", "", "route the channel's chats to `DEPARTMENT`")
	f.BoolVar(&noDept, "no-dept", false, "route the channel's chats to the whole portal")
	f.StringVar(&apiBase, "api-base", "", "the provider API's base `URL` (\"\" for the provider's own)")
	f.BoolVar(&secretsStdin, "secrets-stdin", false, "read secrets to replace as JSON from standard input")
	f.BoolVar(&disable, "disable", false, "stop the channel")
	f.BoolVar(&enable, "enable", false, "start the channel again")
	return cmd
}

func newChannelRemoveCmd(e *env) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "remove PORTAL NAME",
		Short: "Disconnect a channel",
		Long: `Remove deletes a channel with its customers, unsent messages and templates.
Its chats and tickets stay, without the channel.

A Telegram channel's webhook is deleted at Telegram first (deleteWebhook);
if Telegram cannot be reached the channel is removed all the same and the
command says so; --keep-webhook leaves it (the bot moves to another
server). For WhatsApp, LINE, Messenger and Instagram, remove the webhook
URL in the provider's console.`,
		Example: `  jabberdesk channel remove acme tg-support
  jabberdesk channel remove acme tg-old --keep-webhook`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, c, err := e.channel(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			webhook := "its webhook was left at the provider."
			if !keep {
				webhook = unregisterWebhook(cmd.Context(), c)
			}
			if err := st.RemoveChannel(cmd.Context(), c.Portal, c.Name, actor()); err != nil {
				return err
			}
			v := map[string]any{"portal": c.Portal, "channel": c.Name, "removed": true, "webhook": webhook}
			return e.emit(cmd, v, func(w *textout.Writer) error {
				w.Printf("Removed channel %s from portal %s; %s\n", c.Name, c.Portal, webhook)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&keep, "keep-webhook", false, "leave the webhook registered at the provider")
	return cmd
}

// unregisterWebhook deletes a channel's webhook at the provider where
// jabberdesk registered it (Telegram), and says what became of it.
func unregisterWebhook(ctx context.Context, c store.Channel) string {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err := im.Unregister(ctx, c, nil)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return "remove its webhook URL in the " + c.Type.Title() + " console too."
	case err != nil:
		return "its webhook could not be deleted at " + c.Type.Title() + " (" + err.Error() + "): Telegram will keep calling the old address, which now answers 404."
	}
	return "its webhook was deleted at " + c.Type.Title() + "."
}
