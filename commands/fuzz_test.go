package commands

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// trickyInputs seed the fuzzers next to the table's examples and usage
// lines (testdata/fuzz holds more, and any input that ever failed).
var trickyInputs = []string{
	"", "#", "##", "###", "#1", "# ", "#\u00a0e", "#e", "#E 30",
	"#e 99999999999999999999", "#e 030", "#e -0", "#e 30s", "#e ３０",
	`#t "Sales`, `#t "`, `#t ""`, `#t “`, `#t “”`, `#t ”`, `#t „Sales`, `#t 「`, `#t 「」`, `#t 「Sales」」`,
	"#t \"\xed\xa0\x80\"", "\xed\xa0\x80", "#\xed\xa0\x80", "#t \xed\xa0\x80", "#e \xed\xb0\x80",
	"#t \xff\xfe", "#t fiona.b \x00", "#p \x7f", "#t\u2028fiona.b\u2029note",
	"#SUPPORT ConAsReq 1 1 2", "#support conasreq 1\u00a01\u30002", "#support conasreq １１２", "#support conasreq 9",
	"#support", "#support ", "#crm", "#crm info extra", "#support setemail \"a b\"@example.com",
	"#support setemail <>", "#support setemail a@b@c", "#support setemail =?utf-8?q?x?= <a@b.c>",
	"#p javascript:alert(1)", "#p http://[::1", "#p http://[::1]:0/", "#p https://%41.com", "#p https://a.com:/",
	"#p <>", "#p <<https://a.com>>", "#p http:x", "#p a:1/b:c", "#p https://a.com/%zz", "#p https://a.com/?%zz#%zz",
	"#tpl", `#tpl "x"`, `#tpl x "`, `#tpl x ""`, `#tpl x " "`, `#tpl x "a"b`, `#tpl x "a" "b`, "#tpl x \"a\nb\"", "#tpl x a\x00",
	"#tpl X “Ana Lima”   4711", "#tpl x 「」", "#tpl x " + strings.Repeat(`"a" `, 3000),
	"#help #", "#help support crm info", "#help help help", "#assign #0 x", "#take ##1", "#take #", "#reopen 0", "#chats mine unreplied replied", "#chats ended wa web", "#chats Ended Unreplied WA-sales",
	"#" + strings.Repeat("a", 10000),
	"#t " + strings.Repeat("\"", 5000),
	"#an " + strings.Repeat("note ", 5000),
	"#p https://example.com/" + strings.Repeat("%C3%BC", 1000),
	strings.Repeat("#e ", 3000),
}

