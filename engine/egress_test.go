package engine

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A plugin reaches the hosts its config.json lists under http.allow and
// nothing else; calls show in /metrics per plugin and host.
func TestEgress_PluginConfigAllowList(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"seen":"` + r.URL.Path + `"}`))
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	_, port, _ := net.SplitHostPort(up.Listener.Addr().String())
	body := `
local http = require("vbwd.http")
function P.routes(r)
  r:get("/call", function(req)
    local res, err = http.get(req.query.url)
    if not res then return 502, { err = err } end
    return 200, { status = res.status, seen = res.json.seen }
  end)
end`
	root := writeRoot(t, files{
		"plugins/out/init.lua":    pluginSrc("out", "", body),
		"plugins/out/config.json": `{"http": {"allow": ["127.0.0.1:` + port + `"]}}`,
		"plugins/shut/init.lua":   pluginSrc("shut", "", body),
	})
	te := startEngine(t, root, nil)
	if r := te.do(t, "GET", "/api/out/call?url="+up.URL+"/x", ""); r.status != 200 || r.json["seen"] != "/x" {
		t.Fatalf("allowed host: %d %s", r.status, r.body)
	}
	r := te.do(t, "GET", "/api/shut/call?url="+up.URL+"/x", "")
	if r.status != 502 || !strings.Contains(r.body, "refused for plugin shut") || conns.Load() != 1 {
		t.Errorf("plugin without http.allow: %d %s, upstream connections %d (want 1, the allowed plugin's)", r.status, r.body, conns.Load())
	}
	m := te.do(t, "GET", "/metrics", "").body
	for _, want := range []string{
		`vbwd_http_client_requests_total{host="127.0.0.1",outcome="2xx",plugin="out"} 1`,
		`vbwd_http_client_requests_total{host="-",outcome="refused",plugin="shut"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A malformed http.allow fails the plugin, naming its config.json.
func TestEgress_BadAllowList(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/out/init.lua":    pluginSrc("out", "", ""),
		"plugins/out/config.json": `{"http": {"allow": ["https://x.test/"]}}`,
	})
	te := startEngine(t, root, nil)
	st := te.status(t, "out")
	if st.State != StateFailed || !strings.Contains(st.Error, "plugins/out/config.json") || !strings.Contains(st.Error, "not a URL") {
		t.Errorf("state %s, error %q", st.State, st.Error)
	}
}
