package engine

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// A non-UTF-8 or unknown plugin name in an admin URL answers 404: no panic
// (Prometheus refuses invalid UTF-8 labels) and no new metric series.
func TestAdmin_BadPluginNamesAddNoMetricSeries(t *testing.T) {
	te := startEngine(t, adminRoot(t), func(o *Options) { o.AdminToken = adminToken })
	for _, path := range []string{"/admin/plugins/%FF%FE/reload", "/admin/plugins/nope-1/reload", "/admin/plugins/nope-2/reload"} {
		if r := te.admin(t, "POST", path, ""); r.status != 404 {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	}
	if r := te.admin(t, "POST", "/admin/plugins/base/reload", ""); r.status != 200 {
		t.Errorf("a known plugin: %d %s", r.status, r.body)
	}
	m := te.do(t, "GET", "/metrics", "").body
	if strings.Contains(m, "nope-") || !strings.Contains(m, `vbwd_plugin_reloads_total{outcome="unchanged",plugin="base"} 1`) {
		t.Errorf("reload series:\n%s", grepLines(m, "vbwd_plugin_reloads_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A public route ignores an Authorization header that is not a Bearer token
// (Basic, for a proxy in front), and any Bearer when no JWT secret is set.
func TestAuth_PublicRouteIgnoresForeignAuthorization(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/open", function(req) return 200, { anonymous = req.user == nil } end)
  r:get("/mine", { auth = true }, function(req) return 200, {} end)
end`)})
	call := func(te *testEngine, path, header string) result {
		req, _ := http.NewRequest("GET", te.srv.URL+path, nil)
		req.Header.Set("Authorization", header)
		resp, err := te.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{status: resp.StatusCode, body: string(b)}
	}
	noSecret := startEngine(t, root, nil)
	withSecret := startEngine(t, root, func(o *Options) { o.JWTSecret = "s" })
	for _, c := range []struct {
		name   string
		te     *testEngine
		path   string
		header string
		status int
	}{
		{"Basic, no secret", noSecret, "/api/p/open", "Basic dXNlcjpwYXNz", 200},
		{"Bearer, no secret", noSecret, "/api/p/open", "Bearer whatever", 200},
		{"Basic, with a secret", withSecret, "/api/p/open", "Basic dXNlcjpwYXNz", 200},
		{"bad Bearer, with a secret", withSecret, "/api/p/open", "Bearer garbage", 401},
		{"Basic on a route needing a user", withSecret, "/api/p/mine", "Basic dXNlcjpwYXNz", 401},
		{"Bearer on a route needing a user, no secret", noSecret, "/api/p/mine", "Bearer whatever", 401},
	} {
		r := call(c.te, c.path, c.header)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		if c.status == 200 && !strings.Contains(r.body, `"anonymous":true`) {
			t.Errorf("%s: %s", c.name, r.body)
		}
	}
}

// SSE: an id or event holding CR or LF is refused (it would inject fields
// or events); CR, LF and CRLF in data are all line breaks.
func TestStream_FieldsCannotInjectLines(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/chat/init.lua": pluginSrc("chat", "", `
local stream = require("vbwd.stream")
function P.routes(r)
  r:get("/bad-id", { stream = true }, function(req)
    return { channel = "chat.x", events = { { id = "1\ndata: injected", data = "x" } } }
  end)
  r:get("/bad-event", { stream = true }, function(req)
    return { channel = "chat.x", events = { { event = "a\rdata: injected", data = "x" } } }
  end)
  r:get("/events", { stream = true }, function(req)
    return { channel = "chat.x", events = { { event = "e", id = "7", data = "one\rtwo\r\nthree\nfour" } } }
  end)
  r:post("/publish", function(req)
    local ok, err = stream.publish("chat.x", "d", "ev\nid: 9")
    return 200, { ok = ok == true, err = tostring(err) }
  end)
end`)}), nil)
	for _, p := range []string{"/api/chat/bad-id", "/api/chat/bad-event"} {
		if r := te.do(t, "GET", p, ""); r.status != 500 || strings.Contains(r.body, "injected") {
			t.Errorf("%s: %d %q", p, r.status, r.body)
		}
	}
	s := openStream(t, te.srv.URL+"/api/chat/events")
	if ev := s.next(t); ev != "id: 7\nevent: e\ndata: one\ndata: two\ndata: three\ndata: four" {
		t.Errorf("event: %q", ev)
	}
	if r := te.do(t, "POST", "/api/chat/publish", ""); r.status != 200 || r.json["ok"] != false ||
		!strings.Contains(r.json["err"].(string), "line break") {
		t.Errorf("publish with a CR/LF in event: %d %s", r.status, r.body)
	}
}

// A handler returning an informational status (100..199) is a handler
// error (500), never a 200 or a bare 101.
func TestServe_InformationalStatusIsAnError(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/s/{code}", function(req) return tonumber(req.params.code), { x = 1 } end)
end`)}), nil)
	for _, code := range []string{"100", "101", "103", "199"} {
		r := te.do(t, "GET", "/api/p/s/"+code, "")
		if r.status != 500 || r.json["error"] != "internal" {
			t.Errorf("status %s: %d %q", code, r.status, r.body)
		}
	}
	if !strings.Contains(te.logs.String(), "status 101") {
		t.Errorf("the log does not say which status was refused:\n%s", te.logs.String())
	}
	if r := te.do(t, "GET", "/api/p/s/200", ""); r.status != 200 {
		t.Errorf("200: %d", r.status)
	}
}

// Path parameters are percent-decoded exactly once, whichever escapes the
// URL holds.
func TestRequest_PathParamsDecodedOnce(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/one/{x}", function(req) return 200, { x = req.params.x } end)
  r:get("/two/{x}/{y}", function(req) return 200, { x = req.params.x, y = req.params.y } end)
  r:get("/rest/*", function(req) return 200, { x = req.params.rest } end)
end`)}), nil)
	for _, c := range []struct{ path, want string }{
		{"/api/p/one/a%2Fb", `{"x":"a/b"}`},
		{"/api/p/one/%C3%A9", `{"x":"é"}`},
		{"/api/p/one/a%2Fb%C3%A9", `{"x":"a/bé"}`},
		{"/api/p/one/100%25", `{"x":"100%"}`},
		{"/api/p/one/%2525", `{"x":"%25"}`},
		{"/api/p/one/a%20b", `{"x":"a b"}`},
		{"/api/p/two/%C3%A9/a%2Fb", `{"x":"é","y":"a/b"}`},
		{"/api/p/rest/a%2Fb/%C3%A9", `{"x":"a/b/é"}`},
	} {
		if r := te.do(t, "GET", c.path, ""); r.status != 200 || r.body != c.want {
			t.Errorf("%s: %d %s, want %s", c.path, r.status, r.body, c.want)
		}
	}
}

// A Lua error whose text merely mentions a context error is a handler
// error (500), classified by the call's context, never by message text.
func TestServe_ContextWordsInALuaErrorAre500(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/canceled", function() error("upstream said: context canceled") end)
  r:get("/deadline", function() error("upstream said: context deadline exceeded") end)
end`)}), nil)
	for _, p := range []string{"/api/p/canceled", "/api/p/deadline"} {
		if r := te.do(t, "GET", p, ""); r.status != 500 || r.json["error"] != "internal" {
			t.Errorf("%s: %d %q", p, r.status, r.body)
		}
	}
}

