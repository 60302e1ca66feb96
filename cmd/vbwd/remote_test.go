package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemotePluginCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "tok-123")
	root := copyHello(t, nil)
	base := serveRemote(t, root)
	addr := strings.TrimPrefix(base, "http://")
	ctx := context.Background()
	out, err := runCLI(t, ctx, "plugin", "reload", "hello", "--addr", addr)
	if err != nil || !strings.Contains(out, `"status": "unchanged"`) {
		t.Errorf("reload: %v %s", err, out)
	}
	if out, err := runCLI(t, ctx, "plugin", "disable", "hello", "--addr", addr); err != nil || !strings.Contains(out, `"state": "disabled"`) {
		t.Errorf("disable: %v %s", err, out)
	}
	if resp, err := http.Get(base + "/api/v1/hello/world"); err != nil || resp.StatusCode != 404 {
		t.Errorf("hello after disable: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if out, err := runCLI(t, ctx, "plugin", "enable", "hello", "--addr", addr); err != nil || !strings.Contains(out, `"state": "enabled"`) {
		t.Errorf("enable: %v %s", err, out)
	}
	if out, err := runCLI(t, ctx, "plugin", "rescan", "--addr", addr); err != nil || !strings.Contains(out, `"unchanged"`) {
		t.Errorf("rescan: %v %s", err, out)
	}
	if _, err := runCLI(t, ctx, "plugin", "reload", "nope", "--addr", addr); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown plugin: %v", err)
	}
	if _, err := runCLI(t, ctx, "plugin", "reload", "hello", "--addr", addr, "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
}

// `vbwd plugin enable <dir>` on a running engine enables a plugin directory
// created after it started, without a rescan.
func TestRemoteEnableNewDirectory(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "tok-123")
	root := copyHello(t, nil)
	base := serveRemote(t, root)
	dir := filepath.Join(root, "plugins", "late")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `local P = { name = "late", version = "1.0.0", url_prefix = "/api/v1/late" }
function P.routes(r) r:get("/", function() return 200, { late = true } end) end
return P
`
	if err := os.WriteFile(filepath.Join(dir, "init.lua"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, context.Background(), "plugin", "enable", "late", "--addr", strings.TrimPrefix(base, "http://"))
	if err != nil || !strings.Contains(out, `"state": "enabled"`) {
		t.Fatalf("enable of a new directory: %v %s", err, out)
	}
	resp, err := http.Get(base + "/api/v1/late/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the new plugin answers %d", resp.StatusCode)
	}
}

// The CLI follows the engine's rule: a JWT works when config.json grants
// its role admin.* permissions (vbwd token --roles vbwd-admin), and the
// application's admin role gets 403.
func TestRemote_JWTOfAGrantedRole(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "")
	t.Setenv("VBWD_JWT_SECRET", "remote-secret")
	root := copyHello(t, map[string]string{"config.json": `{"vbwd": {"roles": {"vbwd-admin": ["admin.*"]}}}`})
	base := serveRemote(t, root)
	addr := strings.TrimPrefix(base, "http://")
	ctx := context.Background()
	token := func(roles string) string {
		out, err := runCLI(t, ctx, "token", "--sub", "ops", "--roles", roles)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	if out, err := runCLI(t, ctx, "plugin", "reload", "hello", "--addr", addr, "--token", token("vbwd-admin")); err != nil ||
		!strings.Contains(out, `"status": "unchanged"`) {
		t.Errorf("reload with a vbwd-admin JWT: %v %s", err, out)
	}
	if _, err := runCLI(t, ctx, "plugin", "reload", "hello", "--addr", addr, "--token", token("admin")); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Errorf("reload with the application's admin role: %v", err)
	}
}

// serveRemote serves root for the remote commands until the test ends.
func serveRemote(t *testing.T, root string) (base string) {
	t.Helper()
	base, stop := serveUntil(t, root)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return base
}
