package records

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// chain: b and d depend on a, c on b; every record enabled and wanted.
func chain(t *testing.T) Set {
	t.Helper()
	s := Set{}
	for _, p := range []struct {
		name, prefix string
		deps         []string
	}{
		{"a", "/a", nil}, {"b", "/b", []string{"a"}}, {"c", "/c", []string{"b"}}, {"d", "/a/d", []string{"a"}},
	} {
		m := &spec.Manifest{Name: p.name, URLPrefix: p.prefix}
		for _, d := range p.deps {
			dep, err := spec.ParseDependency(d)
			if err != nil {
				t.Fatal(err)
			}
			m.Dependencies = append(m.Dependencies, dep)
		}
		s[p.name] = &Plugin{Name: p.name, Manifest: m, State: admin.StateEnabled, Wanted: true,
			Src: &luavm.Source{Name: p.name, RelDir: "plugins/" + p.name}}
	}
	return s
}

func TestSet_DependencyQueries(t *testing.T) {
	s := chain(t)
	if got := s.Dependents("a"); !reflect.DeepEqual(got, []string{"c", "b", "d"}) {
		t.Errorf("Dependents(a) = %v, want dependents of dependents first: [c b d]", got)
	}
	if got := s.Requires("c"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Requires(c) = %v", got)
	}
	s["b"].Wanted = false
	if got := s.WantedDependents("a"); !reflect.DeepEqual(got, []string{"d"}) {
		t.Errorf("WantedDependents(a) with b unwanted = %v, want [d]", got)
	}
	if got := s.WantedNames(); !reflect.DeepEqual(got, []string{"a", "c", "d"}) {
		t.Errorf("WantedNames = %v", got)
	}
}

func TestPlan_OrphansClashesAndRetireOrder(t *testing.T) {
	s := chain(t)
	gens := map[string]*gen.Generation{}
	for n, p := range s {
		gens[n] = &gen.Generation{Plugin: n, Manifest: p.Manifest}
	}
	// a leaves: everything depending on it, directly or not, leaves too
	next := map[string]*gen.Generation{"b": gens["b"], "c": gens["c"], "d": gens["d"]}
	why := DropOrphans(next)
	if len(next) != 0 || len(why) != 3 || !IsDependencyErr(why["c"]) {
		t.Errorf("DropOrphans left %v, why %v", next, why)
	}
	// a serves; d (/a/d) starting beside it is refused, naming a
	clash := s.StartClashes([]string{"a", "d"}, map[string]*gen.Generation{"a": gens["a"]})
	if clash["d"] == nil || clash["a"] != nil {
		t.Fatalf("StartClashes = %v, want d refused", clash)
	}
	if want := "url_prefix /a/d overlaps /a of plugin a (serving)"; !strings.Contains(clash["d"].Error(), want) {
		t.Errorf("clash error %q lacks %q", clash["d"], want)
	}
	var order []string
	for _, g := range DependentsFirst([]*gen.Generation{gens["a"], gens["b"], gens["c"]}) {
		order = append(order, g.Plugin)
	}
	if !reflect.DeepEqual(order, []string{"c", "b", "a"}) {
		t.Errorf("DependentsFirst = %v, want [c b a]", order)
	}
	if err := DepsIn("c", s["c"].Manifest, map[string]*gen.Generation{}); !IsDependencyErr(err) {
		t.Errorf("DepsIn without b = %v, want a dependency error", err)
	}
	if IsDependencyErr(errors.New("other")) {
		t.Error("IsDependencyErr(other) = true")
	}
}
