package spec

import (
	"fmt"
	"sort"
	"strings"
)

// graphNode is what the dependency check needs to know about one plugin.
type GraphNode struct {
	Manifest *Manifest // nil when the plugin failed to load
	Enabled  bool      // enabled in plugins.json (or asked to be)
	Failed   bool      // failed for another reason (load, earlier check)
}

// DependencyError says why a plugin cannot be enabled because of its
// dependencies, naming the whole chain from the plugin to the culprit.
type DependencyError struct {
	Chain  []string // plugin, dependency, dependency's dependency, ...
	Reason string
}

func (e *DependencyError) Error() string {
	return fmt.Sprintf("dependency chain %s: %s", strings.Join(e.Chain, " -> "), e.Reason)
}

// orderPlugins checks the dependencies of every enabled plugin and returns
// the enabled plugins whose checks pass in topological order (dependencies
// first, ties broken by name), and the reasons the others fail.
func OrderPlugins(nodes map[string]GraphNode) (order []string, failures map[string]error) {
	g := &graph{nodes: nodes, state: map[string]int{}, errs: map[string]error{}}
	names := make([]string, 0, len(nodes))
	for n, node := range nodes {
		if node.Enabled {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		g.visit(n)
	}
	return g.order, g.errs
}

const (
	unvisited = iota
	visiting
	done
)

type graph struct {
	nodes map[string]GraphNode
	state map[string]int
	errs  map[string]error
	order []string
	stack []string // plugins being visited, for cycle reporting
}

const cycleReason = "dependency cycle"

// visit checks n and appends it to the order when it and all its
// dependencies are fine. It returns n's error, whose chain starts at n.
func (g *graph) visit(n string) error {
	switch g.state[n] {
	case done:
		return g.errs[n]
	case visiting:
		cycle := append(append([]string(nil), g.stack[indexOf(g.stack, n):]...), n)
		return &DependencyError{Chain: cycle, Reason: cycleReason}
	}
	g.state[n] = visiting
	g.stack = append(g.stack, n)
	err := g.check(n)
	g.stack = g.stack[:len(g.stack)-1]
	g.state[n] = done
	if err != nil {
		g.errs[n] = err
		return err
	}
	g.order = append(g.order, n)
	return nil
}

func (g *graph) check(n string) error {
	node := g.nodes[n]
	if node.Failed || node.Manifest == nil {
		return nil // its own error is reported elsewhere; dependents see it below
	}
	deps := append([]Dependency(nil), node.Manifest.Dependencies...)
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	for _, d := range deps {
		chain := []string{n, d.Name}
		dn, ok := g.nodes[d.Name]
		switch {
		case !ok:
			return &DependencyError{Chain: chain, Reason: fmt.Sprintf("%s is not installed (no plugins/%s/init.lua)", d.Name, d.Name)}
		case dn.Manifest == nil || dn.Failed:
			return &DependencyError{Chain: chain, Reason: fmt.Sprintf("%s failed to load", d.Name)}
		case !dn.Enabled:
			return &DependencyError{Chain: chain, Reason: fmt.Sprintf("%s is not enabled", d.Name)}
		case !d.Allows(dn.Manifest.Semver):
			return &DependencyError{Chain: chain, Reason: fmt.Sprintf("%s %s does not satisfy %s", d.Name, dn.Manifest.Version, d.Range)}
		}
		err := g.visit(d.Name)
		if err == nil {
			continue
		}
		de, ok := err.(*DependencyError)
		switch {
		case !ok:
			return &DependencyError{Chain: chain, Reason: fmt.Sprintf("%s failed: %v", d.Name, err)}
		case de.Reason == cycleReason && indexOf(de.Chain, n) >= 0:
			return &DependencyError{Chain: rotateCycle(de.Chain, n), Reason: cycleReason} // n is on the cycle
		case de.Reason == cycleReason:
			return &DependencyError{Chain: chain, Reason: fmt.Sprintf("%s is on a dependency cycle %s", d.Name, strings.Join(de.Chain, " -> "))}
		default:
			return &DependencyError{Chain: append([]string{n}, de.Chain...), Reason: de.Reason}
		}
	}
	return nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// rotateCycle rewrites a cycle a -> b -> c -> a to start at n.
func rotateCycle(cycle []string, n string) []string {
	ring := cycle[:len(cycle)-1]
	i := indexOf(ring, n)
	out := append(append([]string(nil), ring[i:]...), ring[:i]...)
	return append(out, n)
}
