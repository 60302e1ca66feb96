package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

func newPopulateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "populate [plugin...]",
		Short: "Load the demo data of the enabled plugins (populate.lua), dependencies first; idempotent",
		RunE: func(cmd *cobra.Command, args []string) error {
			log, _, flush, err := g.logger(false)
			if err != nil {
				return err
			}
			defer flush()
			ctx := cmd.Context()
			db, closeDB, err := openDatabase(ctx, g.root, quietBelow(log, slog.LevelWarn))
			if err != nil {
				return err
			}
			defer closeDB()
			e, err := engine.New(engine.Options{Root: g.root, Logger: quietBelow(log, slog.LevelWarn), DB: db, PoolMin: 1})
			if err != nil {
				return err
			}
			if err := e.Start(ctx); err != nil {
				return err
			}
			defer e.Shutdown(context.Background())
			ran, err := e.Populate(ctx, args...)
			for _, n := range ran {
				fmt.Fprintf(cmd.OutOrStdout(), "populated %s\n", n)
			}
			if err == nil && len(ran) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no enabled plugin has a populate.lua")
			}
			return err
		},
	}
}
