package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/vbwd-platform/vbwd-engine/engine/records"
)

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
	return e.build.Retire(res.retire)
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
