package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// ReloadResult says what a reload did.
type ReloadResult struct {
	Plugin     string `json:"plugin"`
	Unchanged  bool   `json:"unchanged"`
	Generation int64  `json:"generation"`
	Hash       string `json:"hash"`
}

// retireTimeout bounds the drain of a generation replaced by a reload.
const retireTimeout = 2 * time.Minute

// Reload builds a new generation of an enabled plugin from its files beside
// the serving one (compile, manifest, dependency checks, config schema,
// pending migrations, pre-warm, registrations), swaps it in atomically and
// retires the old one in the background (drain, on_disable, close). On any
// failure the old generation keeps serving and the error (a *PluginError
// with file and line where known) is returned and kept as the plugin's last
// error. Unchanged files and config: nothing is rebuilt.
func (e *Engine) Reload(ctx context.Context, name string) (ReloadResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res, err := e.reload(ctx, name, nil)
	outcome := "reloaded"
	switch {
	case err != nil:
		outcome = "failed"
	case res.Unchanged:
		outcome = "unchanged"
	}
	e.metrics.reloads.WithLabelValues(name, outcome).Inc()
	return res, err
}

// reload rebuilds name; cfg, when non-nil, replaces the config read from
// disk (a config change not yet persisted).
func (e *Engine) reload(ctx context.Context, name string, cfg map[string]any) (ReloadResult, error) {
	if e.stopped {
		return ReloadResult{}, ErrEngineStopped
	}
	p, ok := e.plugins[name]
	if !ok {
		return ReloadResult{}, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if p.state != StateEnabled {
		return e.reloadNotServing(ctx, p)
	}
	src, m, cfg, err := e.loadCandidate(ctx, p, cfg)
	if err != nil {
		p.err = err
		return ReloadResult{Plugin: name}, err
	}
	if src.hash == p.src.hash && reflect.DeepEqual(cfg, p.gen.Config) {
		return ReloadResult{Plugin: name, Unchanged: true, Generation: p.gen.Number, Hash: src.hash}, nil
	}
	g, err := e.makeGeneration(ctx, p, src, m, cfg)
	if err != nil {
		p.err = err
		return ReloadResult{Plugin: name}, err
	}
	old := p.gen
	p.src, p.manifest, p.gen, p.err = src, m, g, nil
	if err := e.swapRouter(); err != nil {
		return ReloadResult{Plugin: name}, err
	}
	e.retireLater(old)
	e.retryFailedDependents(ctx)
	e.log.Info("plugin reloaded", "plugin", name, "gen", g.Number, "hash", src.hash[:12])
	return ReloadResult{Plugin: name, Generation: g.Number, Hash: src.hash}, nil
}

// reloadNotServing gives a wanted plugin that is not serving (failed, or
// waiting for a dependency) a fresh look at its files.
func (e *Engine) reloadNotServing(ctx context.Context, p *plugin) (ReloadResult, error) {
	if !p.wanted {
		return ReloadResult{Plugin: p.name}, fmt.Errorf("%w: %s is %s", ErrNotEnabled, p.name, p.state)
	}
	*p = *e.loadPlugin(ctx, p.name)
	if p.err == nil {
		p.state = StateDiscovered
		e.enableWanted(ctx)
		if err := e.swapRouter(); err != nil {
			return ReloadResult{Plugin: p.name}, err
		}
	}
	if p.err != nil {
		return ReloadResult{Plugin: p.name}, p.err
	}
	e.retryFailedDependents(ctx)
	return ReloadResult{Plugin: p.name, Generation: p.gen.Number, Hash: p.src.hash}, nil
}

// loadCandidate compiles a plugin's current files and checks them against
// the running set: manifest, dependencies, dependents' ranges, config.
func (e *Engine) loadCandidate(ctx context.Context, p *plugin, cfg map[string]any) (*pluginSource, *Manifest, map[string]any, error) {
	src, err := loadSource(e.opts.Root, p.name)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := e.readManifest(ctx, src)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := e.checkRunningDeps(p.name, m); err != nil {
		return nil, nil, nil, err
	}
	if cfg == nil {
		cfg, err = e.configFor(src)
	} else {
		err = validateConfig(src, cfg)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return src, m, cfg, nil
}

// checkRunningDeps checks a candidate manifest against the enabled plugins:
// its dependencies must be enabled and in range, and the enabled plugins
// that depend on it must accept its version.
func (e *Engine) checkRunningDeps(name string, m *Manifest) error {
	for _, d := range m.Dependencies {
		dp, ok := e.plugins[d.Name]
		switch {
		case !ok || dp.state != StateEnabled:
			return &DependencyError{Chain: []string{name, d.Name}, Reason: fmt.Sprintf("%s is not enabled", d.Name)}
		case !d.Allows(dp.manifest.semver):
			return &DependencyError{Chain: []string{name, d.Name}, Reason: fmt.Sprintf("%s %s does not satisfy %s", d.Name, dp.manifest.Version, d.Range)}
		}
	}
	for _, dn := range e.dependents(name) {
		for _, d := range e.plugins[dn].manifest.Dependencies {
			if d.Name == name && !d.Allows(m.semver) {
				return &DependencyError{Chain: []string{dn, name}, Reason: fmt.Sprintf("%s %s would not satisfy %s", name, m.Version, d.Range)}
			}
		}
	}
	return nil
}

// retryFailedDependents gives wanted plugins that failed only because of a
// dependency another try, now that something changed.
func (e *Engine) retryFailedDependents(ctx context.Context) {
	retry := false
	for _, p := range e.plugins {
		var de *DependencyError
		if p.wanted && p.state == StateFailed && p.manifest != nil && errors.As(p.err, &de) {
			p.state, p.err, retry = StateDiscovered, nil, true
		}
	}
	if retry {
		e.enableWanted(ctx)
		if err := e.swapRouter(); err != nil {
			e.log.Error("router rebuild failed", "err", err)
		}
	}
}

// retireLater retires a replaced generation in the background; Shutdown
// waits for it.
func (e *Engine) retireLater(g *Generation) {
	e.retiring.Add(1)
	go func() {
		defer e.retiring.Done()
		ctx, cancel := context.WithTimeout(context.Background(), retireTimeout)
		defer cancel()
		if err := g.retire(ctx); err != nil {
			g.logger.Error("retiring generation", "err", err)
		}
		e.metrics.forget(g)
	}()
}
