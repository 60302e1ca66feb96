package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/openapi/oascheck"
)

// copyShipped copies the repository's plugins/<name> into root.
func copyShipped(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, name := range names {
		src := filepath.Join("..", "plugins", name)
		err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			dst := filepath.Join(root, "plugins", name, rel)
			if info.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type oasDoc struct {
	Paths map[string]map[string]struct {
		Summary     string           `json:"summary"`
		Plugin      string           `json:"x-vbwd-plugin"`
		Security    []map[string]any `json:"security"`
		Responses   map[string]any   `json:"responses"`
		RequestBody map[string]any   `json:"requestBody"`
	} `json:"paths"`
}

// openAPI fetches /openapi.json, validates it against the OpenAPI 3.1
// schema and decodes it.
func openAPI(t *testing.T, te *testEngine) (oasDoc, string) {
	t.Helper()
	res := te.do(t, "GET", "/openapi.json", "")
	if res.status != 200 {
		t.Fatalf("/openapi.json: %d %s", res.status, res.body)
	}
	if err := oascheck.Validate([]byte(res.body)); err != nil {
		t.Fatalf("/openapi.json does not validate against OpenAPI 3.1: %v", err)
	}
	var doc oasDoc
	if err := json.Unmarshal([]byte(res.body), &doc); err != nil {
		t.Fatal(err)
	}
	return doc, res.body
}

// template is a chi route as an OpenAPI path: {id:[0-9]+} → {id}, a
// trailing * → {wildcard}.
func template(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '{':
			end := strings.IndexByte(p[i:], '}')
			name, _, _ := strings.Cut(p[i+1:i+end], ":")
			b.WriteString("{" + name + "}")
			i += end
		case p[i] == '*' && i == len(p)-1:
			b.WriteString("{wildcard}")
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

func TestOpenAPI_EveryShippedRoute(t *testing.T) {
	pool, _ := newDB(t)
	root := t.TempDir()
	shipped, err := os.ReadDir(filepath.Join("..", "plugins"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range shipped {
		if _, err := os.Stat(filepath.Join("..", "plugins", d.Name(), "init.lua")); err == nil {
			names = append(names, d.Name())
		}
	}
	copyShipped(t, root, names...)
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	doc, body := openAPI(t, te)
	total := 0
	for _, name := range names {
		st := te.status(t, name)
		if st.State != StateEnabled { // a provider (payments_stripe) may serve no route at all
			t.Fatalf("shipped plugin %s: %s with %d routes (%s)", name, st.State, len(st.Routes), st.Error)
		}
		for _, r := range st.Routes {
			method, path, _ := strings.Cut(r, " ")
			op, ok := doc.Paths[template(path)][strings.ToLower(method)]
			if !ok {
				t.Errorf("%s: %s is not in /openapi.json", name, r)
				continue
			}
			if op.Plugin != name {
				t.Errorf("%s: %s documented as %q's", name, r, op.Plugin)
			}
			total++
		}
	}
	// what requires a user says so: subscription's plan management needs a permission
	if sec, _ := json.Marshal(doc.Paths["/api/v1/subscription/plans"]["post"].Security); !strings.Contains(string(sec), "bearer") {
		t.Errorf("POST /api/v1/subscription/plans security %s", sec)
	}
	if doc.Paths["/admin/data-exchange/{key}/import"]["post"].RequestBody == nil {
		t.Errorf("the data exchange import is not documented:\n%s", body)
	}
	t.Logf("%d shipped routes documented", total)
}

func TestOpenAPI_ReloadAddsRoute(t *testing.T) {
	src := func(extra string) string {
		return pluginSrc("docs", "", `function P.routes(r)
  r:get("/items", function() return 200, {} end)
`+extra+`end`)
	}
	root := writeRoot(t, files{"plugins/docs/init.lua": src("")})
	te := startEngine(t, root, nil)
	doc, _ := openAPI(t, te)
	if doc.Paths["/api/docs/items"]["get"].Plugin != "docs" || doc.Paths["/api/docs/items/{id}"] != nil {
		t.Fatalf("before the reload: %+v", doc.Paths)
	}
	writeRoot2(t, root, "plugins/docs/init.lua", src(`  r:get("/items/{id:[0-9]+}", { auth = true, summary = "one item",
    response = { type = "object", properties = { id = { type = "integer" } }, required = { "id" } } },
    function(req) return 200, { id = tonumber(req.params.id) } end)
`))
	if _, err := te.Reload(t.Context(), "docs"); err != nil {
		t.Fatal(err)
	}
	doc, body := openAPI(t, te)
	op, ok := doc.Paths["/api/docs/items/{id}"]["get"]
	if !ok {
		t.Fatalf("the reload's new route is not documented:\n%s", body)
	}
	if op.Summary != "one item" || !strings.Contains(body, `"required": [`) {
		t.Errorf("summary %q; response %v", op.Summary, op.Responses["200"])
	}
	if sec, _ := json.Marshal(op.Security); string(sec) != `[{"bearer":[]}]` {
		t.Errorf("auth route security %s", sec)
	}
}

func writeRoot2(t *testing.T, root, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A response option that is not a JSON Schema fails the plugin at the line
// of its r:get, naming the option.
func TestRouteOptions_BadResponseSchema(t *testing.T) {
	for name, c := range map[string]struct{ opt, want string }{
		"not a table":    {`response = "object"`, "option response must be a table (a JSON Schema), got string"},
		"bad type":       {`response = { type = 12 }`, "option response is not a JSON Schema"},
		"a list":         {`response = { "x" }`, "option response must be a JSON Schema object"},
		"empty summary":  {`summary = ""`, "option summary must be a non-empty string"},
		"unknown option": {`responce = {}`, `unknown route option "responce"`},
	} {
		opt := c.opt
		t.Run(name, func(t *testing.T) {
			root := writeRoot(t, files{"plugins/bad/init.lua": pluginSrc("bad", "", "function P.routes(r)\n\n  r:get(\"/x\", { "+opt+" }, function() return 200, {} end)\nend")})
			te := startEngine(t, root, nil)
			st := te.status(t, "bad")
			if st.State != StateFailed || st.ErrorFile != "plugins/bad/init.lua" || st.ErrorLine != 4 {
				t.Fatalf("state %s, error %s:%d %q", st.State, st.ErrorFile, st.ErrorLine, st.Error)
			}
			if !strings.Contains(st.Error, c.want) {
				t.Errorf("error %q, want it to say %q", st.Error, c.want)
			}
		})
	}
}

func TestAdminRouteCatalogAndRecentErrors(t *testing.T) {
	root := writeRoot(t, files{"plugins/cat/init.lua": pluginSrc("cat", "", `function P.routes(r)
  r:get("/open", { summary = "public" }, function() return 200, {} end)
  r:post("/guarded", { permission = "cat.write" }, function() return 200, {} end)
  r:get("/boom", function()
    error("kaboom")
  end)
end`)})
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	res := te.admin(t, "GET", "/admin/routes", "")
	if res.status != 200 {
		t.Fatalf("/admin/routes: %d %s", res.status, res.body)
	}
	for _, want := range []string{`{"method":"POST","path":"/api/cat/guarded","plugin":"cat","permission":"cat.write"}`,
		`{"method":"GET","path":"/api/cat/open","plugin":"cat","summary":"public"}`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("/admin/routes lacks %s:\n%s", want, res.body)
		}
	}
	boom := te.do(t, "GET", "/api/cat/boom", "")
	if boom.status != 500 {
		t.Fatalf("boom: %d", boom.status)
	}
	res = te.admin(t, "GET", "/admin/plugins/cat/errors", "")
	var out struct {
		Errors []LuaErrorRecord `json:"errors"`
	}
	if err := json.Unmarshal([]byte(res.body), &out); err != nil || len(out.Errors) != 1 {
		t.Fatalf("errors: %d %s (%v)", res.status, res.body, err)
	}
	e := out.Errors[0]
	if e.RequestID != boom.json["request_id"] || e.File != "plugins/cat/init.lua" || e.Line != 6 || !strings.Contains(e.Message, "kaboom") ||
		e.Route != "GET /api/cat/boom" || e.Kind != "error" {
		t.Errorf("recorded %+v; the 500 said request %v", e, boom.json["request_id"])
	}
	if res := te.admin(t, "GET", "/admin/plugins/nope/errors", ""); res.status != 404 {
		t.Errorf("unknown plugin: %d", res.status)
	}
}

// The console's page is served at /admin/ui with its strict CSP even when
// the admin API is off (it then says so).
func TestConsoleMounted(t *testing.T) {
	root := writeRoot(t, files{"plugins/cat/init.lua": pluginSrc("cat", "", "")})
	te := startEngine(t, root, nil)
	for _, p := range []string{"/admin/ui/", "/admin/ui/js/app.js"} {
		res := te.do(t, "GET", p, "")
		if res.status != 200 || !strings.Contains(res.header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: %d CSP %q", p, res.status, res.header.Get("Content-Security-Policy"))
		}
	}
	if res := te.do(t, "GET", "/admin/plugins", ""); res.status != 404 || !strings.Contains(res.body, "admin API is off") {
		t.Errorf("/admin/plugins with the API off: %d %s", res.status, res.body)
	}
}
