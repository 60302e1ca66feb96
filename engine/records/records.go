// Package records holds the engine's record of each plugin directory and
// what is read from the records alone: their status, the view status
// readers get without the engine lock, discovery on disk, the dependency
// queries, and the pure parts of the reconciler's plan (url_prefix clashes,
// orphans, retirement order). The engine changes the records under its
// lock and drives the plan; this package never imports it.
package records

import (
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// Plugin is the engine's record of one plugin directory.
type Plugin struct {
	Name     string
	Src      *luavm.Source
	Manifest *spec.Manifest
	State    admin.LifecycleState
	Err      error
	Gen      *gen.Generation
	GenSeq   int64
	Wanted   bool // enabled in plugins.json, or asked to be
	Outdated bool // the last attempt (Err) failed: Gen is older than the files
}

// Fail marks the plugin failed with err.
func (p *Plugin) Fail(err error) {
	p.State, p.Err = admin.StateFailed, err
}

// Set is the records by plugin name. The engine changes its Set under its
// lock; a Copy, published after every lifecycle change, is what status,
// /readyz and the admin list read without the engine lock, so they answer
// at once during a reload or a drain.
type Set map[string]*Plugin

// Copy copies the records (each one, not only the map).
func (s Set) Copy() Set {
	v := make(Set, len(s))
	for n, p := range s {
		c := *p
		v[n] = &c
	}
	return v
}

// WantedNames lists the plugins enabled by choice (plugins.json, or every
// plugin on a fresh install without one).
func (s Set) WantedNames() []string {
	var out []string
	for n, p := range s {
		if p.Wanted {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// DBLookup is plugindb.Migrator's lookup: a plugin's declared extensions
// and every installed plugin's name.
func (s Set) DBLookup(plugin string) (exts, names []string) {
	for n, p := range s {
		names = append(names, n)
		if n == plugin && p.Manifest != nil {
			exts = p.Manifest.Extensions
		}
	}
	return exts, names
}
