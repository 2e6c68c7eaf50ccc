package cli

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version, when set at link time, is this build's version, over the module
// version the Go toolchain recorded. It is for builds that record none, such
// as one from a source tarball or with -buildvcs=false:
//
//	go build -ldflags "-X github.com/sundialhq/sundial/internal/cli.Version=v1.2.3" ./cmd/sundial
var Version string

func newVersionCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this build: module version, commit, Go toolchain",
		Long: `Print the version of this build as the Go toolchain recorded it: the module
version (a tag with 'go install …@v1.2.3', a pseudo-version or "(devel)" for a
build in a checkout), the commit it was built from, that commit's time and
whether the work tree had uncommitted changes, and the Go toolchain and
platform. The server reports the first line in GET /api/v1/status.`,
		Example: `  sundial version
  go version -m "$(command -v sundial)"   # the same facts, read from the binary by the Go toolchain`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, ok := debug.ReadBuildInfo()
			return writeVersion(cmd.OutOrStdout(), readBuild(info, ok, Version))
		},
	}
}

// build is what a binary knows of its own build.
type build struct {
	version, module   string
	moduleVersion     string // as the toolchain recorded it, before Version
	revision, time    string
	modified          bool
	goVersion, osArch string
}

// readBuild reads the build information the Go toolchain embeds (see
// runtime/debug.BuildInfo); version, when set (Version), overrides the
// module version.
func readBuild(info *debug.BuildInfo, ok bool, version string) build {
	b := build{version: "(devel)", goVersion: runtime.Version(), osArch: runtime.GOOS + "/" + runtime.GOARCH}
	if ok && info != nil {
		b.module = info.Main.Path
		b.moduleVersion = info.Main.Version
		b.version = cmp.Or(info.Main.Version, b.version)
		b.goVersion = cmp.Or(info.GoVersion, b.goVersion)
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.revision = s.Value
			case "vcs.time":
				b.time = s.Value
			case "vcs.modified":
				b.modified = s.Value == "true"
			}
		}
	}
	b.version = cmp.Or(version, b.version)
	return b
}

// line is the build in one line, as the server reports it.
func (b build) line() string {
	out := "sundial " + b.version
	if b.revision != "" {
		out += " (commit " + short(b.revision)
		if b.modified {
			out += ", modified"
		}
		out += ")"
	}
	return fmt.Sprintf("%s %s %s", out, b.goVersion, b.osArch)
}

func short(revision string) string {
	if len(revision) > 12 {
		return revision[:12]
	}
	return revision
}

// writeVersion prints the build for `sundial version`.
func writeVersion(w io.Writer, b build) error {
	var s strings.Builder
	fmt.Fprintf(&s, "sundial %s\n", b.version)
	if b.module != "" {
		fmt.Fprintf(&s, "  module:    %s\n", b.module)
	}
	switch {
	case b.revision == "" && b.moduleVersion != "" && b.moduleVersion != "(devel)":
		// go install …@version builds from the module, not a checkout.
		s.WriteString("  commit:    not recorded (a module build: the version names the source)\n")
	case b.revision == "":
		s.WriteString("  commit:    unknown (built without version control information)\n")
	case b.modified:
		fmt.Fprintf(&s, "  commit:    %s, with uncommitted changes\n", b.revision)
	default:
		fmt.Fprintf(&s, "  commit:    %s\n", b.revision)
	}
	if b.time != "" {
		fmt.Fprintf(&s, "  committed: %s\n", b.time)
	}
	fmt.Fprintf(&s, "  go:        %s %s\n", b.goVersion, b.osArch)
	_, err := io.WriteString(w, s.String())
	return err
}

// versionString describes this build in one line: the module version
// ("(devel)" for a local build without one), the commit when known, and
// the toolchain and platform.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	return readBuild(info, ok, Version).line()
}
