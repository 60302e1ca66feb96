package web

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestRequestIDs(t *testing.T) {
	ids := NewRequestIDs()
	r := httptest.NewRequest("GET", "/", nil)
	a, b := ids.For(r), ids.For(r)
	gen := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-z]+$`)
	if len(a) != 1 || !gen.MatchString(a[0]) || a[0] == b[0] {
		t.Fatalf("generated ids %q, %q", a, b)
	}
	r.Header.Set("X-Request-Id", "from-the-proxy_1.2")
	if got := ids.For(r); got[0] != "from-the-proxy_1.2" {
		t.Fatalf("incoming id not kept: %q", got)
	}
	for _, bad := range []string{"has space", "quote\"", strings.Repeat("x", 65)} {
		r.Header.Set("X-Request-Id", bad)
		if got := ids.For(r); !gen.MatchString(got[0]) {
			t.Errorf("incoming %q kept as %q, want a generated id", bad, got)
		}
	}
}
