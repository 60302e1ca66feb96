package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// One reconciler. Every lifecycle entry point — Start, Enable, Disable,
// Reload, SetConfig, Rescan, the watcher and the cluster — states what it
// wants on the plugin records (wanted, fresh sources) and calls reconcile,
// which diffs that against the serving snapshot and applies the plan:
//
//  1. stop what is not wanted any more (and what depended on it);
//  2. build what is wanted and not serving, and the asked-for reloads, in
//     dependency order, each beside what serves (a failure is that
//     plugin's alone: its record keeps the error, the rest proceeds);
//  3. build the next snapshot (router, index) and validate it;
//  4. commit: swap the snapshot, update the records;
//  5. hand back the generations that left, for the caller to retire after
//     releasing e.mu (draining never holds the engine lock).
//
// The root config.json is read once per reconcile (by the caller); a parse
// error refuses the change before anything is built.

// rootConfig reads the root config.json for one reconcile.
func (e *Engine) rootConfig() (rootConfig, error) {
	cfg, err := spec.ReadRootConfig(e.opts.Root)
	if err != nil {
		return nil, &RootConfigError{Err: err}
	}
	return cfg, nil
}

// reconcileReq is what one reconcile is asked for beyond "what is wanted".
type reconcileReq struct {
	rootCfg rootConfig
	// reload lists serving plugins to rebuild from their files; a non-nil
	// config replaces the root config.json's entry (SetConfig, not yet
	// persisted).
	reload map[string]map[string]any
}

// reconcileResult says what one reconcile did.
type reconcileResult struct {
	started, stopped, reloaded, unchanged []string
	errs                                  map[string]error // per plugin: this attempt's error
	// retire lists the generations that left the snapshot, dependents
	// first; the caller retires them without e.mu.
	retire []*Generation
}

// candidate is a new source of a serving plugin, built for a reload.
type candidate struct {
	src      *luavm.Source
	manifest *Manifest
}

// reconcile applies the wanted state; it runs under e.mu. An error means
// the next snapshot could not be built: nothing was committed and what
// served keeps serving (the generations built meanwhile are discarded).
func (e *Engine) reconcile(ctx context.Context, req reconcileReq) (*reconcileResult, error) {
	res := &reconcileResult{errs: map[string]error{}}
	cur := e.snap.Load().gens
	next := make(map[string]*Generation, len(cur))
	for n, g := range cur {
		if p := e.plugins[n]; p != nil && p.wanted {
			next[n] = g
		}
	}
	orphans := dropOrphans(next)
	built := map[string]*Generation{}
	cands := map[string]candidate{}
	order := e.startOrder(next, res)
	clash := startClashes(e.plugins, order, next)
	for _, n := range order {
		p := e.plugins[n]
		if next[n] != nil {
			if cfg, ok := req.reload[n]; ok {
				e.rebuild(ctx, p, cfg, req.rootCfg, next, built, cands, res)
			}
			continue
		}
		if p.state == StateFailed && !isDependencyErr(p.err) {
			continue // its own error stands until asked again (enable, reload)
		}
		err := clash[n]
		if err == nil {
			err = e.start(ctx, p, req.rootCfg, next, built)
		}
		if err != nil {
			e.attemptFailed(p, err, res)
			continue
		}
		res.started = append(res.started, n)
	}
	snap, err := e.buildSnapshot(next, req.rootCfg)
	if err != nil {
		for _, g := range built {
			e.discard(g)
		}
		return res, err
	}
	for n, err := range orphans {
		e.attemptFailed(e.plugins[n], err, res)
	}
	e.commit(snap, cur, built, cands, res)
	return res, nil
}