// A JWT issued in the future (beyond a few seconds of leeway) is refused.
func TestAuth_FutureIssuedAtRefused(t *testing.T) {
	const secret = "iat-secret"
	te := startEngine(t, writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r) r:get("/mine", { auth = true }, function(req) return 200, {} end) end`)}),
		func(o *Options) { o.JWTSecret = secret })
	future, _ := auth.Mint(secret, "u", nil, 2*time.Hour, time.Now().Add(time.Hour))
	if r := te.doAuth(t, "GET", "/api/p/mine", "", future); r.status != 401 {
		t.Errorf("iat in an hour: %d %s", r.status, r.body)
	}
	skewed, _ := auth.Mint(secret, "u", nil, time.Hour, time.Now().Add(2*time.Second))
	if r := te.doAuth(t, "GET", "/api/p/mine", "", skewed); r.status != 200 {
		t.Errorf("iat 2s ahead (within the leeway): %d %s", r.status, r.body)
	}
}

// A route path holding invalid UTF-8 (a Lua string may) is served and
// counted without a panic (Prometheus refuses such label values).
func TestMetrics_NonUTF8RoutePath(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r) r:get("/b\255d", function() return 200, { ok = true } end) end`)}), nil)
	if r := te.do(t, "GET", "/api/p/b%FFd", ""); r.status != 200 {
		t.Fatalf("non-UTF-8 route: %d %s", r.status, r.body)
	}
	if m := te.do(t, "GET", "/metrics", "").body; !strings.Contains(m, "route=\"GET /api/p/b\uFFFDd\"") {
		t.Errorf("series:\n%s", grepLines(m, "vbwd_http_requests_total"))
	}
}
