package engine

import (
	"strings"
	"testing"
)

// A failing handler's logged traceback names the handler by its definition
// (plugins/tb/init.lua:2), with the route, instead of "main chunk".
func TestHandlerTracebackNamesTheFunction(t *testing.T) {
	root := writeRoot(t, files{"plugins/tb/init.lua": pluginSrc("tb", "", `function P.routes(r)
  r:get("/boom", function(req)
    error("boom")
  end)
end`)})
	te := startEngine(t, root, nil)
	if r := te.do(t, "GET", "/api/tb/boom", ""); r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	logs := te.logs.String()
	if !strings.Contains(logs, `in function <plugins/tb/init.lua:3>`) || !strings.Contains(logs, `route="GET /boom"`) {
		t.Errorf("the traceback does not name the handler:\n%s", logs)
	}
	if strings.Contains(logs, "main chunk") {
		t.Errorf("the traceback says main chunk:\n%s", logs)
	}
}