// startOrder lists the wanted plugins in dependency order and fails, on
// their records, those whose dependencies cannot be met.
func (e *Engine) startOrder(next map[string]*Generation, res *reconcileResult) []string {
	nodes := make(map[string]spec.GraphNode, len(e.plugins))
	for n, p := range e.plugins {
		failed := p.state == StateFailed && !isDependencyErr(p.err) && next[n] == nil
		nodes[n] = spec.GraphNode{Manifest: p.manifest, Enabled: p.wanted, Failed: failed}
		if !p.wanted && next[n] == nil && (p.state == StateDiscovered || p.state == StateEnabled) {
			p.state = StateDisabled
		}
	}
	order, failures := spec.OrderPlugins(nodes)
	for n, err := range failures {
		if next[n] == nil {
			e.attemptFailed(e.plugins[n], err, res)
		}
	}
	return order
}

// startClashes refuses url_prefixes that overlap: a plugin starting now
// whose prefix overlaps one already serving is refused (never the one
// serving); two starting together that overlap are both refused, each
// naming the other, so the outcome never depends on the load order.
func startClashes(plugins map[string]*plugin, order []string, next map[string]*Generation) map[string]error {
	out := map[string]error{}
	var starting []*plugin
	for _, n := range order {
		if p := plugins[n]; next[n] == nil && p.manifest != nil && p.manifest.URLPrefix != "" {
			starting = append(starting, p)
		}
	}
	for _, p := range starting {
		for _, o := range starting {
			if o != p && spec.PrefixesOverlap(o.manifest.URLPrefix, p.manifest.URLPrefix) && out[p.name] == nil {
				out[p.name] = prefixClash(p, o.manifest.URLPrefix, o.name, "also starting")
			}
		}
		if out[p.name] == nil {
			if o := overlapping(next, p.name, p.manifest.URLPrefix); o != nil {
				out[p.name] = prefixClash(p, o.Manifest.URLPrefix, o.Plugin, "serving")
			}
		}
	}
	return out
}

func prefixClash(p *plugin, other, otherName, how string) error {
	return &PluginError{Plugin: p.name, File: p.src.RelDir + "/init.lua", Op: "enable",
		Err: fmt.Errorf("url_prefix %s overlaps %s of plugin %s (%s)", p.manifest.URLPrefix, other, otherName, how)}
}

// overlapping finds a serving generation other than name's whose url_prefix
// overlaps prefix.
func overlapping(serving map[string]*Generation, name, prefix string) *Generation {
	if prefix == "" {
		return nil
	}
	for n, g := range serving {
		if n != name && g.Manifest.URLPrefix != "" && spec.PrefixesOverlap(g.Manifest.URLPrefix, prefix) {
			return g
		}
	}
	return nil
}

// dropOrphans removes from next the plugins whose dependencies left it,
// until none is left, and says why (recorded on commit).
func dropOrphans(next map[string]*Generation) map[string]error {
	why := map[string]error{}
	for changed := true; changed; {
		changed = false
		for n, g := range next {
			for _, d := range g.Manifest.Dependencies {
				if next[d.Name] == nil {
					delete(next, n)
					why[n] = &DependencyError{Chain: []string{n, d.Name}, Reason: d.Name + " is not enabled"}
					changed = true
					break
				}
			}
		}
	}
	return why
}

// start builds the first serving generation of a wanted plugin into next.
func (e *Engine) start(ctx context.Context, p *plugin, rootCfg rootConfig, next, built map[string]*Generation) error {
	if err := depsIn(p.name, p.manifest, next); err != nil {
		return err
	}
	cfg, err := spec.PluginConfig(p.src, rootCfg[p.name])
	if err != nil {
		return err
	}
	g, err := e.makeGeneration(ctx, p, p.src, p.manifest, cfg, next)
	if err != nil {
		return err
	}
	next[p.name], built[p.name] = g, g
	e.log.Info("plugin initialized", "plugin", p.name, "version", p.manifest.Version, "gen", g.Number, "routes", len(g.RouteList))
	return nil
}

