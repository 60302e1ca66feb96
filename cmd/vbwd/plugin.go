package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

func newPluginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Inspect and manage plugins"}
	var asJSON, live bool
	rf := &remoteFlags{}
	list := &cobra.Command{
		Use:   "list",
		Short: "List plugins with version, state (and why a plugin fails) and dependencies; read-only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st []engine.PluginStatus
			var err error
			if live {
				st, err = rf.statuses(cmd.Context())
			} else {
				st, err = diskStatuses(cmd.Context(), g)
			}
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
	list.Flags().BoolVar(&live, "live", false, "ask a running engine (--addr) for its plugins' states instead of reading the disk")
	rf.register(list)
	cmd.AddCommand(list, newPluginNewCmd(g))
	cmd.AddCommand(newRemoteCmds()...)
	cmd.AddCommand(newPkgCmds(g)...)
	return cmd
}

// diskStatuses reads the plugins as the disk has them — manifests,
// plugins.json, dependencies — without building them: no database is opened
// or started, no migration applied, nothing written. A plugin plugins.json
// enables whose manifest loads and whose dependencies resolve is reported
// enabled; what its initialize or migrations would do only a running engine
// can tell (--live).
func diskStatuses(ctx context.Context, g *globals) ([]engine.PluginStatus, error) {
	log, _, flush, err := g.logger(false)
	if err != nil {
		return nil, err
	}
	defer flush()
	eng, err := engine.New(engine.Options{Root: g.root, Logger: quiet(log), PoolMin: 1})
	if err != nil {
		return nil, err
	}
	if err := eng.Load(ctx); err != nil {
		return nil, err
	}
	order, failures := eng.Order()
	enabled := map[string]bool{}
	for _, n := range order {
		enabled[n] = true
	}
	st := eng.Plugins()
	for i := range st {
		p := &st[i]
		switch {
		case p.State == engine.StateFailed:
		case failures[p.Name] != nil:
			p.State, p.Error = engine.StateFailed, failures[p.Name].Error()
		case enabled[p.Name]:
			p.State = engine.StateEnabled
		default:
			p.State = engine.StateDisabled
		}
	}
	return st, nil
}

// statuses asks a running engine's admin API for its plugins.
func (f *remoteFlags) statuses(ctx context.Context) ([]engine.PluginStatus, error) {
	var buf bytes.Buffer
	if err := f.request(ctx, http.MethodGet, "/admin/plugins", nil, &buf, true); err != nil {
		return nil, err
	}
	var body struct {
		Plugins []engine.PluginStatus `json:"plugins"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		return nil, fmt.Errorf("%s/admin/plugins: %w", f.addr, err)
	}
	return body.Plugins, nil
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
