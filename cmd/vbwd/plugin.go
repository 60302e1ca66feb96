package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

func newPluginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Inspect and manage plugins"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List plugins with version, state (and why a plugin failed) and dependencies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := loadStatuses(cmd.Context(), g)
			if err != nil {
				return err
			}
			rows := withSources(g.root, st)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			printPlugins(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, newPluginNewCmd(g))
	cmd.AddCommand(newRemoteCmds()...)
	cmd.AddCommand(newPkgCmds(g)...)
	return cmd
}

// loadStatuses loads the plugins as serve would, without serving, and
// reports their states.
func loadStatuses(ctx context.Context, g *globals) ([]engine.PluginStatus, error) {
	log, _, flush, err := g.logger(false)
	if err != nil {
		return nil, err
	}
	defer flush()
	// States depend on migrations, so the list loads plugins against the
	// database, as serve does.
	db, closeDB, err := openDatabase(ctx, g.root, quietBelow(log, slog.LevelWarn))
	if err != nil {
		return nil, err
	}
	defer closeDB()
	eng, err := engine.New(engine.Options{Root: g.root, Logger: quiet(log), DB: db, PoolMin: 1})
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	st := eng.Plugins()
	return st, eng.Shutdown(context.Background())
}

func printPlugins(w io.Writer, st []listedPlugin) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSTATE\tSOURCE\tDEPENDENCIES")
	for _, p := range st {
		deps := strings.Join(p.Dependencies, ", ")
		if deps == "" {
			deps = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, orDash(p.Version), p.State, p.Source, deps)
	}
	_ = tw.Flush()
	for _, p := range st {
		if p.Error != "" {
			fmt.Fprintf(w, "\n%s %s: %s\n", p.Name, p.State, p.Error)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
