// Package builder makes plugin generations beside what serves and retires
// them, for the engine's reconciler: the host modules bound to a generation
// (Env), the manifest read in a throwaway state, the plugin's database (its
// role and schema, its pending migrations, and the count of generations
// using its pool), the generation's states (gen.Build) and its routes
// (serve.CompileRoutes); then the bounded retirement of what left. The
// engine fills a Builder once, at New; this package never imports it.
package builder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/records"
	"github.com/vbwd-platform/vbwd-engine/engine/serve"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Builder is what the engine builds and retires generations with.
type Builder struct {
	Root    string
	Modules []hostapi.Factory // the host modules offered to plugins
	Log     *slog.Logger
	Limits  gen.Limits // the options a generation is built and called with
	// DrainTimeout bounds the retirement of a generation.
	DrainTimeout time.Duration
	DB           *pgxpool.Pool      // the shared pool; nil without a database
	Migr         *plugindb.Migrator // nil without a database
	// Lookup is the records' DBLookup (a plugin's declared extensions and
	// every installed plugin's name); it runs under the engine lock.
	Lookup  func(plugin string) (exts, names []string)
	Routes  *serve.Server // compiles a generation's routes
	Metrics *web.Metrics  // a retired generation's series are forgotten
	Clock   func() time.Time

	users poolUsers // generations that may use each plugin's database pool (pooldrop.go)
}

// Env binds the host modules to one plugin generation.
func (b *Builder) Env(src *luavm.Source, number int64) *gen.Env {
	logger := b.Log.With("plugin", src.Name, "gen", number)
	info := hostapi.Plugin{Name: src.Name, Generation: number, Dir: src.Dir, Logger: logger}
	mods := make(map[string]hostapi.Module, len(b.Modules))
	for _, f := range b.Modules {
		m := f(info)
		mods[m.Name()] = m
	}
	return &gen.Env{Modules: mods, Logger: logger}
}

// ReadManifest runs a plugin's init.lua in a throwaway state (build phase,
// bounded by the request timeout) and reads its manifest.
func (b *Builder) ReadManifest(ctx context.Context, src *luavm.Source) (*spec.Manifest, error) {
	ctx, cancel := context.WithTimeout(hostapi.WithBuildPhase(ctx), b.Limits.RequestTimeout)
	defer cancel()
	env := b.Env(src, 0)
	return spec.ReadManifest(ctx, src, env.Modules, env.Logger, b.Limits.MemoryBudget)
}

// Make checks the url_prefix against the serving set, applies pending
// migrations, builds (pre-warms) a new generation of p from src and
// compiles its routes into its own sub-router, without touching p's current
// generation. On error nothing of the new generation is left open.
func (b *Builder) Make(ctx context.Context, p *records.Plugin, src *luavm.Source, m *spec.Manifest, cfg map[string]any,
	serving map[string]*gen.Generation) (*gen.Generation, error) {
	if o := records.Overlapping(serving, p.Name, m.URLPrefix); o != nil {
		return nil, &errs.PluginError{Plugin: p.Name, File: src.RelDir + "/init.lua", Op: "enable",
			Err: fmt.Errorf("url_prefix %s overlaps %s of plugin %s (serving)", m.URLPrefix, o.Manifest.URLPrefix, o.Plugin)}
	}
	release := b.poolUse(p.Name) // until g exists; then its retirement releases (pooldrop.go)
	defer func() { release() }()
	if err := b.preparePluginDB(ctx, p.Name, m); err != nil {
		return nil, err
	}
	if err := b.migrate(ctx, p.Name, src); err != nil {
		return nil, err
	}
	p.GenSeq++
	env := b.Env(src, p.GenSeq)
	g := &gen.Generation{Plugin: p.Name, Number: p.GenSeq, Manifest: m, Config: cfg,
		Src: src, Env: env, Limits: b.Limits, Logger: env.Logger}
	if err := gen.Build(ctx, g); err != nil {
		return nil, err
	}
	release = func() {}
	mux, err := b.Routes.CompileRoutes(g)
	if err != nil {
		b.Discard(g)
		return nil, err
	}
	g.Mux = mux
	return g, nil
}

// migrate applies p's pending migrations (its dependencies' ran before, in
// dependency order).
func (b *Builder) migrate(ctx context.Context, name string, src *luavm.Source) error {
	if !plugindb.HasMigrations(b.Root, name) {
		return nil
	}
	if b.Migr == nil {
		return &errs.PluginError{Plugin: name, File: src.RelDir + "/migrations", Op: "migrate",
			Err: errors.New("the plugin has migrations but the engine has no database")}
	}
	_, err := b.Migr.Up(ctx, name)
	return err
}

// Discard closes a generation that was built but never served.
func (b *Builder) Discard(g *gen.Generation) {
	if err := g.Retire(b.DrainTimeout); err != nil {
		g.Logger.Error("closing an unused generation", "err", err)
	}
	b.Metrics.Forget(g.Plugin, g.Number)
	b.poolRetired(g.Plugin)
}

// Retire retires what a reconcile took out of service, in the order given
// (dependents first), each bounded by DrainTimeout; call it without the
// engine lock.
func (b *Builder) Retire(gens []*gen.Generation) error {
	var errList []error
	for _, g := range gens {
		if err := g.Retire(b.DrainTimeout); err != nil {
			errList = append(errList, fmt.Errorf("plugin %s: %w", g.Plugin, err))
		}
		b.Metrics.Forget(g.Plugin, g.Number)
		b.poolRetired(g.Plugin)
	}
	return errors.Join(errList...)
}

// RetireLater retires replaced generations in the background, each bounded
// by DrainTimeout; group (the engine's Shutdown) waits for them.
func (b *Builder) RetireLater(gens []*gen.Generation, group *sync.WaitGroup) {
	for _, g := range gens {
		group.Add(1)
		go func() {
			defer group.Done()
			if err := g.Retire(b.DrainTimeout); err != nil {
				g.Logger.Error("retiring generation", "err", err)
			}
			b.Metrics.Forget(g.Plugin, g.Number)
			b.poolRetired(g.Plugin)
		}()
	}
}
