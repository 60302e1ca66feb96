package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	lua "github.com/yuin/gopher-lua"
)

// shippedRoot is the repository root, with the shipped plugins.
func shippedRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestHello(t *testing.T) {
	te := startEngine(t, shippedRoot(t), nil)
	tests := []struct {
		method, path, body string
		status             int
		want               map[string]any
	}{
		{"GET", "/api/v1/hello/world", "", 200, map[string]any{"message": "Hello, world!"}},
		{"GET", "/api/v1/hello/?name=Ada&shout=1", "", 200, map[string]any{"message": "HELLO, ADA!"}},
		{"GET", "/api/v1/hello/", "", 200, map[string]any{"message": "Hello, world!"}},
		{"GET", "/api/v1/hello/" + strings.Repeat("x", 40), "", 422, map[string]any{"error": "name is longer than 32 characters"}},
		{"POST", "/api/v1/hello/echo", `{"message": "hi"}`, 201, map[string]any{"echo": "hi"}},
		{"POST", "/api/v1/hello/echo", `{"message": ""}`, 422, map[string]any{"error": "message must be a non-empty string"}},
		{"POST", "/api/v1/hello/echo", `{"message": `, 400, nil},
		{"POST", "/api/v1/hello/echo", ``, 400, map[string]any{"error": "request body is empty, JSON expected"}},
		{"DELETE", "/api/v1/hello/echo", "", 405, nil},
		{"GET", "/api/v1/nothing", "", 404, map[string]any{"error": "no route for GET /api/v1/nothing"}},
		{"GET", "/healthz", "", 200, map[string]any{"status": "ok"}},
		{"GET", "/readyz", "", 200, map[string]any{"status": "ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := te.do(t, tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if r.json == nil {
				t.Fatalf("not JSON: %q (%s)", r.body, r.header.Get("Content-Type"))
			}
			for k, v := range tt.want {
				if r.json[k] != v {
					t.Errorf("%s = %v, want %v", k, r.json[k], v)
				}
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if r.status >= 400 && r.json["request_id"] != r.header.Get("X-Request-Id") {
				t.Errorf("error body request_id %v != header %s", r.json["request_id"], r.header.Get("X-Request-Id"))
			}
		})
	}
	r := te.do(t, "POST", "/api/v1/hello/echo", `{"message": "h"}`)
	if r.header.Get("X-Hello") != "echo" || r.json["request_id"] != r.header.Get("X-Request-Id") {
		t.Errorf("headers/request id: %v %v", r.header, r.json)
	}
}

