package engine

import (
	"strings"
	"testing"
)

// Reading a global the sandbox removed names the global and what to use
// instead, rather than "attempt to index a non-table object(nil)".
func TestSandbox_RemovedGlobalMessages(t *testing.T) {
	root := writeRoot(t, files{"plugins/box/init.lua": pluginSrc("box", "", `
function P.routes(r)
  r:get("/try/{name}", function(req)
    local probes = {
      os = function() return os.time() end,
      io = function() return io.open("x") end,
      load = function() return load("return 1") end,
      debug = function() return debug.traceback() end,
      undefined = function() return undefined_global end,
    }
    local ok, err = pcall(probes[req.params.name])
    return 200, { ok = ok, err = tostring(err), raw = rawget(_G, "os") == nil }
  end)
end`)})
	te := startEngine(t, root, nil)
	for name, want := range map[string]string{
		"os":    "os is not available in plugins; use vbwd.time for clocks",
		"io":    "io is not available in plugins",
		"load":  "load is not available in plugins",
		"debug": "debug is not available in plugins",
	} {
		r := te.do(t, "GET", "/api/box/try/"+name, "")
		err, _ := r.json["err"].(string)
		if r.json["ok"] != false || !strings.Contains(err, want) || !strings.Contains(err, "plugins/box/init.lua:") {
			t.Errorf("%s: %s; want an error with %q at its file:line", name, r.body, want)
		}
	}
	// other globals read as nil as before; rawget sees the real (absent) value
	if r := te.do(t, "GET", "/api/box/try/undefined", ""); r.json["ok"] != true || r.json["raw"] != true {
		t.Errorf("undefined global: %s", r.body)
	}
}
