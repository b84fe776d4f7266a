// Command testsummary reads `go test -json` on standard input and prints
// what `go test` prints without -v — a line per package, the output of
// failed tests — and then every skipped test with its reason, so that a
// test skipped because something is missing is never silent. It exits 1
// if a test or a package failed.
//
//	go test -json ./... | go run ./internal/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strings"

	"jabberdesk/internal/textout"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action, Package, Test, Output string
	ImportPath                    string // build output
}

func main() {
	os.Exit(summarize(os.Stdin, os.Stdout))
}

func summarize(in io.Reader, w io.Writer) int {
	out := textout.New(w)
	type key struct{ pkg, test string }
	outputs := map[key][]string{}
	var skipped []string
	failed := false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			out.Println(sc.Text()) // not JSON: go's own messages
			continue
		}
		k := key{ev.Package, ev.Test}
		switch ev.Action {
		case "build-output":
			out.Print(ev.Output)
		case "build-fail":
			failed = true
		case "output":
			if ev.Test == "" {
				// Package lines: ok, FAIL, no test files, panics.
				if o := ev.Output; !strings.HasPrefix(o, "PASS") && !strings.HasPrefix(o, "=== ") && !strings.HasPrefix(o, "testing: warning") {
					out.Print(o)
				}
				continue
			}
			outputs[k] = append(outputs[k], ev.Output)
		case "fail":
			failed = true
			if ev.Test != "" {
				out.Print(strings.Join(outputs[k], ""))
			}
			delete(outputs, k)
		case "skip":
			if ev.Test != "" {
				skipped = append(skipped, ev.Package+" "+ev.Test+": "+skipReason(outputs[k]))
			}
			delete(outputs, k)
		case "pass":
			delete(outputs, k)
		}
	}
	if err := sc.Err(); err != nil {
		out.Println("testsummary:", err)
		return 1
	}
	sort.Strings(skipped)
	if len(skipped) > 0 {
		out.Printf("\nSKIPPED (%d): these tests did not run; each says what it needs.\n", len(skipped))
		for _, s := range skipped {
			out.Println("  " + s)
		}
	}
	if failed || out.Err() != nil {
		return 1
	}
	return 0
}

// skipReason is the message a skipped test gave.
func skipReason(lines []string) string {
	var reason []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		reason = append(reason, l)
	}
	if len(reason) == 0 {
		return "(no reason given)"
	}
	return strings.Join(reason, " ")
}
