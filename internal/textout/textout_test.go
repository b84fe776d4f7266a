package textout

import (
	"errors"
	"strings"
	"testing"
)

// failAfter accepts n writes, then fails every one.
type failAfter struct {
	n   int
	got strings.Builder
}

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errFull
	}
	f.n--
	return f.got.Write(p)
}

func TestFirstErrorKept(t *testing.T) {
	f := &failAfter{n: 2}
	w := New(f)
	w.Printf("a%d\n", 1)
	w.Println("b")
	w.Print("c")
	w.Println("d")
	if got := f.got.String(); got != "a1\nb\n" {
		t.Errorf("written %q", got)
	}
	if !errors.Is(w.Err(), errFull) {
		t.Errorf("Err() = %v", w.Err())
	}
	if _, err := w.Write([]byte("e")); !errors.Is(err, errFull) {
		t.Errorf("Write after a failure: %v", err)
	}
}

func TestNoError(t *testing.T) {
	var b strings.Builder
	w := New(&b)
	w.Printf("%s=%d", "x", 1)
	w.Print(" ", "y")
	w.Println()
	if b.String() != "x=1 y\n" || w.Err() != nil {
		t.Errorf("%q %v", b.String(), w.Err())
	}
}
