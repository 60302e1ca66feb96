package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

func newMigrateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Apply, roll back and inspect the plugins' SQL migrations"}
	var steps int
	down := &cobra.Command{
		Use:   "down <plugin>",
		Short: "Roll back a plugin's last migrations (refused while an enabled plugin depends on it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMigrator(cmd.Context(), g, func(ctx context.Context, e *engine.Engine, m *engine.Migrator) error {
				if deps := e.WantedDependents(args[0]); len(deps) > 0 {
					return fmt.Errorf("refusing to roll back %s: enabled plugins depend on it: %s (disable them first)", args[0], strings.Join(deps, ", "))
				}
				done, err := m.Down(ctx, args[0], steps)
				printFiles(cmd.OutOrStdout(), "rolled back", done)
				if err == nil && len(done) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: nothing to roll back\n", args[0])
				}
				return err
			})
		},
	}
	down.Flags().IntVar(&steps, "steps", 1, "how many migrations to roll back")
	cmd.AddCommand(&cobra.Command{
		Use:   "status [plugin]",
		Short: "Show applied and pending migrations per plugin",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMigrator(cmd.Context(), g, func(ctx context.Context, e *engine.Engine, m *engine.Migrator) error {
				return printStatus(ctx, cmd.OutOrStdout(), e, m, args)
			})
		},
	}, &cobra.Command{
		Use:   "up [plugin]",
		Short: "Apply pending migrations of the enabled plugins (or one plugin and its dependencies), dependencies first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMigrator(cmd.Context(), g, func(ctx context.Context, e *engine.Engine, m *engine.Migrator) error {
				return migrateUp(ctx, cmd.OutOrStdout(), e, m, args)
			})
		},
	}, down, &cobra.Command{
		Use:   "new <plugin> <name>",
		Short: "Create plugins/<plugin>/migrations/<timestamp>_<name>.sql with up and down sections",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := engine.NewMigration(g.root, args[0], args[1], time.Now())
			if err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), "created", file)
			}
			return err
		},
	})
	return cmd
}

// withMigrator loads the plugins (without building them) and opens the
// database (the embedded default when DATABASE_URL is unset).
func withMigrator(ctx context.Context, g *globals, fn func(context.Context, *engine.Engine, *engine.Migrator) error) error {
	log, _, flush, err := g.logger(false)
	if err != nil {
		return err
	}
	defer flush()
	log = quietBelow(log, slog.LevelWarn)
	db, closeDB, err := openDatabase(ctx, g.root, log)
	if err != nil {
		return err
	}
	defer closeDB()
	e, err := engine.New(engine.Options{Root: g.root, Logger: log, DB: db})
	if err != nil {
		return err
	}
	if err := e.Load(ctx); err != nil {
		return err
	}
	defer e.Migrator().Close()
	return fn(ctx, e, e.Migrator())
}

func printStatus(ctx context.Context, w io.Writer, e *engine.Engine, m *engine.Migrator, args []string) error {
	names := args
	if len(names) == 0 {
		for _, p := range e.Plugins() {
			names = append(names, p.Name)
		}
	}
	for _, n := range names {
		if _, ok := e.Plugin(n); !ok {
			return fmt.Errorf("%w: %s", engine.ErrUnknownPlugin, n)
		}
		st, err := m.Status(ctx, n)
		if err != nil {
			return err
		}
		if len(st) == 0 {
			if len(args) > 0 {
				fmt.Fprintf(w, "%s: no migrations\n", n)
			}
			continue
		}
		applied := 0
		for _, s := range st {
			mark := "[ ]"
			if s.Applied {
				mark, applied = "[X]", applied+1
			}
			fmt.Fprintf(w, "%s %s\n", mark, s.File)
		}
		fmt.Fprintf(w, "%s: %d applied, %d pending\n\n", n, applied, len(st)-applied)
	}
	return nil
}

func migrateUp(ctx context.Context, w io.Writer, e *engine.Engine, m *engine.Migrator, args []string) error {
	order, failures := e.Order()
	if len(args) == 1 {
		if _, ok := e.Plugin(args[0]); !ok {
			return fmt.Errorf("%w: %s", engine.ErrUnknownPlugin, args[0])
		}
		if err := failures[args[0]]; err != nil {
			return err
		}
		order = withDependencies(e, order, args[0])
	}
	var errs []error
	for _, n := range order {
		files, err := m.Up(ctx, n)
		printFiles(w, "applied", files)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		fmt.Fprintln(w, "migrations are up to date")
	}
	return errors.Join(errs...)
}

// withDependencies keeps, in order, name and the plugins it depends on.
func withDependencies(e *engine.Engine, order []string, name string) []string {
	need := map[string]bool{}
	for _, n := range e.Requires(name) {
		need[n] = true
	}
	var out []string
	for _, n := range order {
		if need[n] {
			out = append(out, n)
		}
	}
	return out
}

func printFiles(w io.Writer, verb string, files []string) {
	for _, f := range files {
		fmt.Fprintf(w, "%s %s\n", verb, f)
	}
}
