package engine

import (
	"context"
	"reflect"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/records"
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
		if p := e.plugins[n]; p != nil && p.Wanted {
			next[n] = g
		}
	}
	orphans := records.DropOrphans(next)
	built := map[string]*Generation{}
	cands := map[string]candidate{}
	order, failures := e.plugins.StartOrder(next)
	for n, err := range failures {
		e.attemptFailed(e.plugins[n], err, res)
	}
	clash := e.plugins.StartClashes(order, next)
	for _, n := range order {
		p := e.plugins[n]
		if next[n] != nil {
			if cfg, ok := req.reload[n]; ok {
				e.rebuild(ctx, p, cfg, req.rootCfg, next, built, cands, res)
			}
			continue
		}
		if p.State == StateFailed && !records.IsDependencyErr(p.Err) {
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
			e.build.Discard(g)
		}
		return res, err
	}
	for n, err := range orphans {
		e.attemptFailed(e.plugins[n], err, res)
	}
	e.commit(snap, cur, built, cands, res)
	return res, nil
}

// start builds the first serving generation of a wanted plugin into next.
func (e *Engine) start(ctx context.Context, p *plugin, rootCfg rootConfig, next, built map[string]*Generation) error {
	if err := records.DepsIn(p.Name, p.Manifest, next); err != nil {
		return err
	}
	cfg, err := spec.PluginConfig(p.Src, rootCfg[p.Name])
	if err != nil {
		return err
	}
	g, err := e.build.Make(ctx, p, p.Src, p.Manifest, cfg, next)
	if err != nil {
		return err
	}
	next[p.Name], built[p.Name] = g, g
	e.log.Info("plugin initialized", "plugin", p.Name, "version", p.Manifest.Version, "gen", g.Number, "routes", len(g.RouteList))
	return nil
}

// rebuild reloads a serving plugin from its files beside the serving
// generation; on failure the serving one stays and the record keeps the
// attempt's error (the generation is then older than the files).
func (e *Engine) rebuild(ctx context.Context, p *plugin, cfg map[string]any, rootCfg rootConfig,
	next, built map[string]*Generation, cands map[string]candidate, res *reconcileResult) {
	old := next[p.Name]
	src, m, cfg, err := e.loadCandidate(ctx, p, cfg, rootCfg, next)
	if err == nil && src.Hash == p.Src.Hash && reflect.DeepEqual(cfg, old.Config) {
		p.Err, p.Outdated = nil, false
		res.unchanged = append(res.unchanged, p.Name)
		return
	}
	var g *Generation
	if err == nil {
		g, err = e.build.Make(ctx, p, src, m, cfg, next)
	}
	if err != nil {
		p.Err, p.Outdated = err, true
		res.errs[p.Name] = err
		return
	}
	next[p.Name], built[p.Name] = g, g
	cands[p.Name] = candidate{src: src, manifest: m}
	res.reloaded = append(res.reloaded, p.Name)
}

func (e *Engine) attemptFailed(p *plugin, err error, res *reconcileResult) {
	p.Fail(err)
	res.errs[p.Name] = err
	e.log.Error("plugin not enabled", "plugin", p.Name, "err", err)
}

// commit swaps in the validated snapshot and brings the records in line.
func (e *Engine) commit(snap *snapshot, cur, built map[string]*Generation, cands map[string]candidate, res *reconcileResult) {
	e.snap.Store(snap)
	var fresh []*Generation
	for _, g := range built {
		fresh = append(fresh, g)
	}
	gen.BindServices(fresh)
	for n, g := range snap.gens {
		p := e.plugins[n]
		p.Gen, p.State = g, StateEnabled
		if c, ok := cands[n]; ok {
			p.Src, p.Manifest = c.src, c.manifest
		}
		if built[n] != nil {
			p.Err, p.Outdated = nil, false
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
				p.Gen = nil
				if p.State == StateEnabled {
					p.State = StateDisabled
				}
			}
		}
	}
	res.retire = records.DependentsFirst(left)
	for _, l := range [][]string{res.started, res.stopped, res.reloaded, res.unchanged} {
		sort.Strings(l)
	}
}
