package engine

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
)

// Regression tests of issue 10 point 5: the URL space does not depend on
// the load order, and no handler sees a path with . or .. segments.

// Overlapping url_prefixes at start: both plugins are refused, each error
// naming the other, whatever the load order.
func TestURLSpace_OverlapAtStartRefusesBoth(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/victim/init.lua": pluginSrc("victim", "", routesBody("")),
		"plugins/aaa/init.lua":    strings.Replace(pluginSrc("aaa", "", routesBody("")), `"/api/aaa"`, `"/api/victim/check"`, 1),
		"plugins/other/init.lua":  pluginSrc("other", "", routesBody("")),
	})
	te := startEngine(t, root, nil)
	for name, other := range map[string]string{"victim": "aaa", "aaa": "victim"} {
		st := te.status(t, name)
		if st.State != StateFailed || !strings.Contains(st.Error, "plugin "+other) {
			t.Errorf("%s: %s %q", name, st.State, st.Error)
		}
	}
	if r := te.do(t, "GET", "/api/other/ok", ""); r.status != 200 {
		t.Errorf("other: %d", r.status)
	}
}

// A newcomer whose url_prefix lies inside a serving plugin's is refused; the
// serving plugin is untouched.
func TestURLSpace_NewcomerRefused(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/victim/init.lua": pluginSrc("victim", "", routesBody("")),
		"plugins/aaa/init.lua":    strings.Replace(pluginSrc("aaa", "", routesBody("")), `"/api/aaa"`, `"/api/victim/check"`, 1),
		"plugins.json":            `{"plugins": {"victim": {"enabled": true}}}`,
	})
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	r := te.admin(t, "POST", "/admin/plugins/aaa/enable", "")
	if r.status != 422 || !strings.Contains(r.body, "plugin victim") {
		t.Errorf("enable of the newcomer: %d %s", r.status, r.body)
	}
	if st := te.status(t, "victim"); st.State != StateEnabled {
		t.Errorf("victim: %s %s", st.State, st.Error)
	}
	if r := te.do(t, "GET", "/api/victim/ok", ""); r.status != 200 {
		t.Errorf("victim serves: %d", r.status)
	}
}

// Route paths with . or .. segments are refused; request paths with them
// are answered 400 before routing.
func TestURLSpace_DotSegments(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/dots/init.lua": pluginSrc("dots", "", routesBody(`r:get("/x/../y", function() return 200 end)`)),
		"plugins/files/init.lua": pluginSrc("files", "", `
function P.routes(r)
  r:get("/f/*", function(req) return 200, { rest = req.params.rest } end)
end`),
	})
	te := startEngine(t, root, nil)
	if st := te.status(t, "dots"); st.State != StateFailed || st.ErrorLine != 4 || !strings.Contains(st.Error, ". or .. segment") {
		t.Errorf("dots: %s %s:%d %q", st.State, st.ErrorFile, st.ErrorLine, st.Error)
	}
	for _, p := range []string{"/api/files/f/../../../etc/passwd", "/api/files/f/%2e%2e/x", "/api/files/f/./a"} {
		conn, err := net.Dial("tcp", te.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", p)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.Contains(line, " 400 ") {
			t.Errorf("GET %s: %q", p, line)
		}
	}
	if r := te.do(t, "GET", "/api/files/f/a/b.txt", ""); r.status != 200 || r.json["rest"] != "a/b.txt" {
		t.Errorf("a clean path: %d %s", r.status, r.body)
	}
}
