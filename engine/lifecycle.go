package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// LifecycleState is where a plugin is in its lifecycle.
type LifecycleState string

// The lifecycle: discovered → initialized → enabled → disabled, or failed
// (with the error kept) from any step.
const (
	StateDiscovered  LifecycleState = "discovered"  // found and manifest read, not enabled
	StateInitialized LifecycleState = "initialized" // generation built, not yet mounted
	StateEnabled     LifecycleState = "enabled"     // serving
	StateDisabled    LifecycleState = "disabled"    // disabled at runtime or in plugins.json
	StateFailed      LifecycleState = "failed"      // see the kept error
)

// enableWanted builds generations for every wanted plugin that is not
// enabled yet, in dependency order. Failures are recorded on the plugins.
func (e *Engine) enableWanted(ctx context.Context) {
	nodes := make(map[string]graphNode, len(e.plugins))
	for n, p := range e.plugins {
		nodes[n] = graphNode{manifest: p.manifest, enabled: p.wanted || p.state == StateEnabled, failed: p.state == StateFailed}
		if !p.wanted && p.state == StateDiscovered {
			p.state = StateDisabled
		}
	}
	order, failures := orderPlugins(nodes)
	for n, err := range failures {
		p := e.plugins[n]
		if p.state != StateEnabled {
			p.fail(err)
			e.log.Error("plugin not enabled", "plugin", n, "err", err)
		}
	}
	for _, n := range order {
		p := e.plugins[n]
		if p.state == StateEnabled || p.state == StateFailed {
			continue
		}
		if err := e.checkDepsRunning(p); err != nil {
			p.fail(err)
			e.log.Error("plugin not enabled", "plugin", n, "err", err)
			continue
		}
		if err := e.buildGeneration(ctx, p); err != nil {
			p.fail(err)
			e.log.Error("plugin failed", "plugin", n, "err", err)
			continue
		}
		e.log.Info("plugin initialized", "plugin", n, "version", p.manifest.Version, "gen", p.gen.Number,
			"routes", len(p.gen.routes))
	}
}

// checkDepsRunning fails a plugin whose dependency failed while building.
func (e *Engine) checkDepsRunning(p *plugin) error {
	for _, d := range p.manifest.Dependencies {
		dp := e.plugins[d.Name]
		if dp.state != StateEnabled && dp.state != StateInitialized {
			return &DependencyError{Chain: []string{p.name, d.Name}, Reason: fmt.Sprintf("%s is %s: %v", d.Name, dp.state, dp.err)}
		}
	}
	return nil
}

// buildGeneration builds the next generation of p from its current source
// and marks it initialized.
func (e *Engine) buildGeneration(ctx context.Context, p *plugin) error {
	cfg, err := e.configFor(p.src)
	if err != nil {
		return err
	}
	g, err := e.makeGeneration(ctx, p, p.src, p.manifest, cfg)
	if err != nil {
		return err
	}
	p.gen, p.state, p.err = g, StateInitialized, nil
	return nil
}

// configFor merges and validates a plugin's config from the files on disk.
func (e *Engine) configFor(src *pluginSource) (map[string]any, error) {
	rootCfg, err := readRootConfig(e.opts.Root)
	if err != nil {
		return nil, err
	}
	return pluginConfig(src, rootCfg[src.name])
}

