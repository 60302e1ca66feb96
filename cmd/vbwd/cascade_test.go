package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBusinessCascade: disabling subscription through the admin API is
// refused while tarot and meinchat depend on it; with cascade all three go
// and their routes answer 404; enabling them again restores the routes.
func TestBusinessCascade(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "cascade-admin")
	root := copyHello(t, map[string]string{"plugins.json": `{"plugins": {"subscription": {"enabled": true},
		"tarot": {"enabled": true}, "meinchat": {"enabled": true}}}`})
	for _, p := range []string{"subscription", "tarot", "meinchat"} {
		copyPlugin(t, p, root)
	}
	base, stop := serveUntil(t, root)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	admin := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, nil)
		req.Header.Set("Authorization", "Bearer cascade-admin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	routes := []string{"/api/v1/subscription/plans", "/api/v1/tarot/daily", "/api/v1/meinchat/rooms"}
	if code, body := admin("/admin/plugins/subscription/disable"); code != 409 ||
		!strings.Contains(body, `"dependents":["meinchat","tarot"]`) {
		t.Fatalf("disable with dependents: %d %s", code, body)
	}
	if code, body := admin("/admin/plugins/subscription/disable?cascade=true"); code != 200 {
		t.Fatalf("cascade: %d %s", code, body)
	}
	for _, p := range routes {
		if got := status(p); got != 404 {
			t.Errorf("%s after the cascade: %d, want 404", p, got)
		}
	}
	for _, p := range []string{"subscription", "tarot", "meinchat"} {
		if code, body := admin("/admin/plugins/" + p + "/enable"); code != 200 {
			t.Fatalf("enable %s: %d %s", p, code, body)
		}
	}
	for p, want := range map[string]int{routes[0]: 200, routes[1]: 401, routes[2]: 401} {
		if got := status(p); got != want {
			t.Errorf("%s after enabling again: %d, want %d", p, got, want)
		}
	}
}
