package xmppd

import (
	"context"

	"jabberdesk/bridge"
)

// Desk is what the server needs of the chat engine (package bridge's
// Engine implements it): the visitor contacts in an agent's roster, what
// agents send to them and to the desk contact, the desk's ad-hoc commands
// (adhoc.go), and when an agent's availability changes. The server holds
// a Desk, never nil; without one configured it is noDesk.
type Desk interface {
	// Contacts are the visitor chats in the agent's roster.
	Contacts(portal, agent string) []bridge.Contact
	// AgentSays takes what an agent sent to the visitor contact local
	// (body and XEP-0085 chat state); bridge.ErrNoChat if there is no
	// such chat.
	AgentSays(portal string, a bridge.AgentInfo, local, body, chatState string) error
	// DeskSays answers what an agent sent to the desk contact; "" for no
	// answer.
	DeskSays(ctx context.Context, portal string, a bridge.AgentInfo, body string) string
	// AgentAvailabilityChanged tells the desk that the agent's
	// availability is now av, so that chats are routed accordingly.
	AgentAvailabilityChanged(portal, agent string, av bridge.Availability)

	// The desk's commands, as the ad-hoc commands run them. Refusals are
	// *bridge.CommandError.
	Queue(portal string) []bridge.QueuedChat
	QueueText(portal string) string
	Take(ctx context.Context, portal string, a bridge.AgentInfo, number int64) error
	Assign(ctx context.Context, portal string, by bridge.AgentInfo, number int64, who string) (string, error)
	Monitor(ctx context.Context, portal string, by bridge.AgentInfo, number int64) (string, error)
}

// noDesk is the Desk of a server that runs without visitor chats: no
// visitor contacts, no chat to speak in, nothing in the queue. The
// server offers no desk commands then (Server.withDesk).
type noDesk struct{}

func (noDesk) Contacts(string, string) []bridge.Contact { return nil }

func (noDesk) AgentSays(string, bridge.AgentInfo, string, string, string) error {
	return bridge.ErrNoChat
}

func (noDesk) DeskSays(context.Context, string, bridge.AgentInfo, string) string { return "" }

func (noDesk) AgentAvailabilityChanged(string, string, bridge.Availability) {}

func (noDesk) Queue(string) []bridge.QueuedChat { return nil }

func (noDesk) QueueText(string) string { return "" }

func (noDesk) Take(context.Context, string, bridge.AgentInfo, int64) error {
	return errServiceUnavailable
}

func (noDesk) Assign(context.Context, string, bridge.AgentInfo, int64, string) (string, error) {
	return "", errServiceUnavailable
}

func (noDesk) Monitor(context.Context, string, bridge.AgentInfo, int64) (string, error) {
	return "", errServiceUnavailable
}
