package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// makeGeneration checks the url_prefix against the serving set, applies
// pending migrations, builds (pre-warms) a new generation of p from src and
// compiles its routes into its own sub-router, without touching p's current
// generation. On error nothing of the new generation is left open.
func (e *Engine) makeGeneration(ctx context.Context, p *plugin, src *luavm.Source, m *Manifest, cfg map[string]any,
	serving map[string]*Generation) (*Generation, error) {
	if o := overlapping(serving, p.name, m.URLPrefix); o != nil {
		return nil, &PluginError{Plugin: p.name, File: src.RelDir + "/init.lua", Op: "enable",
			Err: fmt.Errorf("url_prefix %s overlaps %s of plugin %s (serving)", m.URLPrefix, o.Manifest.URLPrefix, o.Plugin)}
	}
	release := e.poolUse(p.name) // until g exists; then its retirement releases (pooldrop.go)
	defer func() { release() }()
	if err := e.preparePluginDB(ctx, p.name, m); err != nil {
		return nil, err
	}
	if err := e.migrate(ctx, p.name, src); err != nil {
		return nil, err
	}
	p.genSeq++
	env := e.newEnv(src, p.genSeq)
	g := &Generation{Plugin: p.name, Number: p.genSeq, Manifest: m, Config: cfg,
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
	if p.state == StateEnabled {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyEnabled, name)
	}
	e.refresh(ctx, p)
	if p.err != nil {
		return nil, p.err
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
	if !validPluginDir(name) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if _, err := os.Stat(filepath.Join(e.opts.Root, "plugins", name, "init.lua")); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	p := e.loadPlugin(ctx, name)
	e.plugins[name] = p
	e.log.Info("plugin discovered", "plugin", name)
	return p, nil
}

// validPluginDir refuses names that are not one directory below plugins/.
func validPluginDir(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// refresh reads a plugin's files again (a fix is picked up rather than the
// cached error repeated); a plugin that is serving keeps its source.
func (e *Engine) refresh(ctx context.Context, p *plugin) {
	if p.gen != nil {
		return
	}
	fresh := e.loadPlugin(ctx, p.name)
	fresh.wanted = p.wanted
	*p = *fresh
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
	if p.state != StateEnabled {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotEnabled, name, p.state)
	}
	deps := e.dependents(name)
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
		before[n] = e.plugins[n].wanted
		e.plugins[n].wanted = wanted
	}
	res, err := fn()
	if err != nil {
		for n, w := range before {
			e.plugins[n].wanted = w
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

// dependents lists the enabled plugins that depend on name, directly or
// not, dependents of dependents first.
func (e *Engine) dependents(name string) []string {
	return dependentsWhere(e.plugins, name, func(p *plugin) bool { return p.state == StateEnabled })
}

// dependentsWhere lists the plugins matching keep that depend on name,
// directly or not, dependents of dependents first.
func dependentsWhere(plugins map[string]*plugin, name string, keep func(*plugin) bool) []string {
	var out []string
	seen := map[string]bool{name: true}
	var walk func(n string)
	walk = func(n string) {
		var direct []string
		for _, p := range plugins {
			if p.manifest == nil || !keep(p) || seen[p.name] {
				continue
			}
			for _, d := range p.manifest.Dependencies {
				if d.Name == n {
					direct = append(direct, p.name)
					break
				}
			}
		}
		sort.Strings(direct)
		for _, d := range direct {
			if !seen[d] {
				seen[d] = true
				walk(d)
				out = append(out, d)
			}
		}
	}
	walk(name)
	return out
}

// reverseOrder lists enabled plugins with dependents before dependencies.
func (e *Engine) reverseOrder() []string {
	nodes := map[string]spec.GraphNode{}
	for n, p := range e.plugins {
		if p.gen != nil {
			nodes[n] = spec.GraphNode{Manifest: p.manifest, Enabled: true}
		}
	}
	order, _ := spec.OrderPlugins(nodes)
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// pluginView is a copy of the plugin records, published after every
// lifecycle change: status, /readyz and the admin list read it without the
// engine lock, so they answer at once during a reload or a drain.
type pluginView map[string]*plugin

// publishView copies the records for lock-free readers; call it under e.mu.
func (e *Engine) publishView() {
	v := make(pluginView, len(e.plugins))
	for n, p := range e.plugins {
		c := *p
		v[n] = &c
	}
	e.view.Store(&v)
}

func (e *Engine) records() pluginView {
	if v := e.view.Load(); v != nil {
		return *v
	}
	return nil
}

// Plugins returns the status of every discovered plugin, by name.
func (e *Engine) Plugins() []PluginStatus {
	v := e.records()
	out := make([]PluginStatus, 0, len(v))
	for _, p := range v {
		out = append(out, statusOf(v, p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Plugin returns the status of one plugin.
func (e *Engine) Plugin(name string) (PluginStatus, bool) {
	v := e.records()
	p, ok := v[name]
	if !ok {
		return PluginStatus{}, false
	}
	return statusOf(v, p), true
}

func statusOf(v pluginView, p *plugin) PluginStatus {
	deps := dependentsWhere(v, p.name, func(p *plugin) bool { return p.state == StateEnabled })
	st := PluginStatus{Name: p.name, State: p.state, Dependencies: []string{}, Dependents: deps}
	if st.Dependents == nil {
		st.Dependents = []string{}
	}
	if m := p.manifest; m != nil {
		st.Version, st.Description, st.URLPrefix = m.Version, m.Description, m.URLPrefix
		for _, d := range m.Dependencies {
			st.Dependencies = append(st.Dependencies, d.String())
		}
	}
	if p.src != nil {
		st.Hash = p.src.Hash
	}
	if p.err != nil {
		st.Error = p.err.Error()
		var pe *PluginError
		if errors.As(p.err, &pe) {
			st.ErrorFile, st.ErrorLine = pe.File, pe.Line
		}
	}
	st.Outdated = p.outdated && p.gen != nil
	if g := p.gen; g != nil {
		st.Generation, st.Routes, st.LoadedAt = g.Number, g.Routes(), g.LoadedAt
		ps := g.PoolStats()
		st.Pool = &ps
		for _, r := range g.Regs {
			switch r.Kind {
			case KindPermission:
				st.Permissions = append(st.Permissions, r.Name)
			case KindEvent:
				st.Events = append(st.Events, r.Name)
			case KindService:
				st.Services = append(st.Services, r.Name)
			case KindExchanger:
				st.Exchangers = append(st.Exchangers, r.Name)
			case KindJob:
				st.Jobs = append(st.Jobs, r.Name)
			}
		}
	}
	return st
}
