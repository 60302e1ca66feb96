package records

import (
	"errors"
	"fmt"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// The pure parts of the reconciler's plan (engine/reconcile.go): they read
// the records and the next serving set and change nothing but what they
// say they change.

// StartOrder lists the wanted plugins in dependency order, and why those
// not in next cannot start (their dependencies cannot be met). It marks
// disabled the records neither wanted nor in next that were discovered or
// enabled.
func (s Set) StartOrder(next map[string]*gen.Generation) (order []string, failures map[string]error) {
	nodes := make(map[string]spec.GraphNode, len(s))
	for n, p := range s {
		failed := p.State == admin.StateFailed && !IsDependencyErr(p.Err) && next[n] == nil
		nodes[n] = spec.GraphNode{Manifest: p.Manifest, Enabled: p.Wanted, Failed: failed}
		if !p.Wanted && next[n] == nil && (p.State == admin.StateDiscovered || p.State == admin.StateEnabled) {
			p.State = admin.StateDisabled
		}
	}
	order, all := spec.OrderPlugins(nodes)
	failures = map[string]error{}
	for n, err := range all {
		if next[n] == nil {
			failures[n] = err
		}
	}
	return order, failures
}

// StartClashes refuses url_prefixes that overlap: a plugin starting now
// whose prefix overlaps one already serving is refused (never the one
// serving); two starting together that overlap are both refused, each
// naming the other, so the outcome never depends on the load order.
func (s Set) StartClashes(order []string, next map[string]*gen.Generation) map[string]error {
	out := map[string]error{}
	var starting []*Plugin
	for _, n := range order {
		if p := s[n]; next[n] == nil && p.Manifest != nil && p.Manifest.URLPrefix != "" {
			starting = append(starting, p)
		}
	}
	for _, p := range starting {
		for _, o := range starting {
			if o != p && spec.PrefixesOverlap(o.Manifest.URLPrefix, p.Manifest.URLPrefix) && out[p.Name] == nil {
				out[p.Name] = prefixClash(p, o.Manifest.URLPrefix, o.Name, "also starting")
			}
		}
		if out[p.Name] == nil {
			if o := Overlapping(next, p.Name, p.Manifest.URLPrefix); o != nil {
				out[p.Name] = prefixClash(p, o.Manifest.URLPrefix, o.Plugin, "serving")
			}
		}
	}
	return out
}

func prefixClash(p *Plugin, other, otherName, how string) error {
	return &errs.PluginError{Plugin: p.Name, File: p.Src.RelDir + "/init.lua", Op: "enable",
		Err: fmt.Errorf("url_prefix %s overlaps %s of plugin %s (%s)", p.Manifest.URLPrefix, other, otherName, how)}
}

// Overlapping finds a serving generation other than name's whose url_prefix
// overlaps prefix.
func Overlapping(serving map[string]*gen.Generation, name, prefix string) *gen.Generation {
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

// DropOrphans removes from next the plugins whose dependencies left it,
// until none is left, and says why (recorded on commit).
func DropOrphans(next map[string]*gen.Generation) map[string]error {
	why := map[string]error{}
	for changed := true; changed; {
		changed = false
		for n, g := range next {
			for _, d := range g.Manifest.Dependencies {
				if next[d.Name] == nil {
					delete(next, n)
					why[n] = &spec.DependencyError{Chain: []string{n, d.Name}, Reason: d.Name + " is not enabled"}
					changed = true
					break
				}
			}
		}
	}
	return why
}

// DependentsFirst orders generations so that a plugin's dependents come
// before it (the order in which they are retired).
func DependentsFirst(gens []*gen.Generation) []*gen.Generation {
	nodes := map[string]spec.GraphNode{}
	by := map[string][]*gen.Generation{}
	for _, g := range gens {
		nodes[g.Plugin] = spec.GraphNode{Manifest: g.Manifest, Enabled: true}
		by[g.Plugin] = append(by[g.Plugin], g)
	}
	order, _ := spec.OrderPlugins(nodes)
	seen := map[string]bool{}
	var out []*gen.Generation
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

// DepsIn checks that a manifest's dependencies serve in next, in range.
func DepsIn(name string, m *spec.Manifest, next map[string]*gen.Generation) error {
	for _, d := range m.Dependencies {
		dg := next[d.Name]
		switch {
		case dg == nil:
			return &spec.DependencyError{Chain: []string{name, d.Name}, Reason: d.Name + " is not enabled"}
		case !d.Allows(dg.Manifest.Semver):
			return &spec.DependencyError{Chain: []string{name, d.Name}, Reason: fmt.Sprintf("%s %s does not satisfy %s", d.Name, dg.Manifest.Version, d.Range)}
		}
	}
	return nil
}

// DependentsAccept checks that the serving plugins depending on name accept
// the version m of it (a reload).
func DependentsAccept(name string, m *spec.Manifest, serving map[string]*gen.Generation) error {
	for dn, dg := range serving {
		for _, d := range dg.Manifest.Dependencies {
			if d.Name == name && !d.Allows(m.Semver) {
				return &spec.DependencyError{Chain: []string{dn, name}, Reason: fmt.Sprintf("%s %s would not satisfy %s", name, m.Version, d.Range)}
			}
		}
	}
	return nil
}

// IsDependencyErr: err is (or wraps) a *spec.DependencyError.
func IsDependencyErr(err error) bool {
	var de *spec.DependencyError
	return errors.As(err, &de)
}