// makeGeneration checks the url_prefix, applies pending migrations and
// builds (pre-warms) a new generation of p from src, without touching p's
// current generation.
func (e *Engine) makeGeneration(ctx context.Context, p *plugin, src *pluginSource, m *Manifest, cfg map[string]any) (*Generation, error) {
	if err := e.checkPrefixFree(p.name, src, m); err != nil {
		return nil, err
	}
	if err := e.preparePluginDB(ctx, p.name, m); err != nil {
		return nil, err
	}
	if err := e.migrate(ctx, p.name, src); err != nil {
		return nil, err
	}
	p.genSeq++
	env := e.newEnv(src, p.genSeq)
	g := &Generation{Plugin: p.name, Number: p.genSeq, Manifest: m, Config: cfg,
		src: src, env: env, opts: &e.opts, logger: env.logger}
	if err := newGeneration(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// migrate applies p's pending migrations (its dependencies' ran before, in
// dependency order).
func (e *Engine) migrate(ctx context.Context, name string, src *pluginSource) error {
	if !hasMigrations(e.opts.Root, name) {
		return nil
	}
	if e.migr == nil {
		return &PluginError{Plugin: name, File: src.relDir + "/migrations", Op: "migrate",
			Err: errors.New("the plugin has migrations but the engine has no database")}
	}
	_, err := e.migr.Up(ctx, name)
	return err
}

// checkPrefixFree refuses a url_prefix overlapping another enabled plugin's.
func (e *Engine) checkPrefixFree(name string, src *pluginSource, m *Manifest) error {
	if m.URLPrefix == "" {
		return nil
	}
	for _, o := range e.plugins {
		if o.name == name || o.gen == nil || o.manifest.URLPrefix == "" {
			continue
		}
		if prefixesOverlap(o.manifest.URLPrefix, m.URLPrefix) {
			return &PluginError{Plugin: name, File: src.relDir + "/init.lua", Op: "enable",
				Err: fmt.Errorf("url_prefix %s overlaps %s of plugin %s", m.URLPrefix, o.manifest.URLPrefix, o.name)}
		}
	}
	return nil
}

// Enable enables a discovered or disabled plugin whose dependencies are
// enabled. Its error, when it fails, is also kept on the plugin.
func (e *Engine) Enable(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.enable(ctx, name)
}

func (e *Engine) enable(ctx context.Context, name string) error {
	if e.stopped {
		return ErrEngineStopped
	}
	p, ok := e.plugins[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if p.state == StateEnabled {
		return fmt.Errorf("%w: %s", ErrAlreadyEnabled, name)
	}
	if p.src == nil || p.manifest == nil {
		// a plugin that failed to load gets a fresh look at its files
		*p = *e.loadPlugin(ctx, name)
		if p.err != nil {
			return p.err
		}
	}
	p.wanted, p.state, p.err = true, StateDiscovered, nil
	e.enableWanted(ctx)
	if err := e.swapRouter(); err != nil {
		return err
	}
	if p.err == nil {
		e.retryFailedDependents(ctx)
	}
	return p.err
}

// Disable disables an enabled plugin: its routes disappear atomically, its
// in-flight calls drain, on_disable runs once, its pool closes. Enabled
// dependents make it fail with ErrHasDependents unless cascade is set, in
// which case they are disabled first.
func (e *Engine) Disable(ctx context.Context, name string, cascade bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.disable(ctx, name, cascade)
}

func (e *Engine) disable(ctx context.Context, name string, cascade bool) error {
	if e.stopped {
		return ErrEngineStopped
	}
	p, ok := e.plugins[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	if p.state != StateEnabled {
		return fmt.Errorf("%w: %s is %s", ErrNotEnabled, name, p.state)
	}
	deps := e.dependents(name)
	if len(deps) > 0 && !cascade {
		return &DependentsError{Plugin: name, Dependents: deps}
	}
	victims := append(deps, name)
	var gens []*Generation
	for _, n := range victims {
		v := e.plugins[n]
		gens = append(gens, v.gen)
		v.gen, v.state, v.wanted = nil, StateDisabled, false
	}
	if err := e.swapRouter(); err != nil {
		return err
	}
	var errs []error
	for _, g := range gens {
		if err := g.retire(ctx); err != nil {
			errs = append(errs, fmt.Errorf("plugin %s: %w", g.Plugin, err))
		}
	}
	return errors.Join(errs...)
}

// dependents lists the enabled plugins that depend on name, directly or
// not, dependents of dependents first.
func (e *Engine) dependents(name string) []string {
	return e.dependentsWhere(name, func(p *plugin) bool { return p.state == StateEnabled })
}

// dependentsWhere lists the plugins matching keep that depend on name,
// directly or not, dependents of dependents first.
func (e *Engine) dependentsWhere(name string, keep func(*plugin) bool) []string {
	var out []string
	seen := map[string]bool{name: true}
	var walk func(n string)
	walk = func(n string) {
		var direct []string
		for _, p := range e.plugins {
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
	nodes := map[string]graphNode{}
	for n, p := range e.plugins {
		if p.gen != nil {
			nodes[n] = graphNode{manifest: p.manifest, enabled: true}
		}
	}
	order, _ := orderPlugins(nodes)
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// PluginStatus is what the engine tells about one plugin.
type PluginStatus struct {
	Name         string         `json:"name"`
	Version      string         `json:"version,omitempty"`
	Description  string         `json:"description,omitempty"`
	State        LifecycleState `json:"state"`
	Error        string         `json:"error,omitempty"`
	ErrorFile    string         `json:"error_file,omitempty"`
	ErrorLine    int            `json:"error_line,omitempty"`
	Dependencies []string       `json:"dependencies"`
	Dependents   []string       `json:"dependents"`
	URLPrefix    string         `json:"url_prefix,omitempty"`
	Generation   int64          `json:"generation,omitempty"`
	Hash         string         `json:"hash,omitempty"`
	Routes       []string       `json:"routes,omitempty"`
	Permissions  []string       `json:"permissions,omitempty"`
	Events       []string       `json:"events,omitempty"`   // events it handles
	Services     []string       `json:"services,omitempty"` // services it provides
	Exchangers   []string       `json:"exchangers,omitempty"`
	Jobs         []string       `json:"jobs,omitempty"` // scheduled with ctx:every
	Pool         *PoolStats     `json:"pool,omitempty"`
	LoadedAt     time.Time      `json:"loaded_at,omitzero"`
}

// Plugins returns the status of every discovered plugin, by name.
func (e *Engine) Plugins() []PluginStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]PluginStatus, 0, len(e.plugins))
	for _, p := range e.plugins {
		out = append(out, e.statusOf(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Plugin returns the status of one plugin.
func (e *Engine) Plugin(name string) (PluginStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.plugins[name]
	if !ok {
		return PluginStatus{}, false
	}
	return e.statusOf(p), true
}

func (e *Engine) statusOf(p *plugin) PluginStatus {
	st := PluginStatus{Name: p.name, State: p.state, Dependencies: []string{}, Dependents: e.dependents(p.name)}
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
		st.Hash = p.src.hash
	}
	if p.err != nil {
		st.Error = p.err.Error()
		var pe *PluginError
		if errors.As(p.err, &pe) {
			st.ErrorFile, st.ErrorLine = pe.File, pe.Line
		}
	}
	if g := p.gen; g != nil {
		st.Generation, st.Routes, st.LoadedAt = g.Number, g.Routes(), g.LoadedAt
		ps := g.PoolStats()
		st.Pool = &ps
		for _, r := range g.regs {
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
