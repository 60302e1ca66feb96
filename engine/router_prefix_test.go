package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// A path of many slashes is looked up in the url_prefix index only as far
// as the longest prefix reaches. Before, every slash cost a map lookup
// hashing the whole path before it: quadratic, so one unauthenticated
// request with a 1 MiB path of slashes held a core for about 17 s (found by
// review; with more than 8 prefixes Go's small-map shortcut no longer hid it).
func TestGenFor_LongPathIsNotQuadratic(t *testing.T) {
	var gens []*Generation
	for i := range 20 {
		gens = append(gens, &gen.Generation{Manifest: &spec.Manifest{URLPrefix: fmt.Sprintf("/api/p%02d", i)}, Mux: chi.NewRouter()})
	}
	s := &snapshot{}
	s.prefixes, s.maxPrefix = prefixIndex(gens)
	if g, rest := s.genFor("/api/p07/x/y"); g != gens[7] || rest != "/x/y" {
		t.Fatalf("genFor: %v %q", g, rest)
	}
	if g, _ := s.genFor("/api/p07x"); g != nil {
		t.Fatalf("a prefix matched part of a segment: %v", g.Manifest.URLPrefix)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if g, _ := s.genFor(strings.Repeat("/", 1<<20)); g != nil {
			t.Errorf("slashes matched %s", g.Manifest.URLPrefix)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // the bounded lookup takes microseconds
		t.Fatal("looking up a 1 MiB path of slashes did not end within 10s")
	}
}
