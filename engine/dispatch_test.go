package engine

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// TestDispatch_RoutesOnceLikeTheMountedRouter: a request under a url_prefix
// is routed once, straight into its generation's router (router.go:
// routeFast); it must answer exactly as the snapshot's router, where that
// router is mounted at the prefix, answers the same request — path
// parameters, the wildcard, req.params.rest on a route without one, raw
// (escaped) paths, 404 and 405.
func TestDispatch_RoutesOnceLikeTheMountedRouter(t *testing.T) {
	show := `function(req) return 200, { m = req.method, name = req.params.name, id = req.params.id,
	  rest = req.params.rest, path = req.path } end`
	root := writeRoot(t, files{"plugins/d/init.lua": pluginSrc("d", "", `
function P.routes(r)
  r:get("/", `+show+`)
  r:get("/{name}", `+show+`)
  r:post("/{name}", `+show+`)
  r:get("/files/*", `+show+`)
  r:get("/n/{id:[0-9]+}", `+show+`)
  r:get("/n/{id:[0-9]+}/x", `+show+`)
end`)})
	te := startEngine(t, root, nil)
	mounted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &web.RespWriter{ResponseWriter: w, RequestID: r.Header.Get("X-Request-Id")}
		te.snap.Load().mux.ServeHTTP(rw, r) // the mount: two chi walks
	}))
	defer mounted.Close()
	get := func(base, method, path string) (int, string) {
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", "same")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/d"}, {"GET", "/api/d/"}, {"GET", "/api/d/ada"}, {"POST", "/api/d/ada"},
		{"GET", "/api/d/files/a/b"}, {"GET", "/api/d/files/"}, {"GET", "/api/d/files/a%2Fb"},
		{"GET", "/api/d/n/12"}, {"GET", "/api/d/n/12/x"}, {"GET", "/api/d/n/x"}, {"GET", "/api/d/a%2Fb"},
		{"GET", "/api/d/caf%C3%A9"}, {"GET", "/api/d/a/b/c"}, {"DELETE", "/api/d/ada"}, {"PUT", "/api/d/"},
		{"GET", "/api/dx"}, {"GET", "/api/d//x"}, {"GET", "/api"}, {"PATCH", "/api/d/files/x"},
	} {
		fs, fb := get(te.srv.URL, c.method, c.path)
		ms, mb := get(mounted.URL, c.method, c.path)
		if fs != ms || fb != mb {
			t.Errorf("%s %s: routed once %d %s; mounted %d %s", c.method, c.path, fs, fb, ms, mb)
		}
	}
	if s, b := get(te.srv.URL, "GET", "/api/d/ada"); s != 200 || b != `{"m":"GET","name":"ada","path":"/api/d/ada","rest":""}` {
		t.Errorf("GET /api/d/ada: %d %s", s, b)
	}
}