// rebuild reloads a serving plugin from its files beside the serving
// generation; on failure the serving one stays and the record keeps the
// attempt's error (the generation is then older than the files).
func (e *Engine) rebuild(ctx context.Context, p *plugin, cfg map[string]any, rootCfg rootConfig,
	next, built map[string]*Generation, cands map[string]candidate, res *reconcileResult) {
	old := next[p.name]
	src, m, cfg, err := e.loadCandidate(ctx, p, cfg, rootCfg, next)
	if err == nil && src.Hash == p.src.Hash && reflect.DeepEqual(cfg, old.Config) {
		p.err, p.outdated = nil, false
		res.unchanged = append(res.unchanged, p.name)
		return
	}
	var g *Generation
	if err == nil {
		g, err = e.makeGeneration(ctx, p, src, m, cfg, next)
	}
	if err != nil {
		p.err, p.outdated = err, true
		res.errs[p.name] = err
		return
	}
	next[p.name], built[p.name] = g, g
	cands[p.name] = candidate{src: src, manifest: m}
	res.reloaded = append(res.reloaded, p.name)
}

func (e *Engine) attemptFailed(p *plugin, err error, res *reconcileResult) {
	p.fail(err)
	res.errs[p.name] = err
	e.log.Error("plugin not enabled", "plugin", p.name, "err", err)
}

// commit swaps in the validated snapshot and brings the records in line.
func (e *Engine) commit(snap *snapshot, cur, built map[string]*Generation, cands map[string]candidate, res *reconcileResult) {
	e.snap.Store(snap)
	var fresh []*Generation
	for _, g := range built {
		fresh = append(fresh, g)
	}
	e.bindServices(fresh)
	for n, g := range snap.gens {
		p := e.plugins[n]
		p.gen, p.state = g, StateEnabled
		if c, ok := cands[n]; ok {
			p.src, p.manifest = c.src, c.manifest
		}
		if built[n] != nil {
			p.err, p.outdated = nil, false
		}
	}
	var left []*Generation
	for n, g := range cur {
		if snap.gens[n] == g {
			continue
		}
		left = append(left, g)
		if snap.gens[n] == nil {
			res.stopped = append(res.stopped, n)
			if p := e.plugins[n]; p != nil {
				p.gen = nil
				if p.state == StateEnabled {
					p.state = StateDisabled
				}
			}
		}
	}
	res.retire = dependentsFirst(left)
	for _, l := range [][]string{res.started, res.stopped, res.reloaded, res.unchanged} {
		sort.Strings(l)
	}
}

// discard closes a generation that was built but never served.
func (e *Engine) discard(g *Generation) {
	if err := g.Retire(e.opts.DrainTimeout); err != nil {
		g.Logger.Error("closing an unused generation", "err", err)
	}
	e.metrics.Forget(g.Plugin, g.Number)
	e.poolRetired(g.Plugin)
}

// dependentsFirst orders generations so that a plugin's dependents come
// before it (the order in which they are retired).
func dependentsFirst(gens []*Generation) []*Generation {
	nodes := map[string]spec.GraphNode{}
	by := map[string][]*Generation{}
	for _, g := range gens {
		nodes[g.Plugin] = spec.GraphNode{Manifest: g.Manifest, Enabled: true}
		by[g.Plugin] = append(by[g.Plugin], g)
	}
	order, _ := spec.OrderPlugins(nodes)
	seen := map[string]bool{}
	var out []*Generation
	for i := len(order) - 1; i >= 0; i-- {
		out = append(out, by[order[i]]...)
		seen[order[i]] = true
	}
	for _, g := range gens { // anything the order left out (a cycle among leavers)
		if !seen[g.Plugin] {
			out = append(out, g)
		}
	}
	return out
}

// depsIn checks that a manifest's dependencies serve in next, in range.
func depsIn(name string, m *Manifest, next map[string]*Generation) error {
	for _, d := range m.Dependencies {
		dg := next[d.Name]
		switch {
		case dg == nil:
			return &DependencyError{Chain: []string{name, d.Name}, Reason: d.Name + " is not enabled"}
		case !d.Allows(dg.Manifest.Semver):
			return &DependencyError{Chain: []string{name, d.Name}, Reason: fmt.Sprintf("%s %s does not satisfy %s", d.Name, dg.Manifest.Version, d.Range)}
		}
	}
	return nil
}

func isDependencyErr(err error) bool {
	var de *DependencyError
	return errors.As(err, &de)
}
