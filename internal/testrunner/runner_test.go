package testrunner

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func run(t *testing.T, root string, o Options) (Summary, string) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var out bytes.Buffer
	o.Root, o.Out, o.DB = root, &out, pool
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	return sum, out.String()
}

const basePlugin = `local P = { name = "base", version = "1.0.0", url_prefix = "/api/base" }
local db = require("vbwd.db")
local events = require("vbwd.events")
function P.routes(r)
  r:post("/things/{name}", function(req)
    db.exec("insert into base_things (name) values ($1)", req.params.name)
    events.publish("base.thing_added", { name = req.params.name })
    return 201, { name = req.params.name }
  end)
  r:get("/count", function()
    return 200, db.query_one("select count(*)::int as n from base_things")
  end)
end
return P
`

func TestRunner(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"plugins/base/init.lua":                        basePlugin,
		"plugins/base/migrations/20260101000001_t.sql": "-- migrate:up\ncreate table base_things (name text primary key);\n-- migrate:down\ndrop table base_things;\n",
		"plugins/app/init.lua":                         `return { name = "app", version = "1.0.0", dependencies = { "base@^1" } }`,
		// first file writes, second file must not see it
		"plugins/app/tests/a_test.lua": `local t = require("vbwd.test")
local db = require("vbwd.db")
t.test("dependency is migrated and enabled", function()
  t.eq(t.post("/api/base/things/one").status, 201)
  t.eq({ t.get("/api/base/count").json.n, db.query_one("select current_user as u").u }, { 1, "vbwd_plugin_app" })
  local ev = t.expect_event("base.thing_added")
  t.eq(ev.payload, { name = "one" })
  t.err(function() t.expect_event("base.never") end, "no event base.never")
end)
t.test("a failing assertion shows a diff", function()
  t.eq({ a = 1, b = { 2, 3 } }, { a = 1, b = { 2, 4 } })
end)
t.test("a Lua error is a failure", function()
  local x = nil
  return x.field
end)
t.test("time can be set", function()
  t.time.set("2026-01-02T03:04:05Z")
  t.eq(require("vbwd.time").format(), "2026-01-02T03:04:05Z")
  t.time.advance(60)
  t.eq(require("vbwd.time").format(), "2026-01-02T03:05:05Z")
end)
`,
		"plugins/app/tests/b_test.lua": `local t = require("vbwd.test")
local db = require("vbwd.db")
t.test("writes of another file are invisible", function()
  t.eq(t.get("/api/base/count").json.n, 0)
end)
t.test("users can be impersonated", function()
  t.eq(t.get("/api/base/nothing", { as = { id = "u1", roles = { "x" } } }).status, 404)
end)
`,
	})
	sum, out := run(t, root, Options{})
	if sum.Passed != 4 || sum.Failed != 2 {
		t.Errorf("summary %+v\n%s", sum, out)
	}
	for _, want := range []string{
		"--- FAIL: plugins/app/tests/a_test.lua: a failing assertion shows a diff",
		"plugins/app/tests/a_test.lua:11: not equal",
		"value.b[2]: expected 4, got 3",
		"--- FAIL: plugins/app/tests/a_test.lua: a Lua error is a failure",
		"plugins/app/tests/a_test.lua:15: attempt to index",
		"ok  plugins/app/tests/b_test.lua  2 tests",
		"4 passed, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sum, out = run(t, root, Options{Run: "invisible", Verbose: true})
	if sum.Passed != 1 || sum.Failed != 0 || !strings.Contains(out, "--- PASS: plugins/app/tests/b_test.lua: writes of another file are invisible") {
		t.Errorf("--run: %+v\n%s", sum, out)
	}
}

func TestRunner_PluginThatDoesNotStart(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"plugins/bad/init.lua":           "return { name = 'bad', version = '1.0.0', initialize = function() error('nope') end }",
		"plugins/bad/tests/bad_test.lua": `require("vbwd.test").test("x", function() end)`,
	})
	sum, out := run(t, root, Options{})
	if sum.Failed != 1 || !strings.Contains(out, "the plugin does not start") || !strings.Contains(out, "nope") {
		t.Errorf("%+v\n%s", sum, out)
	}
}
