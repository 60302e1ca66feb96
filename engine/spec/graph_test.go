package spec

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func node(t *testing.T, version string, deps ...string) GraphNode {
	t.Helper()
	m := &Manifest{Version: version, Semver: semver.MustParse(version)}
	for _, d := range deps {
		dep, err := ParseDependency(d)
		if err != nil {
			t.Fatal(err)
		}
		m.Dependencies = append(m.Dependencies, dep)
	}
	return GraphNode{Manifest: m, Enabled: true}
}

func TestOrderPlugins(t *testing.T) {
	off := func(n GraphNode) GraphNode { n.Enabled = false; return n }
	tests := []struct {
		name  string
		nodes map[string]GraphNode
		order string
		errs  map[string]string
	}{
		{"dependencies first, ties by name", map[string]GraphNode{
			"tarot": node(t, "1.0.0", "subscription@^1.0"), "meinchat": node(t, "1.0.0", "subscription"),
			"subscription": node(t, "1.2.0", "email"), "email": node(t, "26.7.1"), "hello": node(t, "1.0.0"),
		}, "email,hello,subscription,meinchat,tarot", nil},
		{"cycle names the chain", map[string]GraphNode{
			"a": node(t, "1.0.0", "b"), "b": node(t, "1.0.0", "c"), "c": node(t, "1.0.0", "a"), "d": node(t, "1.0.0", "a"), "e": node(t, "1.0.0"),
		}, "e", map[string]string{
			"a": "a -> b -> c -> a: dependency cycle", "b": "b -> c -> a -> b: dependency cycle",
			"c": "c -> a -> b -> c: dependency cycle", "d": "d -> a: a is on a dependency cycle",
		}},
		{"missing dependency through a chain", map[string]GraphNode{
			"a": node(t, "1.0.0", "b"), "b": node(t, "1.0.0", "c"),
		}, "", map[string]string{
			"a": "dependency chain a -> b -> c: c is not installed", "b": "dependency chain b -> c: c is not installed",
		}},
		{"disabled dependency", map[string]GraphNode{
			"a": node(t, "1.0.0", "b"), "b": off(node(t, "1.0.0")),
		}, "", map[string]string{"a": "a -> b: b is not enabled"}},
		{"version range not met", map[string]GraphNode{
			"a": node(t, "1.0.0", "b@^2.0"), "b": node(t, "1.5.0"), "c": node(t, "1.0.0", "b@>=1.5"),
		}, "b,c", map[string]string{"a": "a -> b: b 1.5.0 does not satisfy ^2.0"}},
		{"self dependency", map[string]GraphNode{"a": node(t, "1.0.0", "a")}, "",
			map[string]string{"a": "a -> a: dependency cycle"}},
		{"year.month versions", map[string]GraphNode{
			"a": node(t, "1.0.0", "email@>=26.7"), "email": node(t, "26.6.1"),
		}, "email", map[string]string{"a": "email 26.6.1 does not satisfy >=26.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, errs := OrderPlugins(tt.nodes)
			if got := strings.Join(order, ","); got != tt.order {
				t.Errorf("order = %s, want %s", got, tt.order)
			}
			if len(errs) != len(tt.errs) {
				t.Errorf("errors = %v, want %d", errs, len(tt.errs))
			}
			for n, want := range tt.errs {
				if errs[n] == nil || !strings.Contains(errs[n].Error(), want) {
					t.Errorf("%s: error %v, want %q", n, errs[n], want)
				}
			}
		})
	}
}
