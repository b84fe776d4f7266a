package bridge

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What agents see from a visitor contact is of three kinds, told apart by
// how each line starts: jabberdesk's own lines start with SystemPrefix
// ("» "), a colleague's words in the chat with "[Name] ", and anything
// else is the visitor's. So that a visitor (or a colleague) cannot make
// a line look like one of the other kinds, every line of what they wrote
// that starts with a marker — "»", "[" or a character that looks like one
// of them, after any spaces and invisible characters — or that holds
// characters which reorder text on screen, is shown with "(visitor) "
// (or "(Name) ") in front. Names, questions and the like are made single
// lines when a chat starts.

// markers are the characters a line may not start with unquoted: the
// server's and the colleague copies' markers, and their look-alikes.
const markers = "»›≫⟫》❯❱➤➢▶►⏵[［⟦【〔⁅〚〖"

// bidiControl reports whether r changes the order in which text is shown
// (Unicode bidirectional embeddings, overrides and isolates).
func bidiControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// Unforgeable returns a visitor's text as agents are shown it (see above).
func Unforgeable(text string) string { return quoteLines(text, "(visitor) ") }

// CopyOf is an agent's words as their colleagues in the chat see them:
// "[Name] text".
func CopyOf(name, text string) string {
	return "[" + name + "] " + quoteLines(text, "("+name+") ")
}

// quoteLines puts label in front of every line of text that could pass
// for a server line or a colleague's copy.
func quoteLines(text, label string) string {
	lines := strings.Split(text, "\n")
	changed := false
	for i, l := range lines {
		if forgeable(l) {
			lines[i] = label + l
			changed = true
		}
	}
	if !changed {
		return text
	}
	return strings.Join(lines, "\n")
}

// forgeable reports whether a line starts like a server line or a copy,
// or holds characters that reorder what is shown.
func forgeable(line string) bool {
	start := true
	for _, r := range line {
		switch {
		case bidiControl(r):
			return true
		case !start:
		case unicode.IsSpace(r) || unicode.Is(unicode.Cf, r):
			// Leading spaces and invisible characters do not count.
		default:
			if strings.ContainsRune(markers, r) {
				return true
			}
			start = false
		}
	}
	return false
}

// singleLine makes a one-line field of what a visitor typed: control
// characters and line breaks become spaces, characters that reorder text
// on screen are dropped, runs of spaces become one, and the ends are
// trimmed.
func singleLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case bidiControl(r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r) || r == utf8.RuneError:
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// notWebAddress is how a page address that is not http(s) is shown.
const notWebAddress = "(not a web address)"

// WebAddress returns a page address as agents and admins are shown it:
// an http(s) URL as it is, anything else as "(not a web address)"
// ("" stays "").
func WebAddress(s string) string {
	if s == "" {
		return ""
	}
	if !IsWebAddress(s) {
		return notWebAddress
	}
	return s
}

// IsWebAddress reports whether s is an absolute http(s) URL with a host
// and nothing that could break a line.
func IsWebAddress(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || bidiControl(r) {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
