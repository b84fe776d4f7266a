package bridge

import (
	"context"
	"errors"

	"jabberdesk/store"
)

// wireError is an error as a forwarded call's answer carries it: a code
// that names its kind, and its text. rebuild makes it the same kind of
// error again, so that callers on the node that forwarded the call test
// it as they would a local one (errors.Is, errors.As).
type wireError struct {
	Code string `json:"code"`
	Kind string `json:"kind,omitempty"` // of a store.UserError: the code of its Kind
	Msg  string `json:"msg"`
}

// Codes of wire errors besides those of the sentinels below.
const (
	codeCommand  = "command"  // *CommandError
	codeUser     = "user"     // *store.UserError
	codeInternal = "internal" // anything else: its text only
)

// wireCode pairs an error callers test for with its code on the wire.
type wireCode struct {
	code string
	err  error
}

// wireSentinels are the errors callers of the engine test with
// errors.Is, in the order they are tried.
var wireSentinels = []wireCode{
	{"no_chat", ErrNoChat},
	{"chat_ended", ErrChatEnded},
	{"chat_over", errChatOver},
	{"bad_token", ErrBadToken},
	{"blocked", ErrBlocked},
	{"agent_busy", ErrAgentBusy},
	{"chat_live", ErrChatLive},
	{"rated", ErrRated},
	{"not_rateable", ErrNotRateable},
	{"delivered", store.ErrDelivered},
	{"storage_full", store.ErrStorageFull},
	{"not_owner", errNotOwner},
	{"stopped", errStopped},
	{"canceled", context.Canceled},
	{"deadline", context.DeadlineExceeded},
}

// wireUserKinds are the kinds of a store.UserError.
var wireUserKinds = []wireCode{
	{"not_found", store.ErrNotFound},
	{"exists", store.ErrExists},
	{"invalid", store.ErrInvalid},
	{"quota", store.ErrQuota},
	{"too_large", store.ErrTooLarge},
	{"storage_full", store.ErrStorageFull},
}

// encodeError is err as a forwarded call's answer carries it.
func encodeError(err error) *wireError {
	var ce *CommandError
	if errors.As(err, &ce) {
		return &wireError{Code: codeCommand, Msg: ce.Msg}
	}
	var ue *store.UserError
	if errors.As(err, &ue) {
		w := &wireError{Code: codeUser, Msg: ue.Msg}
		for _, k := range wireUserKinds {
			if ue.Kind != nil && errors.Is(ue.Kind, k.err) {
				w.Kind = k.code
				break
			}
		}
		return w
	}
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) {
			return &wireError{Code: s.code, Msg: err.Error()}
		}
	}
	return &wireError{Code: codeInternal, Msg: err.Error()}
}

// rebuild is the error again, on the node that forwarded a call of kind
// to node: a sentinel itself when it came alone, else an error with the
// owner's text that is the sentinel to errors.Is.
func (w *wireError) rebuild(kind, node string) error {
	switch w.Code {
	case codeCommand:
		return &CommandError{Msg: w.Msg}
	case codeUser:
		ue := &store.UserError{Msg: w.Msg}
		for _, k := range wireUserKinds {
			if k.code == w.Kind {
				ue.Kind = k.err
				break
			}
		}
		return ue
	}
	for _, s := range wireSentinels {
		if s.code == w.Code {
			if w.Msg == s.err.Error() {
				return s.err
			}
			return &remoteError{msg: w.Msg, is: s.err}
		}
	}
	return &remoteError{msg: "bridge: " + kind + " on node " + node + ": " + w.Msg}
}

// remoteError is an error that another node answered a call with.
type remoteError struct {
	msg string
	is  error // the sentinel it stands for, or nil
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }
