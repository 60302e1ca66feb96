package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// The engine's admin is not an application role: only roles the root
// config.json grants admin.* permissions may use /admin, per endpoint; the
// super_admin role, a bare "*" and plugin permissions grant nothing there
// (plugins cannot declare admin.* keys: theirs are <plugin>.<name>).
func TestAdmin_EngineGrantsNotAppRoles(t *testing.T) {
	const secret = "grants-secret"
	root := adminRoot(t)
	cfg := `{"vbwd": {"roles": {"vbwd-admin": ["admin.*"], "auditor": ["admin.plugins.read"],
		"plugin-ops": ["admin.plugins"], "everything": ["*"], "shop": ["base.*"]}}}`
	if err := os.WriteFile(filepath.Join(root, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, root, func(o *Options) { o.JWTSecret = secret; o.AdminToken = adminToken })
	mint := func(roles ...string) string {
		tok, err := auth.Mint(secret, "u", roles, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, c := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"app admin role", "GET", "/admin/plugins", mint("admin"), 403},
		{"app admin role reloads", "POST", "/admin/plugins/base/reload", mint("admin"), 403},
		{"app admin role exports", "GET", "/admin/data-exchange", mint("admin"), 403},
		{"super_admin", "GET", "/admin/plugins", mint("super_admin"), 403},
		{"bare * grant", "GET", "/admin/plugins", mint("everything"), 403},
		{"role granted only plugin permissions", "POST", "/admin/plugins/base/reload", mint("shop"), 403},
		{"granted admin.*", "GET", "/admin/plugins", mint("vbwd-admin"), 200},
		{"granted admin.*: reload", "POST", "/admin/plugins/base/reload", mint("admin", "vbwd-admin"), 200},
		{"granted admin.*: config", "GET", "/admin/plugins/base/config", mint("vbwd-admin"), 200},
		{"auditor reads", "GET", "/admin/plugins/base", mint("auditor"), 200},
		{"auditor reads status", "GET", "/admin/status", mint("auditor"), 200},
		{"auditor cannot reload", "POST", "/admin/plugins/base/reload", mint("auditor"), 403},
		{"auditor cannot read config", "GET", "/admin/plugins/base/config", mint("auditor"), 403},
		{"auditor cannot export", "GET", "/admin/data-exchange", mint("auditor"), 403},
		{"admin.plugins holds manage", "POST", "/admin/plugins/base/reload", mint("plugin-ops"), 200},
		{"admin.plugins is not config", "PUT", "/admin/plugins/base/config", mint("plugin-ops"), 403},
		{"admin token", "GET", "/admin/plugins", adminToken, 200},
		{"admin token reloads", "POST", "/admin/plugins/base/reload", adminToken, 200},
	} {
		r := te.doAuth(t, c.method, c.path, "", c.token)
		if r.status != c.status {
			t.Errorf("%s: %s %s = %d, want %d: %s", c.name, c.method, c.path, r.status, c.status, r.body)
		}
		if c.status == 403 && r.json["required"] == nil {
			t.Errorf("%s: 403 without the required permission: %s", c.name, r.body)
		}
	}
	// a JWT secret alone (no engine grant, no admin token) leaves the API off
	off := startEngine(t, adminRoot(t), func(o *Options) { o.JWTSecret = secret })
	if r := off.doAuth(t, "GET", "/admin/plugins", "", mint("admin")); r.status != 404 || !strings.Contains(r.body, "admin.*") {
		t.Errorf("JWT secret alone: %d %s", r.status, r.body)
	}
}
