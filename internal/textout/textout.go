// Package textout writes text for people (a command's output, a report)
// line by line and keeps the first failed write, so that code printing
// many lines checks for an error once, at the end, instead of after
// every line. It imports nothing of ours.
package textout

import (
	"fmt"
	"io"
)

// Writer writes to an underlying writer until a write fails; then it
// keeps that error, writes nothing more, and Err returns it.
type Writer struct {
	w   io.Writer
	err error
}

// New returns a Writer that writes to w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes p, unless an earlier write failed.
func (t *Writer) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.w.Write(p)
	t.err = err
	return n, err
}

// Printf writes like fmt.Fprintf.
func (t *Writer) Printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// Println writes like fmt.Fprintln.
func (t *Writer) Println(args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.w, args...)
	}
}

// Print writes like fmt.Fprint.
func (t *Writer) Print(args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprint(t.w, args...)
	}
}

// Err is the first write that failed, or nil.
func (t *Writer) Err() error { return t.err }
