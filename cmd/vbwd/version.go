package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version and revision may be set at link time (-ldflags "-X main.version=...
// -X main.revision=..."), as `make release` does; otherwise they come from
// the build info Go stamps into every binary: the module version (a tag or a
// pseudo-version when built with `go install module@version`) and the VCS
// revision of a plain `go build` in a git checkout.
var (
	version  = ""
	revision = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vbwd version, VCS revision, Go and gopher-lua versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(bi, version, revision))
			return nil
		},
	}
}

// buildVersion is the version alone (for the traces' service.version).
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionLine is `vbwd <version> (<revision>[, modified], <go>, gopher-lua
// <v>, <os>/<arch>)`; link-time values win over the build info.
func versionLine(bi *debug.BuildInfo, ldVersion, ldRevision string) string {
	ver, rev, vcsTime, modified, lua := "dev", "unknown revision", "", false, "unknown"
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			ver = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/yuin/gopher-lua" {
				lua = d.Version
			}
		}
	}
	if ldVersion != "" {
		ver = ldVersion
	}
	if ldRevision != "" {
		rev = ldRevision
	}
	parts := []string{rev}
	if vcsTime != "" {
		parts = append(parts, vcsTime)
	}
	if modified {
		parts = append(parts, "modified")
	}
	return fmt.Sprintf("vbwd %s (%s, %s, gopher-lua %s, %s/%s)", ver, strings.Join(parts, ", "),
		runtime.Version(), lua, runtime.GOOS, runtime.GOARCH)
}
