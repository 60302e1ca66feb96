package testrunner

import (
	"path/filepath"
	"strings"
	"testing"
)

// The guide's webhook example: t.deliver and t.http.stub make a durable
// event consumer deterministic, run after run.
func TestRunner_WebhookExampleRepeated(t *testing.T) {
	root := filepath.Join("..", "..", "docs", "examples")
	sum, out := run(t, root, Options{Plugins: []string{"webhook"}, Count: 20})
	if sum.Failed != 0 || sum.Passed != 60 {
		t.Errorf("summary %+v\n%s", sum, out)
	}
}

const hookPlugin = `local P = { name = "hook", version = "1.0.0", url_prefix = "/api/hook" }
local config
function P.initialize(cfg) config = cfg end
function P.routes(r)
  r:get("/greeting", function() return 200, { greeting = config.greeting } end)
end
return P
`

// Tests ignore the root config.json unless asked (hermetic), t.config sets
// a plugin's config for the file, and print/vbwd.log output is shown for a
// failing test (and with -v), not for a passing one.
func TestRunner_HermeticConfigAndOutput(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"config.json":              `{"hook": {"greeting": "from ops"}}`,
		"plugins/hook/init.lua":    hookPlugin,
		"plugins/hook/config.json": `{"greeting": "plain"}`,
		"plugins/hook/tests/a_test.lua": `local t = require("vbwd.test")
t.test("own config", function()
  print("quiet-when-passing")
  t.eq(t.get("/api/hook/greeting").json.greeting, "plain")
end)
t.test("t.config", function()
  t.config({ greeting = "set by the test" })
  t.eq(t.get("/api/hook/greeting").json.greeting, "set by the test")
end)
t.test("prints show on failure", function()
  print("printed-before-failing", 42)
  require("vbwd.log").info("logged-before-failing", { n = 1 })
  t.eq(1, 2)
end)
`,
		"plugins/hook/tests/b_test.lua": `local t = require("vbwd.test")
t.test("t.config does not leak into the next file", function()
  t.eq(t.get("/api/hook/greeting").json.greeting, "plain")
end)
`,
	})
	sum, out := run(t, root, Options{})
	if sum.Passed != 3 || sum.Failed != 1 {
		t.Errorf("summary %+v\n%s", sum, out)
	}
	for _, want := range []string{"printed-before-failing\t42", "logged-before-failing", "n=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "quiet-when-passing") {
		t.Errorf("a passing test's print shown without -v:\n%s", out)
	}
	_, out = run(t, root, Options{Run: "own config", Verbose: true})
	if !strings.Contains(out, "quiet-when-passing") {
		t.Errorf("-v does not show print:\n%s", out)
	}
	sum, out = run(t, root, Options{Run: "own config", RootConfig: true})
	if sum.Failed != 1 || !strings.Contains(out, `expected "plain", got "from ops"`) {
		t.Errorf("--root-config: %+v\n%s", sum, out)
	}
}
