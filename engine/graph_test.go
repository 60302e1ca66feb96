package engine

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

func node(t *testing.T, version string, deps ...string) spec.GraphNode {
	t.Helper()
	m := &Manifest{Version: version, Semver: semver.MustParse(version)}
	for _, d := range deps {
		dep, err := ParseDependency(d)
		if err != nil {
			t.Fatal(err)
		}
		m.Dependencies = append(m.Dependencies, dep)
	}
	return spec.GraphNode{Manifest: m, Enabled: true}
}

func TestOrderPlugins(t *testing.T) {
	off := func(n spec.GraphNode) spec.GraphNode { n.Enabled = false; return n }
	tests := []struct {
		name  string
		nodes map[string]spec.GraphNode
		order string
		errs  map[string]string
	}{
		{"dependencies first, ties by name", map[string]spec.GraphNode{
			"tarot": node(t, "1.0.0", "subscription@^1.0"), "meinchat": node(t, "1.0.0", "subscription"),
			"subscription": node(t, "1.2.0", "email"), "email": node(t, "26.7.1"), "hello": node(t, "1.0.0"),
		}, "email,hello,subscription,meinchat,tarot", nil},
		{"cycle names the chain", map[string]spec.GraphNode{
			"a": node(t, "1.0.0", "b"), "b": node(t, "1.0.0", "c"), "c": node(t, "1.0.0", "a"), "d": node(t, "1.0.0", "a"), "e": node(t, "1.0.0"),
		}, "e", map[string]string{
			"a": "a -> b -> c -> a: dependency cycle", "b": "b -> c -> a -> b: dependency cycle",
			"c": "c -> a -> b -> c: dependency cycle", "d": "d -> a: a is on a dependency cycle",
		}},
		{"missing dependency through a chain", map[string]spec.GraphNode{
			"a": node(t, "1.0.0", "b"), "b": node(t, "1.0.0", "c"),
		}, "", map[string]string{
			"a": "dependency chain a -> b -> c: c is not installed", "b": "dependency chain b -> c: c is not installed",
		}},
		{"disabled dependency", map[string]spec.GraphNode{
			"a": node(t, "1.0.0", "b"), "b": off(node(t, "1.0.0")),
		}, "", map[string]string{"a": "a -> b: b is not enabled"}},
		{"version range not met", map[string]spec.GraphNode{
			"a": node(t, "1.0.0", "b@^2.0"), "b": node(t, "1.5.0"), "c": node(t, "1.0.0", "b@>=1.5"),
		}, "b,c", map[string]string{"a": "a -> b: b 1.5.0 does not satisfy ^2.0"}},
		{"self dependency", map[string]spec.GraphNode{"a": node(t, "1.0.0", "a")}, "",
			map[string]string{"a": "a -> a: dependency cycle"}},
		{"year.month versions", map[string]spec.GraphNode{
			"a": node(t, "1.0.0", "email@>=26.7"), "email": node(t, "26.6.1"),
		}, "email", map[string]string{"a": "email 26.6.1 does not satisfy >=26.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, errs := spec.OrderPlugins(tt.nodes)
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

func TestEngine_DependencyFailuresDoNotStopOthers(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/base/init.lua":  pluginSrc("base", "", "function P.initialize() error('base is broken') end"),
		"plugins/child/init.lua": pluginSrc("child", `, dependencies = {"base"}`, ""),
		"plugins/loner/init.lua": pluginSrc("loner", `, dependencies = {"ghost"}`, ""),
		"plugins/ok/init.lua":    pluginSrc("ok", "", `function P.routes(r) r:get("/", function() return 200, {} end) end`),
	})
	te := startEngine(t, root, nil)
	if st := te.status(t, "child"); st.State != StateFailed || !strings.Contains(st.Error, "child -> base") {
		t.Errorf("child: %s %s", st.State, st.Error)
	}
	if st := te.status(t, "loner"); st.State != StateFailed || !strings.Contains(st.Error, "loner -> ghost: ghost is not installed") {
		t.Errorf("loner: %s %s", st.State, st.Error)
	}
	if st := te.status(t, "ok"); st.State != StateEnabled {
		t.Errorf("ok: %s %s", st.State, st.Error)
	}
}
