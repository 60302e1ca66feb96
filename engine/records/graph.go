package records

import (
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// The dependency queries over the records (Engine.Order, Requires,
// WantedDependents, the dependents a disable must take along, the order of
// a shutdown or a populate).

// Order lists the plugins enabled in plugins.json in dependency order, and
// why the others among them cannot be enabled.
func (s Set) Order() ([]string, map[string]error) {
	nodes := make(map[string]spec.GraphNode, len(s))
	for n, p := range s {
		nodes[n] = spec.GraphNode{Manifest: p.Manifest, Enabled: p.Wanted, Failed: p.State == admin.StateFailed}
	}
	order, failures := spec.OrderPlugins(nodes)
	var ok []string
	for _, n := range order {
		if s[n].State != admin.StateFailed {
			ok = append(ok, n)
		} else if failures[n] == nil {
			failures[n] = s[n].Err
		}
	}
	return ok, failures
}

// Requires lists a plugin and every plugin it depends on, directly or not,
// by name (from the manifests).
func (s Set) Requires(name string) []string {
	seen := map[string]bool{}
	var walk func(n string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if p := s[n]; p != nil && p.Manifest != nil {
			for _, d := range p.Manifest.Dependencies {
				walk(d.Name)
			}
		}
	}
	walk(name)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// WantedDependents lists the plugins enabled in plugins.json that depend on
// name, directly or not.
func (s Set) WantedDependents(name string) []string {
	return s.DependentsWhere(name, func(p *Plugin) bool { return p.Wanted })
}

// Dependents lists the enabled plugins that depend on name, directly or
// not, dependents of dependents first.
func (s Set) Dependents(name string) []string {
	return s.DependentsWhere(name, func(p *Plugin) bool { return p.State == admin.StateEnabled })
}

// DependentsWhere lists the plugins matching keep that depend on name,
// directly or not, dependents of dependents first.
func (s Set) DependentsWhere(name string, keep func(*Plugin) bool) []string {
	var out []string
	seen := map[string]bool{name: true}
	var walk func(n string)
	walk = func(n string) {
		var direct []string
		for _, p := range s {
			if p.Manifest == nil || !keep(p) || seen[p.Name] {
				continue
			}
			for _, d := range p.Manifest.Dependencies {
				if d.Name == n {
					direct = append(direct, p.Name)
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

// ReverseOrder lists serving plugins with dependents before dependencies.
func (s Set) ReverseOrder() []string {
	nodes := map[string]spec.GraphNode{}
	for n, p := range s {
		if p.Gen != nil {
			nodes[n] = spec.GraphNode{Manifest: p.Manifest, Enabled: true}
		}
	}
	order, _ := spec.OrderPlugins(nodes)
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// EnabledOrder lists serving plugins, dependencies first.
func (s Set) EnabledOrder() []string {
	order := s.ReverseOrder()
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}
