package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// SetEnabled enables or disables a plugin and persists the choice to
// plugins.json. Disabling a plugin that enabled plugins depend on fails with
// ErrHasDependents unless cascade is set (then they are disabled and
// persisted too). Enabling a plugin whose dependencies are not enabled
// fails with their chain.
func (e *Engine) SetEnabled(ctx context.Context, name string, enabled, cascade bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return ErrEngineStopped
	}
	p, ok := e.plugins[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if !enabled {
		deps := e.dependents(name)
		if len(deps) > 0 && !cascade {
			return &DependentsError{Plugin: name, Dependents: deps}
		}
		for _, n := range append(deps, name) {
			if err := persistEnabled(e.opts.Root, n, false, e.wantedNames()); err != nil {
				return err
			}
		}
		if p.state != StateEnabled {
			p.wanted, p.state = false, StateDisabled
			return nil
		}
		return e.disable(ctx, name, cascade)
	}
	if err := persistEnabled(e.opts.Root, name, true, e.wantedNames()); err != nil {
		return err
	}
	if p.state == StateEnabled {
		return nil
	}
	return e.enable(ctx, name)
}

// wantedNames lists the plugins enabled by choice (plugins.json, or every
// plugin on a fresh install without one).
func (e *Engine) wantedNames() []string {
	var out []string
	for n, p := range e.plugins {
		if p.wanted {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// SetConfig validates cfg against the plugin's admin-config.json, builds a
// generation with it (for an enabled plugin), persists it to the root
// config.json and swaps the generation in. A schema violation is a
// *PluginError wrapping a *ConfigError listing every violation.
func (e *Engine) SetConfig(ctx context.Context, name string, cfg map[string]any) (ReloadResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.plugins[name]
	if !ok {
		return ReloadResult{}, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if p.src == nil {
		return ReloadResult{}, p.err
	}
	merged, err := e.mergedWith(p, cfg)
	if err != nil {
		return ReloadResult{}, err
	}
	if p.state != StateEnabled {
		return ReloadResult{Plugin: name}, persistConfig(e.opts.Root, name, cfg)
	}
	// Build first, persist, then swap: a config that cannot start is neither
	// saved nor served.
	res, err := e.reload(ctx, name, merged)
	if err != nil {
		return res, err
	}
	return res, persistConfig(e.opts.Root, name, cfg)
}

// mergedWith merges an override into the plugin's defaults and validates it.
func (e *Engine) mergedWith(p *plugin, override map[string]any) (map[string]any, error) {
	defaults, err := pluginConfig(p.src, nil)
	if err != nil {
		// the defaults alone may violate the schema; validate the merge below
		defaults = map[string]any{}
		if d, rerr := readJSONObject(filepath.Join(p.src.dir, "config.json"), p.src.relDir+"/config.json"); rerr == nil {
			defaults = d
		}
	}
	merged := mergeConfig(defaults, override)
	if err := validateConfig(p.src, merged); err != nil {
		return nil, err
	}
	return merged, nil
}

// Config returns a plugin's root config.json override and its merged config.
func (e *Engine) Config(name string) (override, merged map[string]any, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.plugins[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	rootCfg, err := readRootConfig(e.opts.Root)
	if err != nil {
		return nil, nil, err
	}
	override = rootCfg[name]
	if override == nil {
		override = map[string]any{}
	}
	if p.gen != nil {
		return override, p.gen.Config, nil
	}
	if p.src == nil {
		return override, nil, nil
	}
	merged, _ = pluginConfig(p.src, override)
	return override, merged, nil
}

// RescanResult says what a rescan changed.
type RescanResult struct {
	Added     []string          `json:"added"`
	Removed   []string          `json:"removed"`
	Enabled   []string          `json:"enabled"`
	Disabled  []string          `json:"disabled"`
	Reloaded  []string          `json:"reloaded"`
	Unchanged []string          `json:"unchanged"`
	Errors    map[string]string `json:"errors"`
}

// Rescan re-reads the plugins directory, plugins.json and config.json and
// brings the engine in line: new plugins are discovered (and enabled when
// wanted), removed ones are disabled and forgotten, plugins switched off in
// plugins.json are disabled (with their dependents), and changed ones are
// reloaded. Per-plugin failures are reported in Errors; the rest proceeds.
func (e *Engine) Rescan(ctx context.Context) (RescanResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := RescanResult{Errors: map[string]string{}}
	pf, exists, err := readPluginsFile(e.opts.Root)
	if err != nil {
		return res, err
	}
	if _, err := readRootConfig(e.opts.Root); err != nil {
		return res, err
	}
	onDisk := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(e.opts.Root, "plugins"))
	if err != nil {
		return res, err
	}
	for _, ent := range entries {
		if _, err := os.Stat(filepath.Join(e.opts.Root, "plugins", ent.Name(), "init.lua")); ent.IsDir() && err == nil {
			onDisk[ent.Name()] = true
		}
	}
	wanted := func(n string) bool { return !exists || pf.Plugins[n].Enabled }
	e.rescanRemove(ctx, onDisk, wanted, &res)
	for n := range onDisk {
		p, ok := e.plugins[n]
		if !ok {
			e.plugins[n] = e.loadPlugin(ctx, n)
			e.plugins[n].wanted = wanted(n)
			res.Added = append(res.Added, n)
			continue
		}
		if p.state != StateEnabled {
			if p.wanted = wanted(n); p.wanted && p.state != StateEnabled {
				*p = *e.loadPlugin(ctx, n)
				p.state = StateDiscovered
			}
			continue
		}
		r, err := e.reload(ctx, n, nil)
		switch {
		case err != nil:
			res.Errors[n] = err.Error()
		case r.Unchanged:
			res.Unchanged = append(res.Unchanged, n)
		default:
			res.Reloaded = append(res.Reloaded, n)
		}
	}
	before := map[string]bool{}
	for n, p := range e.plugins {
		before[n] = p.state == StateEnabled
	}
	e.enableWanted(ctx)
	for n, p := range e.plugins {
		if p.state == StateInitialized && !before[n] {
			res.Enabled = append(res.Enabled, n)
		}
		if p.wanted && p.state == StateFailed && res.Errors[n] == "" && p.err != nil {
			res.Errors[n] = p.err.Error()
		}
	}
	for _, l := range [][]string{res.Added, res.Removed, res.Enabled, res.Disabled, res.Reloaded, res.Unchanged} {
		sort.Strings(l)
	}
	return res, e.swapRouter()
}

// rescanRemove disables plugins gone from disk or switched off in
// plugins.json (with their dependents) and forgets the gone ones.
func (e *Engine) rescanRemove(ctx context.Context, onDisk map[string]bool, wanted func(string) bool, res *RescanResult) {
	names := make([]string, 0, len(e.plugins))
	for n := range e.plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := e.plugins[n]
		gone := !onDisk[n]
		if p.state == StateEnabled && (gone || !wanted(n)) {
			if err := e.disable(ctx, n, true); err != nil {
				res.Errors[n] = err.Error()
			}
			res.Disabled = append(res.Disabled, n)
		}
		p.wanted = !gone && wanted(n)
		if gone {
			delete(e.plugins, n)
			res.Removed = append(res.Removed, n)
		}
	}
}
