package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/internal/testrunner"
)

func newTestCmd(g *globals) *cobra.Command {
	var run string
	var verbose, rootConfig bool
	var count int
	cmd := &cobra.Command{
		Use:   "test [plugin...]",
		Short: "Run plugins' tests/*_test.lua in a real engine, a fresh database per file",
		RunE: func(cmd *cobra.Command, args []string) error {
			log, _, flush, err := g.logger(false)
			if err != nil {
				return err
			}
			defer flush()
			level := slog.LevelError
			if verbose {
				level = slog.LevelWarn
			}
			log = quietBelow(log, level)
			ctx := cmd.Context()
			db, closeDB, err := openDatabase(ctx, g.root, log)
			if err != nil {
				return err
			}
			defer closeDB()
			sum, err := testrunner.Run(ctx, testrunner.Options{Root: g.root, Plugins: args, Run: run,
				Verbose: verbose, Out: cmd.OutOrStdout(), Logger: log, DB: db, RootConfig: rootConfig, Count: count})
			if err != nil {
				return err
			}
			if sum.Failed > 0 {
				return fmt.Errorf("%d of %d tests failed", sum.Failed, sum.Passed+sum.Failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run only tests whose name matches this regexp")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test with its output (print, vbwd.log) and engine warnings")
	cmd.Flags().BoolVar(&rootConfig, "root-config", false, "apply the root config.json (by default tests ignore it: each plugin runs with its own config.json and t.config)")
	cmd.Flags().IntVar(&count, "count", 1, "run every test file this many times")
	return cmd
}
