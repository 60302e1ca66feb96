package engine

import (
	"context"
	"fmt"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/records"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// Reload builds a new generation of an enabled plugin from its files beside
// the serving one (compile, manifest, dependency checks, config schema,
// pending migrations, pre-warm, registrations, routes), swaps it in
// atomically and retires the old one in the background (drain, on_disable,
// close). On any failure the old generation keeps serving and the error (a
// *PluginError with file and line where known) is returned and kept as the
// plugin's last error. Unchanged files and config: nothing is rebuilt.
func (e *Engine) Reload(ctx context.Context, name string) (ReloadResult, error) {
	e.mu.Lock()
	res, left, err := e.reload(ctx, name, nil)
	e.publishView()
	e.mu.Unlock()
	e.build.RetireLater(left, &e.retiring)
	outcome := "reloaded"
	switch {
	case err != nil:
		outcome = "failed"
	case res.Unchanged:
		outcome = "unchanged"
	}
	e.metrics.Reloads.WithLabelValues(name, outcome).Inc()
	return res, err
}

// reload rebuilds name; cfg, when non-nil, replaces the config read from
// disk (a config change not yet persisted). It returns the generations to
// retire once e.mu is released.
func (e *Engine) reload(ctx context.Context, name string, cfg map[string]any) (ReloadResult, []*Generation, error) {
	if e.stopped {
		return ReloadResult{}, nil, ErrEngineStopped
	}
	rootCfg, err := e.rootConfig()
	if err != nil {
		return ReloadResult{Plugin: name}, nil, err
	}
	p, err := e.lookupOrDiscover(ctx, name)
	if err != nil {
		return ReloadResult{}, nil, err
	}
	if p.Gen == nil {
		return e.reloadNotServing(ctx, p, rootCfg)
	}
	res, err := e.reconcile(ctx, reconcileReq{rootCfg: rootCfg, reload: map[string]map[string]any{name: cfg}})
	if err != nil {
		return ReloadResult{Plugin: name}, nil, err
	}
	if err := res.errs[name]; err != nil {
		return ReloadResult{Plugin: name}, res.retire, err
	}
	g := p.Gen
	out := ReloadResult{Plugin: name, Generation: g.Number, Hash: p.Src.Hash}
	if len(res.reloaded) == 0 || !contains(res.reloaded, name) {
		out.Unchanged = true
	} else {
		e.log.Info("plugin reloaded", "plugin", name, "gen", g.Number, "hash", p.Src.Hash[:12])
	}
	return out, res.retire, nil
}

// reloadNotServing gives a wanted plugin that is not serving (failed, or
// waiting for a dependency) a fresh look at its files.
func (e *Engine) reloadNotServing(ctx context.Context, p *plugin, rootCfg rootConfig) (ReloadResult, []*Generation, error) {
	if !p.Wanted {
		return ReloadResult{Plugin: p.Name}, nil, fmt.Errorf("%w: %s is %s", ErrNotEnabled, p.Name, p.State)
	}
	e.loader.Refresh(ctx, p)
	if p.Err != nil {
		return ReloadResult{Plugin: p.Name}, nil, p.Err
	}
	res, err := e.reconcile(ctx, reconcileReq{rootCfg: rootCfg})
	if err == nil {
		err = res.errs[p.Name]
	}
	if err != nil {
		return ReloadResult{Plugin: p.Name}, nil, err
	}
	return ReloadResult{Plugin: p.Name, Generation: p.Gen.Number, Hash: p.Src.Hash}, res.retire, nil
}

// loadCandidate compiles a plugin's current files and checks them against
// the serving set: manifest, dependencies, dependents' ranges, config.
func (e *Engine) loadCandidate(ctx context.Context, p *plugin, cfg map[string]any, rootCfg rootConfig,
	serving map[string]*Generation) (*luavm.Source, *Manifest, map[string]any, error) {
	src, err := luavm.LoadSource(e.opts.Root, p.Name)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := e.build.ReadManifest(ctx, src)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := records.DepsIn(p.Name, m, serving); err != nil {
		return nil, nil, nil, err
	}
	if err := records.DependentsAccept(p.Name, m, serving); err != nil {
		return nil, nil, nil, err
	}
	if cfg == nil {
		cfg, err = spec.PluginConfig(src, rootCfg[p.Name])
	} else {
		err = spec.ValidateConfig(src, cfg)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return src, m, cfg, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
