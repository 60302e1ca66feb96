package engine

import (
	"fmt"
	"sort"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// snapshot is everything a request, an event, a DI call or a permission
// check reads about what is serving: the router, the registrations index,
// the serving generations and the root config they were built with. It is
// immutable and sits behind one atomic pointer (Engine.snap), so a reader
// sees one consistent world and a change is one pointer swap.
//
// A snapshot is built by buildSnapshot, a pure function of its inputs that
// validates everything before the engine commits anything: the commit order
// is build → swap → update the plugin records → retire what left.
type snapshot struct {
	mux       *chi.Mux
	prefixes  map[string]*Generation // generations with routes by url_prefix (router.go: dispatch)
	maxPrefix int                    // the longest of those prefixes: genFor looks no further
	index     *registryIndex
	gens      map[string]*Generation // serving, by plugin name
	rootCfg   rootConfig
}

// rootConfig is the root config.json, read once per reconcile.
type rootConfig = map[string]map[string]any

// buildSnapshot builds the router and the registrations index of the given
// serving generations. Each generation's routes were compiled into its own
// sub-router when it was built (serve.CompileRoutes), so this only mounts them at
// their url_prefixes, which are checked not to overlap; any other failure
// (a permission grant in the root config that does not parse...) is
// returned and nothing is committed.
func (e *Engine) buildSnapshot(gens map[string]*Generation, rootCfg rootConfig) (s *snapshot, err error) {
	list := make([]*Generation, 0, len(gens))
	for _, g := range gens {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Plugin < list[j].Plugin })
	for i, a := range list {
		for _, b := range list[i+1:] {
			if a.Mux != nil && b.Mux != nil && spec.PrefixesOverlap(a.Manifest.URLPrefix, b.Manifest.URLPrefix) {
				return nil, fmt.Errorf("url_prefix %s of plugin %s overlaps %s of plugin %s",
					a.Manifest.URLPrefix, a.Plugin, b.Manifest.URLPrefix, b.Plugin)
			}
		}
	}
	mux, err := e.endpoints.Router(list)
	if err != nil {
		return nil, err
	}
	ix, err := buildIndex(list, rootCfg[spec.EngineConfigKey])
	if err != nil {
		return nil, err
	}
	cp := make(map[string]*Generation, len(gens))
	for n, g := range gens {
		cp[n] = g
	}
	prefixes, maxPrefix := prefixIndex(list)
	return &snapshot{mux: mux, prefixes: prefixes, maxPrefix: maxPrefix, index: ix, gens: cp, rootCfg: rootCfg}, nil
}

// indexView reads the registrations index of the current snapshot; it keeps
// the e.index.Load() spelling of the readers (events, DI, outbox, ...).
type indexView struct{ e *Engine }

// Load returns the current snapshot's registrations index.
func (v indexView) Load() *registryIndex { return v.e.snap.Load().index }

// servingGen returns the generation of plugin name in the current snapshot.
func (e *Engine) servingGen(name string) *Generation { return e.snap.Load().gens[name] }
