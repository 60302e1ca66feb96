// Package testrunner is `vbwd test`: it runs each plugin's tests/*_test.lua
// inside a real engine — the plugin and its dependencies enabled on a fresh
// database per test file, cloned from a template migrated once — with
// vbwd.test for declarations, assertions, an in-process HTTP client, demo
// data, clock control and event capture.
package testrunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

// Options configure a run.
type Options struct {
	Root    string
	Plugins []string // empty: every plugin that has tests
	Run     string   // only tests whose name matches this regexp
	Verbose bool
	Out     io.Writer
	Logger  *slog.Logger // engine logs (warnings and errors by default)
	// DB is a pool on the PostgreSQL server; test databases are created and
	// dropped on that server.
	DB *pgxpool.Pool
	// FileTimeout bounds one test file. Default 5 minutes.
	FileTimeout time.Duration
	// RootConfig applies the root config.json; by default tests ignore it
	// (hermetic: an ops change to it does not change test results).
	RootConfig bool
	// Count runs every test file this many times. Default 1.
	Count int
}

// Summary counts tests.
type Summary struct{ Passed, Failed int }

// Run runs the tests and prints a line per failure (every test with
// Verbose) and "N passed, N failed" at the end.
func Run(ctx context.Context, o Options) (Summary, error) {
	var sum Summary
	if o.FileTimeout <= 0 {
		o.FileTimeout = 5 * time.Minute
	}
	var filter *regexp.Regexp
	if o.Run != "" {
		var err error
		if filter, err = regexp.Compile(o.Run); err != nil {
			return sum, fmt.Errorf("--run: %w", err)
		}
	}
	if o.Count <= 0 {
		o.Count = 1
	}
	root, rootCfg, err := hermeticRoot(o.Root, o.RootConfig)
	if err != nil {
		return sum, err
	}
	defer os.RemoveAll(root)
	probe, err := engine.New(engine.Options{Root: root, Logger: o.Logger})
	if err != nil {
		return sum, err
	}
	if err := probe.Load(ctx); err != nil {
		return sum, err
	}
	plugins, err := selectPlugins(o, probe)
	if err != nil {
		return sum, err
	}
	for _, p := range plugins {
		files, _ := filepath.Glob(filepath.Join(o.Root, "plugins", p, "tests", "*_test.lua"))
		sort.Strings(files)
		if len(files) == 0 {
			fmt.Fprintf(o.Out, "?   %s: no tests (plugins/%s/tests/*_test.lua)\n", p, p)
			continue
		}
		r := &pluginRun{o: o, root: root, rootCfg: rootCfg, plugin: p, needed: probe.Requires(p), filter: filter, sum: &sum}
		if err := r.run(ctx, files); err != nil {
			return sum, err
		}
	}
	fmt.Fprintf(o.Out, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	return sum, nil
}

func selectPlugins(o Options, probe *engine.Engine) ([]string, error) {
	if len(o.Plugins) > 0 {
		for _, p := range o.Plugins {
			if _, ok := probe.Plugin(p); !ok {
				return nil, fmt.Errorf("%w: %s", engine.ErrUnknownPlugin, p)
			}
		}
		return o.Plugins, nil
	}
	var out []string
	for _, st := range probe.Plugins() {
		if files, _ := filepath.Glob(filepath.Join(o.Root, "plugins", st.Name, "tests", "*_test.lua")); len(files) > 0 {
			out = append(out, st.Name)
		}
	}
	return out, nil
}

// pluginRun runs one plugin's test files.
type pluginRun struct {
	o       Options
	root    string // hermeticRoot
	rootCfg []byte // its config.json; nil: none
	plugin  string
	needed  []string
	filter  *regexp.Regexp
	sum     *Summary
	tpl     string
}

func (r *pluginRun) run(ctx context.Context, files []string) error {
	r.tpl = dbName(r.plugin, "tpl")
	if err := createDB(ctx, r.o.DB, r.tpl, ""); err != nil {
		return err
	}
	defer dropDB(r.o.DB, r.tpl)
	if err := r.migrateTemplate(ctx); err != nil {
		for _, f := range files {
			r.fail(f, "", fmt.Sprintf("the plugin does not start: %v", err))
		}
		return nil
	}
	for range r.o.Count {
		for _, f := range files {
			if err := r.file(ctx, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// migrateTemplate starts an engine on the template database once, so each
// test file's database is a cheap clone with every migration applied.
func (r *pluginRun) migrateTemplate(ctx context.Context) error {
	pool, err := poolFor(ctx, r.o.DB, r.tpl)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := r.resetConfig(); err != nil {
		return err
	}
	e, err := engine.New(engine.Options{Root: r.root, Logger: r.o.Logger, DB: pool, Enabled: r.needed, PoolMin: 1,
		Events: engine.EventOptions{Workers: -1}})
	if err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		return err
	}
	defer e.Shutdown(context.Background())
	var errs []error
	for _, n := range r.needed {
		if st, _ := e.Plugin(n); st.State != engine.StateEnabled {
			errs = append(errs, fmt.Errorf("%s is %s: %s", n, st.State, st.Error))
		}
	}
	return errors.Join(errs...)
}

func (r *pluginRun) fail(file, test, msg string) {
	r.sum.Failed++
	name := rel(r.o.Root, file)
	if test != "" {
		name += ": " + test
	}
	fmt.Fprintf(r.o.Out, "--- FAIL: %s\n    %s\n", name, strings.ReplaceAll(msg, "\n", "\n    "))
}

func rel(root, file string) string {
	if r, err := filepath.Rel(root, file); err == nil {
		return filepath.ToSlash(r)
	}
	return file
}

func dbName(plugin, kind string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "vbwd_t_" + plugin
	if len(name) > 40 {
		name = name[:40]
	}
	return name + "_" + kind + "_" + hex.EncodeToString(b)
}

func createDB(ctx context.Context, admin *pgxpool.Pool, name, template string) error {
	sql := "create database " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " template " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating test database %s: %w", name, err)
	}
	return nil
}

func dropDB(admin *pgxpool.Pool, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = admin.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)")
}

// poolFor opens a pool on another database of the admin pool's server.
func poolFor(ctx context.Context, admin *pgxpool.Pool, db string) (*pgxpool.Pool, error) {
	cfg := admin.Config().Copy()
	cfg.ConnConfig.Database = db
	cfg.MaxConns = 16
	return pgxpool.NewWithConfig(ctx, cfg)
}
