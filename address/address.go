// Package address spells and reads jabberdesk's XMPP addresses, in one
// place, so that no other package needs to know how a JID is written.
//
// Every account lives in a portal and is addressed as
// PORTAL|LOCAL@DOMAIN (RFC 7622 allows "|" in a localpart). LOCAL is
// one of:
//
//   - an agent's username key (lower case), e.g. acme|fiona.b@chat.example;
//   - "board", the portal's message board contact;
//   - "desk", the portal's helpdesk contact (hash commands on tickets);
//   - "v-NUMBER", the contact of visitor chat NUMBER (a positive decimal
//     number without leading zeros), e.g. acme|v-1042@chat.example.
//
// Usernames can never take the reserved names: they are too short or
// contain "-" where a username cannot. The HTTP upload service of
// XEP-0363 is the host upload.DOMAIN.
//
// People type "\" for "|" where their client will not take the bar;
// SplitLocal and ParseLogin accept both, Local and JID always write "|".
//
// Agent, Chat and Department are comparable keys for maps that span
// portals. The package imports nothing of jabberdesk's.
package address

import (
	"strconv"
	"strings"
)

// Reserved names within a portal, and the marks that build addresses.
const (
	Separator     = "|"
	AltSeparator  = `\`
	BoardName     = "board"
	DeskName      = "desk"
	VisitorPrefix = "v-"
	uploadPrefix  = "upload."
)

// Local is the localpart PORTAL|NAME.
func Local(portal, name string) string { return portal + Separator + name }

// JID is the bare JID PORTAL|NAME@DOMAIN.
func JID(portal, name, domain string) string { return Local(portal, name) + "@" + domain }

// SplitLocal splits PORTAL|NAME (or PORTAL\NAME) at the first separator.
// It fails when either part is empty.
func SplitLocal(local string) (portal, name string, ok bool) {
	i := strings.IndexAny(local, Separator+AltSeparator)
	if i <= 0 || i == len(local)-1 {
		return "", "", false
	}
	return local[:i], local[i+1:], true
}

// ParseLogin reads a sign-in name as an agent types it: PORTAL|USER or
// PORTAL\USER, optionally followed by @DOMAIN, which must then be domain
// (compared without case); a user name never holds "@". Portal and user come back in lower case.
func ParseLogin(s, domain string) (portal, user string, ok bool) {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		if !strings.EqualFold(s[at+1:], domain) {
			return "", "", false
		}
		s = s[:at]
	}
	portal, user, ok = SplitLocal(s)
	if !ok || strings.Contains(user, "@") {
		return "", "", false
	}
	return strings.ToLower(portal), strings.ToLower(user), true
}

// LoginAccount is the account a sign-in name is counted under where
// failed sign-ins are counted (the XMPP server's and the console's): its
// PORTAL|USER when it names one, else the name itself in lower case, cut
// to 100 bytes, so that guesses at names that exist nowhere are counted
// like the others.
func LoginAccount(s, domain string) string {
	if portal, user, ok := ParseLogin(s, domain); ok {
		return Local(portal, user)
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return strings.ToLower(s)
}

// UploadHost is the JID of the HTTP upload service of domain.
func UploadHost(domain string) string { return uploadPrefix + domain }

// Kind says what a name within a portal addresses.
type Kind int

const (
	KindAgent   Kind = iota // anything not reserved: an agent's username, if one exists
	KindBoard               // the message board
	KindDesk                // the helpdesk contact
	KindVisitor             // a visitor chat's contact (see VisitorNumber for a valid one)
)

// Classify says what name addresses. Names under the visitor prefix are
// KindVisitor even when they carry no valid number, so that they are
// never taken for agents.
func Classify(name string) Kind {
	switch {
	case name == BoardName:
		return KindBoard
	case name == DeskName:
		return KindDesk
	case strings.HasPrefix(name, VisitorPrefix):
		return KindVisitor
	}
	return KindAgent
}

// VisitorName is the contact name of visitor chat number n: "v-1042".
func VisitorName(n int64) string { return VisitorPrefix + strconv.FormatInt(n, 10) }

// VisitorNumber reads the chat number from a visitor contact name. Only
// the form VisitorName writes is accepted.
func VisitorNumber(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, VisitorPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != rest {
		return 0, false
	}
	return n, true
}

// Agent names an agent across portals by the username key.
type Agent struct{ Portal, Key string }

// Local is the agent's localpart, PORTAL|KEY.
func (a Agent) Local() string { return Local(a.Portal, a.Key) }

// JID is the agent's bare JID.
func (a Agent) JID(domain string) string { return JID(a.Portal, a.Key, domain) }

// AltJID is the agent's sign-in JID with "\" for "|", for clients that
// will not take the bar; ParseLogin reads it back.
func (a Agent) AltJID(domain string) string { return a.Portal + AltSeparator + a.Key + "@" + domain }

// String is PORTAL|KEY, for logs.
func (a Agent) String() string { return a.Local() }

// Chat names a visitor chat across portals by its number.
type Chat struct {
	Portal string
	Number int64
}

// Name is the chat's contact name within its portal, "v-NUMBER".
func (c Chat) Name() string { return VisitorName(c.Number) }

// JID is the bare JID of the chat's contact.
func (c Chat) JID(domain string) string { return JID(c.Portal, c.Name(), domain) }

// String is PORTAL|v-NUMBER, for logs.
func (c Chat) String() string { return Local(c.Portal, c.Name()) }

// ParseChatJID reads a visitor contact's bare JID of portal and domain;
// anything else (another portal, another domain, not a visitor) fails.
func ParseChatJID(bare, portal, domain string) (Chat, bool) {
	local, ok := strings.CutSuffix(bare, "@"+domain)
	if !ok {
		return Chat{}, false
	}
	p, name, ok := SplitLocal(local)
	if !ok || p != portal || local[len(p):len(p)+1] != Separator {
		return Chat{}, false
	}
	n, ok := VisitorNumber(name)
	if !ok {
		return Chat{}, false
	}
	return Chat{Portal: portal, Number: n}, true
}

// Department names a department across portals.
type Department struct{ Portal, Name string }