func TestServe_BodyLimitAndResults(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:post("/small", { body_limit = 10 }, function(req) return 200, { n = #req.body } end)
  r:get("/text", function() return 200, "plain", { ["Content-Type"] = "text/csv" } end)
  r:get("/nothing", function() end)
  r:get("/bare", function() return { ok = true } end)
  r:get("/array", function() return 200, {1, 2, 3} end)
  r:get("/badstatus", function() return 1000, {} end)
  r:get("/func", function() return 200, { f = print } end)
  r:get("/headers", function(req) return 200, { h = req.headers["x-thing"], q = req:query_all("a") } end)
end`)})
	te := startEngine(t, root, nil)
	if r := te.do(t, "POST", "/api/p/small", "12345678901"); r.status != 413 {
		t.Errorf("over the body limit: %d %s", r.status, r.body)
	}
	if r := te.do(t, "POST", "/api/p/small", "1234567890"); r.status != 200 || r.json["n"] != float64(10) {
		t.Errorf("at the body limit: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/p/text", ""); r.body != "plain" || r.header.Get("Content-Type") != "text/csv" {
		t.Errorf("text: %q %s", r.body, r.header.Get("Content-Type"))
	}
	if r := te.do(t, "GET", "/api/p/nothing", ""); r.status != 204 {
		t.Errorf("no result: %d", r.status)
	}
	if r := te.do(t, "GET", "/api/p/bare", ""); r.status != 200 || r.json["ok"] != true {
		t.Errorf("bare table: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/p/array", ""); r.body != "[1,2,3]" {
		t.Errorf("array: %s", r.body)
	}
	for _, p := range []string{"/api/p/badstatus", "/api/p/func"} {
		if r := te.do(t, "GET", p, ""); r.status != 500 || r.json["error"] != "internal" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	req, _ := http.NewRequest("GET", te.srv.URL+"/api/p/headers?a=1&a=2", nil)
	req.Header.Set("X-Thing", "yes")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m["h"] != "yes" || fmt.Sprint(m["q"]) != "[1 2]" {
		t.Errorf("headers and query_all: %v %v", m, err)
	}
}

func TestServe_LuaErrorAnswers500WithRequestID(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/boom", function(req)
    local t = nil
    return 200, { v = t.field }
  end)
end`)})
	te := startEngine(t, root, nil)
	r := te.do(t, "GET", "/api/p/boom", "")
	if r.status != 500 || r.json["error"] != "internal" || r.json["request_id"] == "" {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	logs := te.logs.String()
	for _, want := range []string{"plugins/p/init.lua:6", "attempt to index", "request_id=" + r.json["request_id"].(string), "plugin=p"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestServe_InfiniteLoopTimesOut(t *testing.T) {
	const deadline = 400 * time.Millisecond
	const spinDeadline = 1500 * time.Millisecond
	const slack = 100 * time.Millisecond
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.routes(r)
  r:get("/spin", { timeout = 1.5 }, function() while true do end end)
  r:get("/ok", function() return 200, { ok = true } end)
end`)})
	// One state, so the spinning handler keeps one core busy and the test's
	// own goroutines have the other (timing assertions under -race).
	te := startEngine(t, root, func(o *Options) { o.RequestTimeout = deadline; o.PoolMax = 1 })
	type answer struct {
		status  int
		elapsed time.Duration
	}
	spins := make(chan answer, 1)
	for i := 0; i < 1; i++ {
		go func() {
			start := time.Now()
			r := te.do(t, "GET", "/api/p/spin", "")
			spins <- answer{r.status, time.Since(start)}
		}()
	}
	for te.status(t, "p").Pool.InUse < 1 {
		time.Sleep(time.Millisecond)
	}
	// The only state spins: a request with the engine's deadline waits for a
	// state until that deadline and answers 503.
	start := time.Now()
	r := te.do(t, "GET", "/api/p/ok", "")
	if el := time.Since(start); r.status != 503 || el > deadline+slack {
		t.Errorf("waiting request: %d after %v, want 503 within %v", r.status, el, deadline+slack)
	}
	for i := 0; i < 1; i++ {
		a := <-spins
		if a.status != 504 || a.elapsed > spinDeadline+slack {
			t.Errorf("spinning request: %d after %v, want 504 within %v", a.status, a.elapsed, spinDeadline+slack)
		}
	}
	if r := te.do(t, "GET", "/api/p/ok", ""); r.status != 200 {
		t.Errorf("after the timeouts: %d %s", r.status, r.body)
	}
	if st := te.status(t, "p"); st.Pool.Discards < 1 {
		t.Errorf("interrupted states were reused: %+v", st.Pool)
	}
}

func TestServe_ConcurrentRequests(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
local json = require("vbwd.json")
local count = 0
function P.routes(r)
  r:post("/items/{id}", function(req)
    count = count + 1
    local body = req:json()
    return 200, { id = req.params.id, n = body.n, seen = count, q = req.query.q }
  end)
end`)})
	te := startEngine(t, root, func(o *Options) { o.PoolMax = 8 })
	const n = 250
	var wg sync.WaitGroup
	var failures atomic.Int64
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := te.do(t, "POST", fmt.Sprintf("/api/p/items/%d?q=%d", i, i), fmt.Sprintf(`{"n": %d}`, i))
			if r.status != 200 || r.json["id"] != fmt.Sprint(i) || r.json["n"] != float64(i) || r.json["q"] != fmt.Sprint(i) {
				failures.Add(1)
				t.Errorf("request %d: %d %s", i, r.status, r.body)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed", failures.Load(), n)
	}
	if st := te.status(t, "p"); st.Pool.Size > 8 || st.Pool.Size < 1 {
		t.Errorf("pool size %d outside [1, 8]", st.Pool.Size)
	}
}

// counterModule is a test host module whose next() returns 1, 2, 3... across
// all states: it makes states register differently on purpose.
type counterModule struct{ n *atomic.Int64 }

