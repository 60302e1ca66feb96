package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/records"
)

// makeGeneration checks the url_prefix against the serving set, applies
// pending migrations, builds (pre-warms) a new generation of p from src and
// compiles its routes into its own sub-router, without touching p's current
// generation. On error nothing of the new generation is left open.
func (e *Engine) makeGeneration(ctx context.Context, p *plugin, src *luavm.Source, m *Manifest, cfg map[string]any,
	serving map[string]*Generation) (*Generation, error) {
	if o := records.Overlapping(serving, p.Name, m.URLPrefix); o != nil {
		return nil, &PluginError{Plugin: p.Name, File: src.RelDir + "/init.lua", Op: "enable",
			Err: fmt.Errorf("url_prefix %s overlaps %s of plugin %s (serving)", m.URLPrefix, o.Manifest.URLPrefix, o.Plugin)}
	}
	release := e.poolUse(p.Name) // until g exists; then its retirement releases (pooldrop.go)
	defer func() { release() }()
	if err := e.preparePluginDB(ctx, p.Name, m); err != nil {
		return nil, err
	}
	if err := e.migrate(ctx, p.Name, src); err != nil {
		return nil, err
	}
	p.GenSeq++
	env := e.newEnv(src, p.GenSeq)
	g := &Generation{Plugin: p.Name, Number: p.GenSeq, Manifest: m, Config: cfg,
		Src: src, Env: env, Limits: e.genLimits(), Logger: env.Logger}
	if err := newGeneration(ctx, g); err != nil {
		return nil, err
	}
	release = func() {}
	mux, err := e.serve.CompileRoutes(g)
	if err != nil {
		e.discard(g)
		return nil, err
	}
	g.Mux = mux
	return g, nil
}

// migrate applies p's pending migrations (its dependencies' ran before, in
// dependency order).
func (e *Engine) migrate(ctx context.Context, name string, src *luavm.Source) error {
	if !plugindb.HasMigrations(e.opts.Root, name) {
		return nil
	}
	if e.migr == nil {
		return &PluginError{Plugin: name, File: src.RelDir + "/migrations", Op: "migrate",
			Err: errors.New("the plugin has migrations but the engine has no database")}
	}
	_, err := e.migr.Up(ctx, name)
	return err
}

// Enable enables a discovered or disabled plugin whose dependencies are
// enabled, reading its files again (a plugin directory created after Start
// is discovered here). Its error, when it fails, is also kept on the plugin.
func (e *Engine) Enable(ctx context.Context, name string) error {
	e.mu.Lock()
	res, err := e.enable(ctx, name)
	e.publishView()
	e.mu.Unlock()
	return errors.Join(err, e.retireNow(res))
}

func (e *Engine) enable(ctx context.Context, name string) (*reconcileResult, error) {
	if e.stopped {
		return nil, ErrEngineStopped
	}
	rootCfg, err := e.rootConfig()
	if err != nil {
		return nil, err
	}
	p, err := e.lookupOrDiscover(ctx, name)
	if err != nil {
		return nil, err
	}
	if p.State == StateEnabled {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyEnabled, name)
	}
	e.loader.Refresh(ctx, p)
	if p.Err != nil {
		return nil, p.Err
	}
	res, err := e.withWanted([]string{name}, true, func() (*reconcileResult, error) {
		return e.reconcile(ctx, reconcileReq{rootCfg: rootCfg})
	})
	if err != nil {
		return res, err
	}
	return res, res.errs[name]
}

// lookupOrDiscover finds a plugin's record, discovering a directory that
// appeared after Start (plugins/<name>/init.lua).
func (e *Engine) lookupOrDiscover(ctx context.Context, name string) (*plugin, error) {
	if p, ok := e.plugins[name]; ok {
		return p, nil
	}
	if !e.loader.Exists(name) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	p := e.loader.Load(ctx, name, nil)
	e.plugins[name] = p
	e.log.Info("plugin discovered", "plugin", name)
	return p, nil
}

// Disable disables an enabled plugin: its routes disappear atomically, its
// in-flight calls drain (bounded by Options.DrainTimeout, without the
// engine lock), on_disable runs once, its pool closes. Enabled dependents
// make it fail with ErrHasDependents unless cascade is set, in which case
// they are disabled first.
func (e *Engine) Disable(ctx context.Context, name string, cascade bool) error {
	e.mu.Lock()
	res, err := e.disable(ctx, name, cascade)
	e.publishView()
	e.mu.Unlock()
	return errors.Join(err, e.retireNow(res))
}

func (e *Engine) disable(ctx context.Context, name string, cascade bool) (*reconcileResult, error) {
	if e.stopped {
		return nil, ErrEngineStopped
	}
	p, ok := e.plugins[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if p.State != StateEnabled {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotEnabled, name, p.State)
	}
	deps := e.plugins.Dependents(name)
	if len(deps) > 0 && !cascade {
		return nil, &DependentsError{Plugin: name, Dependents: deps}
	}
	rootCfg, err := e.rootConfig()
	if err != nil {
		return nil, err
	}
	return e.withWanted(append(deps, name), false, func() (*reconcileResult, error) {
		return e.reconcile(ctx, reconcileReq{rootCfg: rootCfg})
	})
}

// withWanted sets wanted on the named plugins and runs fn; when fn fails
// (nothing was committed) the previous wanted values are restored.
func (e *Engine) withWanted(names []string, wanted bool, fn func() (*reconcileResult, error)) (*reconcileResult, error) {
	before := map[string]bool{}
	for _, n := range names {
		before[n] = e.plugins[n].Wanted
		e.plugins[n].Wanted = wanted
	}
	res, err := fn()
	if err != nil {
		for n, w := range before {
			e.plugins[n].Wanted = w
		}
	}
	return res, err
}

// retireNow retires what a reconcile took out of service, dependents
// first, each bounded by Options.DrainTimeout; call it without e.mu.
func (e *Engine) retireNow(res *reconcileResult) error {
	if res == nil {
		return nil
	}
	var errs []error
	for _, g := range res.retire {
		if err := g.Retire(e.opts.DrainTimeout); err != nil {
			errs = append(errs, fmt.Errorf("plugin %s: %w", g.Plugin, err))
		}
		e.metrics.Forget(g.Plugin, g.Number)
		e.poolRetired(g.Plugin)
	}
	return errors.Join(errs...)
}

// publishView copies the records for lock-free readers; call it under e.mu.
func (e *Engine) publishView() {
	v := e.plugins.Copy()
	e.view.Store(&v)
}

func (e *Engine) records() records.Set {
	if v := e.view.Load(); v != nil {
		return *v
	}
	return nil
}

// Plugins returns the status of every discovered plugin, by name.
func (e *Engine) Plugins() []PluginStatus { return e.records().Statuses() }

// Plugin returns the status of one plugin.
func (e *Engine) Plugin(name string) (PluginStatus, bool) { return e.records().Status(name) }
