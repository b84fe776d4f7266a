package channels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind sorts a failed provider call into what the rest of the system does
// about it. The names are the channel and customer states that agents and
// administrators see.
type Kind string

// The kinds of failure.
const (
	// TokenExpired: the channel's token is no longer accepted (Telegram
	// 401, Graph code 190, LINE 401). Nothing will get through until an
	// administrator sets a new one.
	TokenExpired Kind = "token_expired"
	// CustomerBlocked: this customer blocked the account (Telegram 403,
	// Messenger and Instagram code 551). LINE reports it with an unfollow
	// event instead: pushes to a user who blocked are answered 200.
	CustomerBlocked Kind = "customer_blocked"
	// OutsideWindow: free-form messages are not allowed 24 hours after
	// the customer's last message (WhatsApp 131047, Messenger code 10
	// subcode 2018278, Instagram code 10 subcode 2534022).
	OutsideWindow Kind = "outside_window"
	// RateLimited: try again after RetryAfter (0 when the provider did
	// not say; then back off).
	RateLimited Kind = "rate_limited"
	// ProviderError: the provider refused this request; retrying the same
	// request will not help. Code and Text say why.
	ProviderError Kind = "provider_error"
	// Temporary: 5xx, a transient provider error, or no answer at all
	// (network, timeout). Retry with backoff.
	Temporary Kind = "temporary"
)

// Failure is the error of every provider call. Its texts never contain the
// channel's secrets.
type Failure struct {
	Kind     Kind
	Provider Type
	// Status is the HTTP status of the provider's answer; 0 when there
	// was none.
	Status int
	// Code and Subcode are the provider's error codes: Telegram
	// error_code, Graph error.code and error_subcode, WhatsApp status
	// error code.
	Code    int
	Subcode int
	// Text is the provider's description (or what went wrong on the way).
	Text string
	// RetryAfter is how long the provider asked to wait (RateLimited).
	RetryAfter time.Duration
	// Uncertain is set on a Temporary failure that came after the whole
	// request was sent (a timeout, a dropped connection): the provider may
	// have delivered the message. Sending it again is safe only where the
	// provider recognises a repeated request (LINE's retry key).
	Uncertain bool
	cause     error
}

func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(string(f.Provider))
	b.WriteString(": ")
	b.WriteString(string(f.Kind))
	if f.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", f.Status)
	}
	if f.Code != 0 {
		fmt.Fprintf(&b, ": code %d", f.Code)
		if f.Subcode != 0 {
			fmt.Fprintf(&b, "/%d", f.Subcode)
		}
	}
	if f.Text != "" {
		b.WriteString(": ")
		b.WriteString(f.Text)
	}
	if f.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", f.RetryAfter)
	}
	return b.String()
}

// Unwrap gives context.Canceled or context.DeadlineExceeded when the call
// was cut short by its context, and nothing else: a net/http error holds
// the request URL, which for Telegram holds the bot token.
func (f *Failure) Unwrap() error { return f.cause }

// Retryable says whether sending the same message again later can succeed.
func (f *Failure) Retryable() bool { return f.Kind == Temporary || f.Kind == RateLimited }

// AsFailure returns the *Failure in err's chain, or nil.
func AsFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// Webhook and handshake errors; WebhookStatus gives their HTTP status.
var (
	ErrUnauthorized = errors.New("channels: webhook secret or signature missing or wrong")
	ErrForbidden    = errors.New("channels: webhook verify token or mode wrong")
	ErrBadPayload   = errors.New("channels: webhook payload not understood")
	ErrTooLarge     = errors.New("channels: webhook body too large")
	// ErrFileTooLarge ends a Media body that goes past Fetch's limit.
	ErrFileTooLarge = errors.New("channels: file larger than the limit")
)

// WebhookStatus is the HTTP status to answer a webhook or handshake that
// failed with err: 401 for a missing or wrong secret or signature, 403 for
// a wrong verify token on the GET handshake (the provider then shows the
// mistake in its console), 405 where the type has no handshake, 413 for a
// body that is too large, 400 for a payload that is not understood, and
// 200 for nil.
func WebhookStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, errors.ErrUnsupported):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusBadRequest
	}
}

func badPayload(err error) error { return fmt.Errorf("%w: %v", ErrBadPayload, err) }

// failure builds a Failure, with the provider's text cut to a sane length.
func (c *client) failure(k Kind, status, code int, text string) *Failure {
	return &Failure{Kind: k, Provider: c.typ, Status: status, Code: code, Text: c.scrub(clip(text, 500))}
}

// transport turns an error of http.Client.Do (or of reading a response)
// into a Temporary failure whose text has no secret in it.
func (c *client) transport(err error) *Failure {
	f := &Failure{Kind: Temporary, Provider: c.typ, Text: c.scrub(err.Error())}
	switch {
	case errors.Is(err, context.Canceled):
		f.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		f.cause = context.DeadlineExceeded
	}
	return f
}

// invalid is the failure of a message this provider cannot send as asked.
func (c *client) invalid(format string, a ...any) *Failure {
	return &Failure{Kind: ProviderError, Provider: c.typ, Text: c.scrub(fmt.Sprintf(format, a...))}
}

// byStatus classifies an answer whose body said nothing more useful.
func (c *client) byStatus(status int, h http.Header, text string) *Failure {
	f := c.failure(ProviderError, status, 0, text)
	switch {
	case status == http.StatusUnauthorized:
		f.Kind = TokenExpired
	case status == http.StatusTooManyRequests:
		f.Kind = RateLimited
		f.RetryAfter = retryAfter(h)
	case status >= 500:
		f.Kind = Temporary
	}
	return f
}

// seconds is n seconds, at most a day.
func seconds(n int) time.Duration { return time.Duration(min(max(n, 0), 86400)) * time.Second }

// retryAfter reads a Retry-After header given in seconds or as a date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return seconds(n)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
