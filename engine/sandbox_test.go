package engine

import (
	"strings"
	"testing"
)

// sandboxPlugin runs checks inside a real plugin's handler and answers what
// it found.
func TestSandbox(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/box/init.lua": pluginSrc("box", "", `
local util = require("box.util")
local nested = require("box.deep.mod")
function P.routes(r)
  r:get("/globals", function(req)
    local present = {}
    for _, name in ipairs({"dofile", "loadfile", "load", "loadstring", "module", "getfenv", "setfenv",
        "newproxy", "_printregs", "collectgarbage", "os", "io", "debug", "package", "channel"}) do
      if rawget(_G, name) ~= nil then present[#present + 1] = name end
    end
    if string.dump ~= nil then present[#present + 1] = "string.dump" end
    return 200, { present = table.concat(present, ","), util = util.twice(21), nested = nested.name,
      has = type(string.format) .. type(table.insert) .. type(math.floor) .. type(coroutine.wrap) .. type(pcall) }
  end)
  r:get("/require/{what}", function(req)
    local ok, err = pcall(require, req.params.what)
    return 200, { ok = ok, err = tostring(err) }
  end)
  r:get("/rep", function(req)
    local ok, err = pcall(string.rep, "x", 1024 * 1024 * 1024)
    return 200, { ok = ok, err = tostring(err) }
  end)
  r:get("/concat", function(req)
    local parts = {}
    local chunk = string.rep("y", 1024 * 1024)
    for i = 1, 20 do parts[i] = chunk end
    local ok, err = pcall(table.concat, parts)
    return 200, { ok = ok, err = tostring(err) }
  end)
  r:get("/recurse", function(req)
    local function f(n) return f(n + 1) + 1 end
    local ok, err = pcall(f, 1)
    return 200, { ok = ok, err = tostring(err) }
  end)
end`),
		"plugins/box/box/util.lua":          "local M = {}\nfunction M.twice(n) return n * 2 end\nreturn M",
		"plugins/box/box/deep/mod/init.lua": `return { name = "deep" }`,
		"plugins/other/init.lua":            pluginSrc("other", "", ""),
		"plugins/other/other/secret.lua":    `return "secret"`,
		"outside.lua":                       `return "outside"`,
	})
	te := startEngine(t, root, nil)
	r := te.do(t, "GET", "/api/box/globals", "")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if r.json["present"] != "" {
		t.Errorf("globals that must be absent are present: %v", r.json["present"])
	}
	if r.json["util"] != float64(42) || r.json["nested"] != "deep" {
		t.Errorf("own modules: %v", r.json)
	}
	if r.json["has"] != "functionfunctionfunctionfunctionfunction" {
		t.Errorf("base libraries missing: %v", r.json["has"])
	}
	for what, want := range map[string]string{
		"other.secret":   "only vbwd.* host modules and the plugin's own box.* modules",
		"os":             "only vbwd.* host modules",
		"vbwd.nope":      "no such host module",
		"box.missing":    "module not found",
		"box....outside": "bad module name segment",
	} {
		r := te.do(t, "GET", "/api/box/require/"+what, "")
		if r.json["ok"] != false || !strings.Contains(r.json["err"].(string), want) {
			t.Errorf("require(%q) = %v, want an error with %q", what, r.json, want)
		}
	}
	for _, p := range []string{"/api/box/rep", "/api/box/concat"} {
		r := te.do(t, "GET", p, "")
		if r.json["ok"] != false || !strings.Contains(r.json["err"].(string), "sandbox limit") {
			t.Errorf("%s = %v, want the sandbox limit error", p, r.json)
		}
	}
	if r := te.do(t, "GET", "/api/box/recurse", ""); r.json["ok"] != false || !strings.Contains(r.json["err"].(string), "stack overflow") {
		t.Errorf("deep recursion = %v, want stack overflow", r.json)
	}
	if r := te.do(t, "GET", "/api/box/globals", ""); r.status != 200 {
		t.Errorf("after the failures the plugin answers %d", r.status)
	}
}

func TestSandbox_BrokenModuleFailsTheLoad(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/p/init.lua":     pluginSrc("p", "", ""),
		"plugins/p/p/broken.lua": "local x = \nreturn x",
	})
	te := startEngine(t, root, nil)
	st := te.status(t, "p")
	if st.State != StateFailed || st.ErrorFile != "plugins/p/p/broken.lua" || st.ErrorLine != 2 {
		t.Errorf("%s %s:%d %s", st.State, st.ErrorFile, st.ErrorLine, st.Error)
	}
}
