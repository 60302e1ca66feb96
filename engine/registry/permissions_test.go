package registry

import "testing"

func TestMatchPermission(t *testing.T) {
	for _, c := range []struct {
		pattern, key string
		want         bool
	}{
		{"p.read", "p.read", true}, {"p.read", "p.write", false}, {"p.*", "p.read", true},
		{"p.*", "p.items.read", true}, {"p.*", "pp.read", false}, {"*", "anything.at.all", true},
		{"p.read.*", "p.read", false},
	} {
		if got := MatchPermission(c.pattern, c.key); got != c.want {
			t.Errorf("%s vs %s: %v", c.pattern, c.key, got)
		}
	}
}
