package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// SetEnabled enables or disables a plugin and persists the choice to
// plugins.json. Disabling a plugin that enabled plugins depend on fails with
// ErrHasDependents unless cascade is set (then they are disabled and
// persisted too). Enabling a plugin whose dependencies are not enabled
// fails with their chain.
func (e *Engine) SetEnabled(ctx context.Context, name string, enabled, cascade bool) error {
	e.mu.Lock()
	res, err := e.setEnabled(ctx, name, enabled, cascade)
	e.publishView()
	e.mu.Unlock()
	return errors.Join(err, e.retireNow(res))
}

func (e *Engine) setEnabled(ctx context.Context, name string, enabled, cascade bool) (*reconcileResult, error) {
	if e.stopped {
		return nil, ErrEngineStopped
	}
	p, err := e.lookupOrDiscover(ctx, name)
	if err != nil {
		return nil, err
	}
	if !enabled {
		deps := e.plugins.Dependents(name)
		if len(deps) > 0 && !cascade {
			return nil, &DependentsError{Plugin: name, Dependents: deps}
		}
		for _, n := range append(deps, name) {
			if err := spec.PersistEnabled(e.opts.Root, n, false, e.plugins.WantedNames()); err != nil {
				return nil, err
			}
		}
		if p.State != StateEnabled {
			p.Wanted, p.State = false, StateDisabled
			return nil, nil
		}
		return e.disable(ctx, name, cascade)
	}
	if err := spec.PersistEnabled(e.opts.Root, name, true, e.plugins.WantedNames()); err != nil {
		return nil, err
	}
	if p.State == StateEnabled {
		return nil, nil
	}
	return e.enable(ctx, name)
}

// SetConfig validates cfg against the plugin's admin-config.json, builds a
// generation with it (for an enabled plugin), persists it to the root
// config.json and swaps the generation in. A schema violation is a
// *PluginError wrapping a *ConfigError listing every violation.
func (e *Engine) SetConfig(ctx context.Context, name string, cfg map[string]any) (ReloadResult, error) {
	e.mu.Lock()
	res, left, err := e.setConfig(ctx, name, cfg)
	e.publishView()
	e.mu.Unlock()
	e.build.RetireLater(left, &e.retiring)
	return res, err
}

func (e *Engine) setConfig(ctx context.Context, name string, cfg map[string]any) (ReloadResult, []*Generation, error) {
	p, ok := e.plugins[name]
	if !ok {
		return ReloadResult{}, nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if p.Src == nil {
		return ReloadResult{}, nil, p.Err
	}
	merged, err := spec.MergedConfig(p.Src, cfg)
	if err != nil {
		return ReloadResult{}, nil, err
	}
	if p.State != StateEnabled {
		return ReloadResult{Plugin: name}, nil, spec.PersistConfig(e.opts.Root, name, cfg)
	}
	// Build first, persist, then swap: a config that cannot start is neither
	// saved nor served.
	res, left, err := e.reload(ctx, name, merged)
	if err != nil {
		return res, left, err
	}
	return res, left, spec.PersistConfig(e.opts.Root, name, cfg)
}

// Config returns a plugin's root config.json override and its merged config.
func (e *Engine) Config(name string) (override, merged map[string]any, err error) {
	p, ok := e.records()[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	rootCfg, err := e.rootConfig()
	if err != nil {
		return nil, nil, err
	}
	override = rootCfg[name]
	if override == nil {
		override = map[string]any{}
	}
	if p.Gen != nil {
		return override, p.Gen.Config, nil
	}
	if p.Src == nil {
		return override, nil, nil
	}
	merged, _ = spec.PluginConfig(p.Src, override)
	return override, merged, nil
}

// Rescan re-reads the plugins directory, plugins.json and config.json and
// brings the engine in line: new plugins are discovered (and enabled when
// wanted), removed ones are disabled and forgotten, plugins switched off in
// plugins.json are disabled (with their dependents), and changed ones are
// reloaded. Per-plugin failures are reported in Errors; the rest proceeds.
func (e *Engine) Rescan(ctx context.Context) (RescanResult, error) {
	e.mu.Lock()
	res, rc, err := e.rescan(ctx)
	e.publishView()
	e.mu.Unlock()
	if rerr := e.retireNow(rc); rerr != nil && err == nil {
		err = rerr
	}
	return res, err
}

func (e *Engine) rescan(ctx context.Context) (RescanResult, *reconcileResult, error) {
	res := RescanResult{Errors: map[string]string{}}
	if e.stopped {
		return res, nil, ErrEngineStopped
	}
	pf, exists, err := spec.ReadPluginsFile(e.opts.Root)
	if err != nil {
		return res, nil, err
	}
	rootCfg, err := e.rootConfig()
	if err != nil {
		return res, nil, err
	}
	onDisk, err := spec.PluginDirs(e.opts.Root)
	if err != nil {
		return res, nil, err
	}
	wanted := func(n string) bool { return onDisk[n] && (!exists || pf.Plugins[n].Enabled) }
	reload := map[string]map[string]any{}
	for n, p := range e.plugins {
		p.Wanted = wanted(n)
		switch {
		case p.Gen != nil && p.Wanted:
			reload[n] = nil // rebuilt when its files or config changed
		case p.Gen == nil && p.Wanted:
			e.loader.Refresh(ctx, p)
		}
	}
	for n := range onDisk {
		if _, ok := e.plugins[n]; !ok {
			p := e.loader.Load(ctx, n, nil)
			p.Wanted = wanted(n)
			e.plugins[n] = p
			res.Added = append(res.Added, n)
		}
	}
	rc, err := e.reconcile(ctx, reconcileReq{rootCfg: rootCfg, reload: reload})
	if err != nil {
		return res, nil, err
	}
	for n := range e.plugins {
		if !onDisk[n] && e.plugins[n].Gen == nil {
			delete(e.plugins, n)
			res.Removed = append(res.Removed, n)
		}
	}
	res.Enabled, res.Disabled, res.Reloaded, res.Unchanged = rc.started, rc.stopped, rc.reloaded, rc.unchanged
	for n, err := range rc.errs {
		res.Errors[n] = err.Error()
	}
	for n, p := range e.plugins {
		if p.Wanted && p.State == StateFailed && res.Errors[n] == "" && p.Err != nil {
			res.Errors[n] = p.Err.Error()
		}
	}
	for _, l := range [][]string{res.Added, res.Removed, res.Enabled, res.Disabled, res.Reloaded, res.Unchanged} {
		sort.Strings(l)
	}
	return res, rc, nil
}