func (counterModule) Name() string { return "counter" }
func (m counterModule) Loader(L *lua.LState) int {
	t := L.NewTable()
	t.RawSetString("next", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(m.n.Add(1)))
		return 1
	}))
	L.Push(t)
	return 1
}

func TestGeneration_RegistrationMismatchIsReported(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
local counter = require("vbwd.counter")
function P.routes(r)
  r:get("/a", function() return 200, {} end)
  if counter.next() > 1 then
    r:get("/only-in-later-states", function() return 200, {} end)
  end
end`)})
	var n atomic.Int64
	te := startEngine(t, root, func(o *Options) {
		o.PoolMin = 2
		o.ExtraModules = []hostapi.Factory{func(hostapi.Plugin) hostapi.Module { return counterModule{&n} }}
	})
	st := te.status(t, "p")
	if st.State != StateFailed || !strings.Contains(st.Error, "registration mismatch") ||
		!strings.Contains(st.Error, "GET /only-in-later-states") {
		t.Fatalf("state %s, error %q", st.State, st.Error)
	}
	if r := te.do(t, "GET", "/api/p/a", ""); r.status != 404 {
		t.Errorf("a failed plugin serves: %d", r.status)
	}
}

func TestLifecycle_DisableEnable(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/base/init.lua": pluginSrc("base", "", `
local shared = require("vbwd.shared")
function P.routes(r) r:get("/", function() return 200, { base = true } end) end
function P.on_disable(ctx) shared.incr("disabled:" .. ctx.generation) end`),
		"plugins/user/init.lua": pluginSrc("user", `, dependencies = {"base@^1"}`, `
function P.routes(r) r:get("/", function() return 200, { user = true } end) end`),
	})
	te := startEngine(t, root, func(o *Options) { o.PoolMin = 3 })
	ctx := context.Background()
	if r := te.do(t, "GET", "/api/base/", ""); r.status != 200 {
		t.Fatalf("base: %d", r.status)
	}
	err := te.Disable(ctx, "base", false)
	if !errors.Is(err, ErrHasDependents) || !strings.Contains(err.Error(), "user") {
		t.Fatalf("disable with a dependent: %v", err)
	}
	if err := te.Disable(ctx, "base", true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/base/", "/api/user/"} {
		if r := te.do(t, "GET", p, ""); r.status != 404 {
			t.Errorf("%s after disable: %d", p, r.status)
		}
	}
	if got := te.status(t, "base").State; got != StateDisabled {
		t.Errorf("base is %s", got)
	}
	if v, _ := te.SharedBucket("base").Get("disabled:1"); fmt.Sprint(v) != "1" {
		t.Errorf("on_disable ran %v times for generation 1, want once", v)
	}
	if err := te.Enable(ctx, "user"); err == nil || !strings.Contains(err.Error(), "base is not enabled") {
		t.Errorf("enable with a disabled dependency: %v", err)
	}
	if err := te.Enable(ctx, "base"); err != nil {
		t.Fatal(err)
	}
	// user was asked for and failed only because of base: it comes back with it.
	if st := te.status(t, "user"); st.State != StateEnabled {
		t.Errorf("user after enabling base: %s %s", st.State, st.Error)
	}
	if r := te.do(t, "GET", "/api/user/", ""); r.status != 200 {
		t.Errorf("user after enable: %d", r.status)
	}
	if st := te.status(t, "base"); st.Generation != 2 || st.State != StateEnabled {
		t.Errorf("base after enable: gen %d %s", st.Generation, st.State)
	}
}

// gateModule lets a test hold a Lua handler: wait() blocks until the gate
// opens (or the call's context ends); entered receives a value per waiter.
type gateModule struct {
	entered chan struct{}
	open    chan struct{}
}

func (gateModule) Name() string { return "gate" }
func (m gateModule) Loader(L *lua.LState) int {
	t := L.NewTable()
	t.RawSetString("wait", L.NewFunction(func(L *lua.LState) int {
		m.entered <- struct{}{}
		select {
		case <-m.open:
		case <-L.Context().Done():
		}
		return 0
	}))
	L.Push(t)
	return 1
}

func TestLifecycle_ShutdownDrainsAndRunsOnDisable(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
local shared = require("vbwd.shared")
local gate = require("vbwd.gate")
function P.routes(r)
  r:get("/held", function() gate.wait(); return 200, { done = true } end)
end
function P.on_disable(ctx) shared.incr("on_disable") end`)})
	gate := gateModule{entered: make(chan struct{}, 1), open: make(chan struct{})}
	te := startEngine(t, root, func(o *Options) {
		o.ExtraModules = []hostapi.Factory{func(hostapi.Plugin) hostapi.Module { return gate }}
	})
	done := make(chan result)
	go func() { done <- te.do(t, "GET", "/api/p/held", "") }()
	<-gate.entered
	stopped := make(chan error)
	go func() { stopped <- te.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}
	if r := te.do(t, "GET", "/api/p/held", ""); r.status != 503 {
		t.Errorf("a new request during shutdown: %d %s", r.status, r.body)
	}
	close(gate.open)
	if r := <-done; r.status != 200 {
		t.Errorf("in-flight request during shutdown: %d %s", r.status, r.body)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if v, _ := te.SharedBucket("p").Get("on_disable"); fmt.Sprint(v) != "1" {
		t.Errorf("on_disable ran %v times, want 1", v)
	}
}

