package address

import (
	"strings"
	"testing"
)

func TestParseLogin(t *testing.T) {
	for _, tc := range []struct {
		in, portal, user string
		ok               bool
	}{
		{"acme|fiona.b", "acme", "fiona.b", true},
		{`Acme\Fiona.B`, "acme", "fiona.b", true},
		{"acme|fiona.b@Chat.Example", "acme", "fiona.b", true},
		{"acme|fiona.b@other.example", "", "", false},
		{"fiona.b", "", "", false},
		{"|fiona.b", "", "", false},
		{"acme|", "", "", false},
		{"acme|a|b", "acme", "a|b", true},
	} {
		p, u, ok := ParseLogin(tc.in, "chat.example")
		if p != tc.portal || u != tc.user || ok != tc.ok {
			t.Errorf("ParseLogin(%q) = %q, %q, %v; want %q, %q, %v", tc.in, p, u, ok, tc.portal, tc.user, tc.ok)
		}
	}
}

// Every spelling of one account counts as that account; a name that
// names none counts as itself, in lower case and cut short.
func TestLoginAccount(t *testing.T) {
	for in, want := range map[string]string{
		"acme|fiona.b":              "acme|fiona.b",
		`Acme\Fiona.B@chat.example`: "acme|fiona.b",
		"Nobody":                    "nobody",
		strings.Repeat("x", 300):    strings.Repeat("x", 100),
	} {
		if got := LoginAccount(in, "chat.example"); got != want {
			t.Errorf("LoginAccount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	for name, want := range map[string]Kind{
		"board": KindBoard, "desk": KindDesk, "v-12": KindVisitor, "v-x": KindVisitor,
		"fiona.b": KindAgent, "boards": KindAgent,
	} {
		if got := Classify(name); got != want {
			t.Errorf("Classify(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestVisitorNumber(t *testing.T) {
	for name, want := range map[string]int64{
		"v-1": 1, "v-1042": 1042, "v-0": 0, "v-01": 0, "v--1": 0, "v-": 0, "1042": 0, "v-+5": 0,
		"v-99999999999999999999": 0,
	} {
		n, ok := VisitorNumber(name)
		if n != want || ok != (want != 0) {
			t.Errorf("VisitorNumber(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
}

func TestJIDs(t *testing.T) {
	a := Agent{Portal: "acme", Key: "fiona.b"}
	if got := a.JID("chat.example"); got != "acme|fiona.b@chat.example" {
		t.Errorf("agent JID = %q", got)
	}
	if p, u, ok := ParseLogin(a.AltJID("chat.example"), "chat.example"); !ok || p != a.Portal || u != a.Key {
		t.Errorf("AltJID %q does not parse back", a.AltJID("chat.example"))
	}
	c := Chat{Portal: "acme", Number: 1042}
	if got := c.JID("chat.example"); got != "acme|v-1042@chat.example" {
		t.Errorf("chat JID = %q", got)
	}
	if got, ok := ParseChatJID(c.JID("chat.example"), "acme", "chat.example"); !ok || got != c {
		t.Errorf("ParseChatJID round trip = %v, %v", got, ok)
	}
	for _, bad := range []string{
		"globex|v-1042@chat.example", "acme|v-1042@other.example", `acme\v-1042@chat.example`,
		"acme|fiona.b@chat.example", "acme|v-01@chat.example", "acme|v-1042",
	} {
		if got, ok := ParseChatJID(bad, "acme", "chat.example"); ok {
			t.Errorf("ParseChatJID(%q) = %v, want failure", bad, got)
		}
	}
	if got := UploadHost("chat.example"); got != "upload.chat.example" {
		t.Errorf("UploadHost = %q", got)
	}
}

// FuzzParse checks that whatever parses formats back to itself.
func FuzzParse(f *testing.F) {
	f.Add("acme|v-1042@chat.example")
	f.Add(`acme\fiona@chat.example`)
	f.Fuzz(func(t *testing.T, s string) {
		if p, u, ok := ParseLogin(s, "chat.example"); ok {
			if p2, u2, ok2 := ParseLogin(Local(p, u), "chat.example"); !ok2 || p2 != p || u2 != u {
				t.Fatalf("%q: login %q|%q does not round-trip", s, p, u)
			}
		}
		if n, ok := VisitorNumber(s); ok && VisitorName(n) != s {
			t.Fatalf("%q: visitor number %d does not round-trip", s, n)
		}
		if c, ok := ParseChatJID(s, "acme", "chat.example"); ok && c.JID("chat.example") != s {
			t.Fatalf("%q: chat %v does not round-trip", s, c)
		}
	})
}