func FuzzParse(f *testing.F) {
	for _, s := range Specs() {
		desk := !s.ValidIn(InChat)
		for _, e := range s.Examples() {
			f.Add(e, desk)
		}
		f.Add(s.Usage(), desk)
		f.Add(s.Invocation()+" \""+s.Name(), desk)
	}
	for _, in := range trickyInputs {
		f.Add(in, false)
		f.Add(in, true)
	}
	f.Fuzz(func(t *testing.T, body string, desk bool) {
		where := InChat
		if desk {
			where = AtDesk
		}
		c, err := Parse(body, where)
		if err != nil {
			checkError(t, body, err)
			if !reflect.ValueOf(c).IsZero() {
				t.Errorf("Parse(%q) failed but returned %+v", body, c)
			}
			return
		}

		s, ok := Lookup(c.Name)
		if !ok || s.Name() != c.Name {
			t.Fatalf("Parse(%q).Name = %q does not round-trip through Lookup (%q, %v)", body, c.Name, s.Name(), ok)
		}
		if !s.ValidIn(where) {
			t.Errorf("Parse(%q) at %v gave %s, which is not valid there", body, where, c.Name)
		}
		if c.Raw != body {
			t.Errorf("Parse(%q).Raw = %q", body, c.Raw)
		}
		if kind, _ := Classify(body); kind != HashCommand {
			t.Errorf("Parse(%q) succeeded but Classify says %v", body, kind)
		}
		for _, f := range append([]string{c.Name, c.Target, c.Department, c.Note, c.URL, c.Text, c.Reply, c.Channel}, c.Args...) {
			if !utf8.ValidString(f) {
				t.Errorf("Parse(%q): field %q is not valid UTF-8", body, f)
			}
		}
		if c.Args != nil && (c.Name != "tpl" || c.Text == "") {
			t.Errorf("Parse(%q): arguments %q for %s", body, c.Args, c.Name)
		}
		for _, arg := range c.Args {
			if arg == "" || arg != strings.TrimSpace(arg) || strings.ContainsFunc(arg, unicode.IsControl) {
				t.Errorf("Parse(%q): argument %q", body, arg)
			}
		}
		if c.Target != "" && c.Department != "" {
			t.Errorf("Parse(%q): both a target and a department: %+v", body, c)
		}
		if c.Seconds != 0 && c.Seconds != 30 && c.Seconds != 45 && c.Seconds != 60 && c.Seconds != 90 {
			t.Errorf("Parse(%q).Seconds = %d", body, c.Seconds)
		}
		if c.Number < 0 || (c.Number == 0) != (c.Name != "take" && c.Name != "reopen" && c.Name != "assign" && c.Name != "monitor" && c.Name != "support.associate" && c.Name != "convert" && c.Name != "setemail") {
			t.Errorf("Parse(%q).Number = %d for %s", body, c.Number, c.Name)
		}
		if c.Priority < 0 || c.Priority > 3 || c.Status < 0 || c.Status > 3 || c.Classification < 0 || c.Classification > 4 {
			t.Errorf("Parse(%q): PSC out of range: %+v", body, c)
		}

		// Normalised values parse again to themselves.
		again := func(in string, w Where) Command {
			t.Helper()
			c2, err := Parse(in, w)
			if err != nil {
				t.Fatalf("Parse(%q) gave %+v, but %q does not parse: %v", body, c, in, err)
			}
			return c2
		}
		if c.URL != "" {
			if c2 := again("#p "+c.URL, InChat); c2.URL != c.URL {
				t.Errorf("URL %q from %q normalises again to %q", c.URL, body, c2.URL)
			}
		}
		if c.Target != "" {
			if c2 := again("#i "+c.Target, InChat); c2.Target != c.Target {
				t.Errorf("target %q from %q parses again as %q", c.Target, body, c2.Target)
			}
		}
		if c.Name == "support.setemail" {
			if c2 := again("#support setemail "+c.Text, InChat); c2.Text != c.Text {
				t.Errorf("email %q from %q parses again as %q", c.Text, body, c2.Text)
			}
		}
		if c.Name == "help" {
			if _, err := Help(c.Text, where, nil); err != nil {
				t.Errorf("Parse(%q) accepted help topic %q, but Help refuses it: %v", body, c.Text, err)
			}
		}
	})
}

func FuzzHelp(f *testing.F) {
	for _, g := range Groups() {
		f.Add(string(g), false)
	}
	for _, s := range Specs() {
		f.Add(s.Name(), true)
		f.Add(s.Invocation(), false)
	}
	for _, in := range trickyInputs {
		f.Add(in, false)
	}
	f.Fuzz(func(t *testing.T, topic string, hide bool) {
		var include func(Spec) bool
		if hide {
			include = func(s Spec) bool { return s.Group() != GroupSupport }
		}
		for _, where := range []Where{InChat, AtDesk} {
			out, err := Help(topic, where, include)
			if err != nil {
				checkError(t, topic, err)
				continue
			}
			if out == "" || !utf8.ValidString(out) {
				t.Errorf("Help(%q) = %q", topic, out)
			}
		}
	})
}

// checkError asserts what every refusal must be: an *Error that says what
// was wrong, in valid UTF-8 without control characters, and shows a usage
// line or points to #help.
func checkError(t *testing.T, in string, err error) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("%q: error %T %v, want *Error", in, err, err)
	}
	msg := err.Error()
	switch {
	case e.Msg == "":
		t.Errorf("%q: empty message", in)
	case e.Usage != "" && !strings.HasSuffix(msg, " — usage: "+e.Usage):
		t.Errorf("%q: %q does not show its usage line", in, msg)
	case e.Usage == "" && !strings.HasSuffix(msg, " — try #help"):
		t.Errorf("%q: %q has neither a usage line nor try #help", in, msg)
	}
	if !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
		t.Errorf("%q: error text is not clean: %q", in, msg)
	}
	if n := utf8.RuneCountInString(e.Msg); n > 600 {
		t.Errorf("%q: error message of %d characters", in, n)
	}
}
