package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"jabberdesk/bridge/im"
	"jabberdesk/channels"
	"jabberdesk/internal/textout"
	"jabberdesk/store"
)

// channelCheck is what channel check found.
type channelCheck struct {
	Portal  string              `json:"portal"`
	Channel string              `json:"channel"`
	Type    store.ChannelType   `json:"type"`
	OK      bool                `json:"ok"`
	Account *checkedAccount     `json:"account,omitempty"`
	Failure channels.Kind       `json:"failure,omitempty"` // token_expired, provider_error, temporary…
	Error   string              `json:"error,omitempty"`
	Status  store.ChannelStatus `json:"status"`
	State   string              `json:"state"` // as channel list shows it
}

type checkedAccount struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func newChannelCheckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "check PORTAL NAME",
		Short: "Check a channel's token with the provider",
		Long: `Check calls the provider with the channel's token (Telegram getMe,
WhatsApp the business phone number, LINE the bot info, Messenger and
Instagram /me) and prints the account it reached: its name and id.

The answer is recorded as the channel's state: ok, token_expired (set a
new token with channel set --secrets-stdin) or provider_error with the
provider's code and text. No answer, a 5xx or a rate limit leaves the
state as it was. A failed check exits with status 1 and says why in one
line on standard error (with --json, the result is printed as well).
Disabled channels are checked too.`,
		Example: `  jabberdesk channel check acme tg-support
  jabberdesk channel check acme wa-sales --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, c, err := e.channel(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			acct, checkErr := im.CheckChannel(cmd.Context(), st, c, nil)
			if fresh, err := st.ChannelByID(cmd.Context(), c.ID); err == nil {
				c = fresh
			} // else the state is shown as it was before the check
			res := channelCheck{Portal: c.Portal, Channel: c.Name, Type: c.Type, OK: checkErr == nil, Status: c.Status, State: channelState(c)}
			if checkErr == nil {
				res.Account = &checkedAccount{ID: acct.ID, Name: acct.Name}
			} else {
				res.Error = checkFailure(c, checkErr)
				if f := channels.AsFailure(checkErr); f != nil {
					res.Failure = f.Kind
				}
			}
			err = e.emit(cmd, res, func(w *textout.Writer) error {
				if res.OK {
					w.Printf("Channel %s (%s) of portal %s reaches %s (id %s); state %s.\n", c.Name, c.Type, c.Portal, dash(acct.Name), dash(acct.ID), res.State)
				}
				return w.Err()
			})
			if err != nil || checkErr == nil {
				return err
			}
			return errors.New(res.Error)
		},
	}
}

// checkFailure says in one line why a channel's check failed, and what
// to do where there is something to do.
func checkFailure(c store.Channel, err error) string {
	what := strings.Join(strings.Fields(err.Error()), " ") // one line, whatever the provider wrote
	f := channels.AsFailure(err)
	switch {
	case f == nil:
		return fmt.Sprintf("channel %s of portal %s cannot be checked: %s", c.Name, c.Portal, what)
	case f.Kind == channels.TokenExpired:
		return fmt.Sprintf("%s refused the token of channel %s (%s); set a new one: jabberdesk channel set %s %s --secrets-stdin",
			c.Type.Title(), c.Name, what, c.Portal, c.Name)
	case f.Retryable():
		return fmt.Sprintf("%s did not answer the check of channel %s (%s); the state is unchanged, try again later", c.Type.Title(), c.Name, what)
	}
	return fmt.Sprintf("%s refused the check of channel %s: %s", c.Type.Title(), c.Name, what)
}
