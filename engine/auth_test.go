package engine

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

func TestAuth_RoutePermissions(t *testing.T) {
	const secret = "route-secret"
	root := writeRoot(t, files{
		"config.json": `{"vbwd": {"roles": {"editor": ["p.*"]}}}`,
		"plugins/p/init.lua": pluginSrc("p", "", `
local permissions = require("vbwd.permissions")
function P.on_enable(ctx)
  ctx:permission("p.read", { description = "Read secrets", roles = { "subscriber" } })
  ctx:permission("p.write", { description = "Write secrets", roles = { "admin" } })
end
function P.routes(r)
  r:get("/secret", { permission = "p.read" }, function(req) return 200, { user = req.user.id } end)
  r:get("/mine", { auth = true }, function(req) return 200, { id = req.user.id } end)
  r:get("/whoami", function(req)
    if not req.user then return 200, { anonymous = true } end
    return 200, { id = req.user.id, roles = req.user.roles, can_write = permissions.check(req.user, "p.write"),
      catalogue = #permissions.list() }
  end)
end`),
	})
	te := startEngine(t, root, func(o *Options) { o.JWTSecret = secret })
	now := time.Now()
	mint := func(sub string, roles ...string) string {
		tok, err := auth.Mint(secret, sub, roles, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expired, _ := auth.Mint(secret, "u", []string{"subscriber"}, time.Hour, now.Add(-2*time.Hour))
	wrongSig, _ := auth.Mint("not-the-secret", "u", []string{"subscriber"}, time.Hour, now)
	enc := base64.RawURLEncoding.EncodeToString
	algNone := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(`{"sub":"u","roles":["subscriber"],"exp":9999999999}`)) + "."
	for _, c := range []struct {
		name, token string
		status      int
		required    bool
	}{
		{"no token", "", 401, true},
		{"alg none", algNone, 401, false},
		{"expired", expired, 401, false},
		{"wrong signature", wrongSig, 401, false},
		{"without the permission", mint("u", "visitor"), 403, true},
		{"declared role", mint("u", "subscriber"), 200, false},
		{"role granted by config.json wildcard", mint("u", "editor"), 200, false},
		{"super admin", mint("u", "super_admin"), 200, false},
	} {
		r := te.doAuth(t, "GET", "/api/p/secret", "", c.token)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		if c.status == 403 && (r.json["error"] != "Permission denied" || r.json["required"] != "p.read") {
			t.Errorf("%s: body %s", c.name, r.body)
		}
		if c.status == 401 && c.required && r.json["required"] != "p.read" {
			t.Errorf("%s: body %s", c.name, r.body)
		}
	}
	if r := te.doAuth(t, "GET", "/api/p/mine", "", ""); r.status != 401 || r.json["error"] != "authentication required" {
		t.Errorf("auth = true without a token: %d %s", r.status, r.body)
	}
	if r := te.doAuth(t, "GET", "/api/p/mine", "", mint("u9", "anyone")); r.status != 200 || r.json["id"] != "u9" {
		t.Errorf("auth = true with a token: %d %s", r.status, r.body)
	}
	if r := te.doAuth(t, "GET", "/api/p/whoami", "", ""); r.json["anonymous"] != true {
		t.Errorf("anonymous whoami: %s", r.body)
	}
	r := te.doAuth(t, "GET", "/api/p/whoami", "", mint("u7", "admin", "subscriber"))
	if r.json["id"] != "u7" || jsonStr(r.json["roles"]) != `["admin","subscriber"]` || r.json["can_write"] != true || r.json["catalogue"] != float64(2) {
		t.Errorf("whoami: %s", r.body)
	}
	if r := te.doAuth(t, "GET", "/api/p/whoami", "", "garbage"); r.status != 401 {
		t.Errorf("a bad token on a public route: %d", r.status)
	}
}
