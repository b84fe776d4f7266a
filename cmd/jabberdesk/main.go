// Command jabberdesk runs the jabberdesk helpdesk chat server and
// administers it: portals, departments, agents and their client setup.
//
// Run `jabberdesk --help` for the commands. Exit status: 0 on success, 1
// when a command fails, 2 when it was called wrongly (unknown command or
// flag, wrong number of arguments, bad flag value).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// run executes the command line args and returns the exit status. Errors
// are printed to stderr as "jabberdesk: COMMAND: message". What is
// printed shows control characters instead of obeying them
// (terminalWriter).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out, errOut := &terminalWriter{w: stdout}, &terminalWriter{w: stderr}
	// Flushing writes at most a few bytes of a broken UTF-8 sequence;
	// there is nowhere to report a failure to write them.
	defer func() { _, _ = out.Flush(), errOut.Flush() }()
	stdout, stderr = out, errOut
	e := &env{}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if cerr := e.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return exitOK
	}
	if cmd == nil {
		cmd = root
	}
	// Written to stderr, where a failure has nowhere to go: the exit
	// status says what went wrong either way.
	_, _ = fmt.Fprintf(stderr, "%s%s\n", errorPrefix(cmd), errorText(err))
	var ue *usageError
	if errors.As(err, &ue) {
		_, _ = fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitFailure
}

// errorPrefix is "jabberdesk: agent add: " for `jabberdesk agent add`.
func errorPrefix(cmd *cobra.Command) string {
	path := strings.TrimSpace(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()))
	if path == "" {
		return cmd.Root().Name() + ": "
	}
	return cmd.Root().Name() + ": " + path + ": "
}

// errorText is the message of err, with its continuation lines indented.
func errorText(err error) string {
	return strings.ReplaceAll(strings.TrimRight(err.Error(), "\n"), "\n", "\n  ")
}

// usageError marks an error in how a command was called: exit status 2
// and a pointer to --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}
