package main

import (
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// newDataCmd is `vbwd data export|import`: the data exchangers of a running
// engine, through its admin API.
func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Export and import plugin data through a running engine's exchangers"}
	var format, out string
	var pii bool
	ef := &remoteFlags{}
	export := &cobra.Command{
		Use:   "export <key>",
		Short: "Stream an exchanger's rows as JSON or CSV (PII masked unless --pii)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"format": {format}}
			if pii {
				q.Set("pii", "true")
			}
			w := cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return ef.request(cmd.Context(), http.MethodGet, "/admin/data-exchange/"+args[0]+"/export?"+q.Encode(), nil, w, true)
		},
	}
	ef.register(export)
	export.Flags().StringVar(&format, "format", "json", "json or csv")
	export.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	export.Flags().BoolVar(&pii, "pii", false, "include PII fields (needs <key>.export.pii)")

	var iformat, mode string
	var dryRun bool
	imf := &remoteFlags{}
	imp := &cobra.Command{
		Use:   "import <key> <file>",
		Short: "Import rows (upsert by natural key, all or nothing); --dry-run reports without changing",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			if iformat == "" {
				iformat = "json"
				if strings.HasSuffix(strings.ToLower(args[1]), ".csv") {
					iformat = "csv"
				}
			}
			q := url.Values{"format": {iformat}, "mode": {mode}}
			if dryRun {
				q.Set("dry_run", "1")
			}
			return imf.request(cmd.Context(), http.MethodPost, "/admin/data-exchange/"+args[0]+"/import?"+q.Encode(), f, cmd.OutOrStdout(), false)
		},
	}
	imf.register(imp)
	imp.Flags().StringVar(&iformat, "format", "", "json or csv (default: from the file name)")
	imp.Flags().StringVar(&mode, "mode", "upsert", "upsert or replace_all")
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "validate and count without changing anything")
	cmd.AddCommand(export, imp)
	return cmd
}
