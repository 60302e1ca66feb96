package engine

import (
	"context"
	"time"

	"encoding/json"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const adminToken = "s3cret-admin"

func (te *testEngine) admin(t testing.TB, method, path, body string) result {
	t.Helper()
	return te.doAuth(t, method, path, body, adminToken)
}

func (te *testEngine) doAuth(t testing.TB, method, path, body, token string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, te.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return te.doReq(t, req)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func adminRoot(t *testing.T) string {
	return writeRoot(t, files{
		"plugins.json": `{"plugins": {"base": {"enabled": true, "version": "1.0.0", "source": "local"},
			"user": {"enabled": true}, "extra": {"enabled": false}}}`,
		"plugins/base/init.lua": pluginSrc("base", "", `
local config
function P.initialize(c) config = c end
function P.routes(r) r:get("/", function() return 200, { greeting = config.greeting } end) end`),
		"plugins/base/config.json":       `{"greeting": "hi", "debug_mode": false}`,
		"plugins/base/admin-config.json": `{"type": "object", "properties": {"greeting": {"type": "string", "minLength": 2}, "debug_mode": {"type": "boolean"}}, "additionalProperties": false}`,
		"plugins/user/init.lua":          pluginSrc("user", `, dependencies = {"base"}`, `function P.routes(r) r:get("/", function() return 200, {} end) end`),
		"plugins/extra/init.lua":         pluginSrc("extra", "", `function P.routes(r) r:get("/", function() return 200, { extra = true } end) end`),
	})
}

func TestAdmin_Auth(t *testing.T) {
	te := startEngine(t, adminRoot(t), func(o *Options) { o.AdminToken = adminToken })
	if r := te.doAuth(t, "GET", "/admin/plugins", "", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if r := te.doAuth(t, "GET", "/admin/plugins", "", "wrong"); r.status != 401 {
		t.Errorf("wrong token: %d", r.status)
	}
	if r := te.admin(t, "GET", "/admin/plugins", ""); r.status != 200 || len(r.json["plugins"].([]any)) != 3 {
		t.Errorf("good token: %d %s", r.status, r.body)
	}
	secret := "jwt-secret"
	jroot := adminRoot(t)
	if err := os.WriteFile(filepath.Join(jroot, "config.json"), []byte(`{"vbwd": {"roles": {"ops": ["admin.plugins"]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	jt := startEngine(t, jroot, func(o *Options) { o.JWTSecret = secret })
	admin, _ := auth.Mint(secret, "ops-1", []string{"ops"}, time.Hour, time.Now())
	user, _ := auth.Mint(secret, "u-1", []string{"subscriber"}, time.Hour, time.Now())
	expired, _ := auth.Mint(secret, "ops-1", []string{"admin"}, time.Hour, time.Now().Add(-3*time.Hour))
	for _, c := range []struct {
		token  string
		status int
	}{{admin, 200}, {user, 403}, {expired, 401}, {"garbage", 401}} {
		if r := jt.doAuth(t, "GET", "/admin/plugins", "", c.token); r.status != c.status {
			t.Errorf("JWT: %d, want %d: %s", r.status, c.status, r.body)
		}
	}
	off := startEngine(t, adminRoot(t), nil)
	if r := off.admin(t, "GET", "/admin/plugins", ""); r.status != 404 || !strings.Contains(r.body, "VBWD_ADMIN_TOKEN") {
		t.Errorf("admin off: %d %s", r.status, r.body)
	}
	if !strings.Contains(off.logs.String(), "admin API is off") {
		t.Error("no startup line saying the admin API is off")
	}
}

func TestAdmin_GetPlugin(t *testing.T) {
	te := startEngine(t, adminRoot(t), func(o *Options) { o.AdminToken = adminToken })
	r := te.admin(t, "GET", "/admin/plugins/base", "")
	if r.status != 200 || r.json["state"] != "enabled" || r.json["generation"] != float64(1) ||
		len(r.json["hash"].(string)) != 64 || r.json["loaded_at"] == nil || r.json["pool"] == nil {
		t.Fatalf("base: %d %s", r.status, r.body)
	}
	if deps := r.json["dependents"].([]any); len(deps) != 1 || deps[0] != "user" {
		t.Errorf("dependents: %v", deps)
	}
	if routes := r.json["routes"].([]any); len(routes) != 1 || routes[0] != "GET /api/base/" {
		t.Errorf("routes: %v", routes)
	}
	if r := te.admin(t, "GET", "/admin/plugins/nope", ""); r.status != 404 {
		t.Errorf("unknown: %d", r.status)
	}
}

func TestAdmin_EnableDisablePersisted(t *testing.T) {
	root := adminRoot(t)
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	r := te.admin(t, "POST", "/admin/plugins/base/disable", "")
	if r.status != 409 || !strings.Contains(r.body, `"dependents":["user"]`) {
		t.Fatalf("disable with a dependent: %d %s", r.status, r.body)
	}
	if r := te.admin(t, "POST", "/admin/plugins/base/disable?cascade=true", ""); r.status != 200 || r.json["state"] != "disabled" {
		t.Fatalf("cascade disable: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/user/", ""); r.status != 404 {
		t.Errorf("user still served: %d", r.status)
	}
	var pf map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, "plugins.json"))), &pf); err != nil {
		t.Fatal(err)
	}
	if pf["plugins"]["base"]["enabled"] != false || pf["plugins"]["user"]["enabled"] != false || pf["plugins"]["base"]["source"] != "local" {
		t.Errorf("plugins.json after disable: %v", pf)
	}
	if r := te.admin(t, "POST", "/admin/plugins/user/enable", ""); r.status != 422 || !strings.Contains(r.body, "base is not enabled") {
		t.Errorf("enable with a disabled dependency: %d %s", r.status, r.body)
	}
	if r := te.admin(t, "POST", "/admin/plugins/extra/enable", ""); r.status != 200 || r.json["state"] != "enabled" {
		t.Errorf("enable extra: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/extra/", ""); r.status != 200 {
		t.Errorf("extra after enable: %d", r.status)
	}
	if r := te.admin(t, "POST", "/admin/plugins/nope/enable", ""); r.status != 404 {
		t.Errorf("unknown: %d", r.status)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestAdmin_Config(t *testing.T) {
	root := adminRoot(t)
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	r := te.admin(t, "GET", "/admin/plugins/base/config", "")
	if r.status != 200 || r.json["config"].(map[string]any)["greeting"] != "hi" || r.json["schema"] == nil {
		t.Fatalf("get config: %d %s", r.status, r.body)
	}
	r = te.admin(t, "PUT", "/admin/plugins/base/config", `{"greeting": "x", "colour": "red"}`)
	if r.status != 422 || !strings.Contains(r.body, `"pointer":"/greeting"`) || !strings.Contains(r.body, "colour") {
		t.Fatalf("bad config: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(filepath.Join(root, "config.json")); !os.IsNotExist(err) {
		t.Error("a refused config was persisted")
	}
	if r := te.admin(t, "PUT", "/admin/plugins/base/config", `not json`); r.status != 400 {
		t.Errorf("bad JSON: %d", r.status)
	}
	r = te.admin(t, "PUT", "/admin/plugins/base/config", `{"greeting": "hello"}`)
	if r.status != 200 || r.json["generation"] != float64(2) {
		t.Fatalf("good config: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/base/", ""); r.json["greeting"] != "hello" {
		t.Errorf("served greeting after config change: %s", r.body)
	}
	if got := readFile(t, filepath.Join(root, "config.json")); !strings.Contains(got, `"greeting": "hello"`) {
		t.Errorf("config.json: %s", got)
	}
}

func TestAdmin_Reload(t *testing.T) {
	root := adminRoot(t)
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	if r := te.admin(t, "POST", "/admin/plugins/base/reload", ""); r.status != 200 || r.json["status"] != "unchanged" {
		t.Errorf("unchanged reload: %d %s", r.status, r.body)
	}
	initLua := filepath.Join(root, "plugins", "base", "init.lua")
	good := readFile(t, initLua)
	if err := os.WriteFile(initLua, []byte(strings.Replace(good, "greeting = config.greeting", "greeting = config.greeting, v = 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := te.admin(t, "POST", "/admin/plugins/base/reload", ""); r.status != 200 || r.json["status"] != "reloaded" || r.json["generation"] != float64(2) {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/base/", ""); r.json["v"] != float64(2) {
		t.Errorf("new generation not served: %s", r.body)
	}
	if err := os.WriteFile(initLua, []byte("local P = {\n  name = 'base',\n  version = '1.0.0'\n  broken\n}\nreturn P"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := te.admin(t, "POST", "/admin/plugins/base/reload", "")
	if r.status != 422 || r.json["file"] != "plugins/base/init.lua" || r.json["line"] != float64(4) || r.json["plugin"] != "base" {
		t.Fatalf("broken reload: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/base/", ""); r.status != 200 || r.json["v"] != float64(2) {
		t.Errorf("old generation stopped serving after a failed reload: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/user/", ""); r.status != 200 {
		t.Errorf("dependent after a failed reload: %d", r.status)
	}
	if st := te.status(t, "base"); st.State != StateEnabled || st.ErrorLine != 4 {
		t.Errorf("status after a failed reload: %s %s:%d", st.State, st.ErrorFile, st.ErrorLine)
	}
	if r := te.admin(t, "POST", "/admin/plugins/extra/reload", ""); r.status != 409 {
		t.Errorf("reload of a disabled plugin: %d %s", r.status, r.body)
	}
}

func TestAdmin_Rescan(t *testing.T) {
	root := adminRoot(t)
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "plugins", "fresh"), 0o755))
	must(os.WriteFile(filepath.Join(root, "plugins", "fresh", "init.lua"), []byte(pluginSrc("fresh", "", `function P.routes(r) r:get("/", function() return 200, {} end) end`)), 0o644))
	must(os.RemoveAll(filepath.Join(root, "plugins", "extra")))
	must(os.WriteFile(filepath.Join(root, "plugins.json"), []byte(`{"plugins": {"base": {"enabled": true}, "user": {"enabled": false}, "fresh": {"enabled": true}}}`), 0o644))
	must(os.WriteFile(filepath.Join(root, "config.json"), []byte(`{"base": {"greeting": "moin"}}`), 0o644))
	r := te.admin(t, "POST", "/admin/plugins/reload", "")
	if r.status != 200 {
		t.Fatalf("rescan: %d %s", r.status, r.body)
	}
	for k, want := range map[string]string{"added": "[fresh]", "removed": "[extra]", "disabled": "[user]", "reloaded": "[base]", "enabled": "[fresh]"} {
		if got := strings.ReplaceAll(strings.Trim(jsonStr(r.json[k]), ""), `"`, ""); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if r := te.do(t, "GET", "/api/fresh/", ""); r.status != 200 {
		t.Errorf("fresh: %d", r.status)
	}
	if r := te.do(t, "GET", "/api/base/", ""); r.json["greeting"] != "moin" {
		t.Errorf("base config after rescan: %s", r.body)
	}
	if r := te.do(t, "GET", "/api/user/", ""); r.status != 404 {
		t.Errorf("user: %d", r.status)
	}
	_ = context.Background()
}

func jsonStr(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAdmin_DisableWithoutPluginsJSON(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/a/init.lua": pluginSrc("a", "", ""),
		"plugins/b/init.lua": pluginSrc("b", "", ""),
	})
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	if r := te.admin(t, "POST", "/admin/plugins/a/disable", ""); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	var pf map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, "plugins.json"))), &pf); err != nil {
		t.Fatal(err)
	}
	if pf["plugins"]["a"]["enabled"] != false || pf["plugins"]["b"]["enabled"] != true {
		t.Errorf("plugins.json created on a fresh install must keep the others enabled: %v", pf)
	}
}
