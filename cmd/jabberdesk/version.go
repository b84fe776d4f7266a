package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"jabberdesk/internal/textout"
)

// buildInfo is what `jabberdesk version` says: the release version (set
// with -ldflags "-X main.version=…"), the commit the binary was built
// from, and the Go that built it.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

// String is the one line of --version.
func (b buildInfo) String() string {
	s := "jabberdesk " + b.Version
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (commit " + c
		if b.Time != "" {
			s += ", " + b.Time
		}
		if b.Modified {
			s += ", with local changes"
		}
		s += ")"
	}
	return s + ", " + b.Go + " " + b.Platform
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and the Go version",
		Long: `Version prints the release version (dev for a build from source), the
commit the binary was built from when it was built in a git checkout, and
the Go version and platform. jabberdesk --version prints the same line.`,
		Example: `  jabberdesk version
  jabberdesk version --json`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := currentBuild()
			return e.emit(cmd, b, func(w *textout.Writer) error {
				_, err := fmt.Fprintln(w, b.String())
				return err
			})
		},
	}
}
