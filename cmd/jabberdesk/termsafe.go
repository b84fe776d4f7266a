package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// terminalWriter is how the CLI writes to its stdout and stderr: control
// characters in what it prints (visitors' names and messages, tickets…)
// are shown, not obeyed by the terminal. C0 controls other than newline
// and tab, DEL and bytes that are not UTF-8 are written as \xNN; C1
// controls, line and paragraph separators and characters that reorder
// text are written as \uNNNN. JSON output stays exact: its encoder
// escapes C0 controls itself, and \uNNNN is JSON's own escape.
type terminalWriter struct {
	w       io.Writer
	pending []byte // the start of a UTF-8 sequence split across writes
}

func (t *terminalWriter) Write(p []byte) (int, error) {
	buf := append(t.pending, p...)
	out := make([]byte, 0, len(buf))
	i := 0
	for i < len(buf) {
		b := buf[i]
		if b < utf8.RuneSelf {
			if b == '\n' || b == '\t' || (b >= 0x20 && b != 0x7f) {
				out = append(out, b)
			} else {
				out = fmt.Appendf(out, `\x%02x`, b)
			}
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) {
			break // the rest comes with the next write
		}
		r, size := utf8.DecodeRune(buf[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, b)
		case r <= 0x9f || r == '\u2028' || r == '\u2029' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069':
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, buf[i:i+size]...)
		}
		i += size
	}
	t.pending = append(t.pending[:0:0], buf[i:]...)
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is left of an unfinished UTF-8 sequence.
func (t *terminalWriter) Flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	var out []byte
	for _, b := range t.pending {
		out = fmt.Appendf(out, `\x%02x`, b)
	}
	t.pending = nil
	_, err := t.w.Write(out)
	return err
}
