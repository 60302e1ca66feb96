package engine

import (
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/ok/{id}", function() return 200, {} end)
  r:get("/boom", function() error("boom") end)
end`)})
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	for i := 0; i < 3; i++ {
		te.do(t, "GET", "/api/p/ok/1", "")
	}
	te.do(t, "GET", "/api/p/boom", "")
	te.admin(t, "POST", "/admin/plugins/p/reload", "")
	r := te.do(t, "GET", "/metrics", "")
	if r.status != 200 {
		t.Fatalf("/metrics: %d", r.status)
	}
	for _, want := range []string{
		`vbwd_http_requests_total{generation="1",plugin="p",route="GET /api/p/ok/{id}",status="200"} 3`,
		`vbwd_http_requests_total{generation="1",plugin="p",route="GET /api/p/boom",status="500"} 1`,
		`vbwd_http_request_duration_seconds_count{generation="1",plugin="p",route="GET /api/p/ok/{id}",status="200"} 3`,
		`vbwd_lua_errors_total{kind="error",plugin="p"} 1`,
		`vbwd_plugin_reloads_total{outcome="unchanged",plugin="p"} 1`,
		`vbwd_pool_states_max{generation="1",plugin="p"} 4`,
		`vbwd_pool_in_use{generation="1",plugin="p"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