func TestRequest_Fields(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
local kept, keptParams
function P.routes(r)
  r:put("/items/{id}/files/*", function(req)
    keptParams = req.params
    req.note = "mine"
    local ok, err = pcall(function() req.method = "X" end)
    local names = {}
    for k in pairs(req.query) do names[#names + 1] = k end
    table.sort(names)
    kept = req
    return 200, {
      method = req.method, path = req.path, id = req.params.id, rest = req.params.rest,
      missing = req.params.nope, note = req.note, readonly = tostring(err),
      q = table.concat(names, ","), all = req:query_all("a"), h = req.headers["x-thing"],
      body = req.body, str = tostring(req), request_id = req.request_id,
      dyn = req["me" .. "thod"], dynid = req.params["i" .. "d"], dynrest = keptParams["re" .. "st"],
    }
  end)
  r:get("/stale", function()
    local ok, err = pcall(function() return kept.path end)
    local pok, perr = pcall(function() return keptParams.id end)
    local dok, derr = pcall(function() return kept["pa" .. "th"] end)
    return 200, { ok = ok, err = tostring(err), pok = pok, perr = tostring(perr), dok = dok, derr = tostring(derr) }
  end)
end`)})
	te := startEngine(t, root, func(o *Options) { o.PoolMax = 1 })
	req, _ := http.NewRequest("PUT", te.srv.URL+"/api/p/items/7/files/a/b.txt?a=1&a=2&b=3", strings.NewReader("raw"))
	req.Header.Set("X-Thing", "yes")
	req.Header.Set("X-Request-Id", "my-id-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"method": "PUT", "path": "/api/p/items/7/files/a/b.txt", "id": "7", "rest": "a/b.txt",
		"note": "mine", "q": "a,b", "h": "yes", "body": "raw", "str": "req PUT /api/p/items/7/files/a/b.txt",
		"request_id": "my-id-1", "dyn": "PUT", "dynid": "7", "dynrest": "a/b.txt"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if m["missing"] != nil || fmt.Sprint(m["all"]) != "[1 2]" || !strings.Contains(fmt.Sprint(m["readonly"]), "req.method is read-only") {
		t.Errorf("missing/all/readonly: %v %v %v", m["missing"], m["all"], m["readonly"])
	}
	// req.path and req.params.id are read by the VM through IndexField,
	// req["path"] through __index: all refuse, naming the reading line
	r := te.do(t, "GET", "/api/p/stale", "")
	for _, k := range []string{"err", "perr", "derr"} {
		if e, _ := r.json[k].(string); !strings.Contains(e, "after its request finished") || !strings.Contains(e, "init.lua:") {
			t.Errorf("a kept req must refuse to be read later, naming the line (%s): %v", k, r.json)
		}
	}
	if r.json["ok"] != false || r.json["pok"] != false || r.json["dok"] != false {
		t.Errorf("stale reads succeeded: %v", r.json)
	}
}
