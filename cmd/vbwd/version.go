package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=..."
var version = "dev"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vbwd version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lua := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					if d.Path == "github.com/yuin/gopher-lua" {
						lua = d.Version
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vbwd %s (%s, gopher-lua %s, %s/%s)\n",
				version, runtime.Version(), lua, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
