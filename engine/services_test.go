package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// probeModule (vbwd.probe) shows a provider what context it runs under.
type probeModule struct{}

func (probeModule) Name() string { return "probe" }

func (probeModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"request_id": func(L *lua.LState) int {
			if r := hostapi.RequestOf(L); r != nil {
				L.Push(lua.LString(r.ID))
				return 1
			}
			return 0
		},
		"user_id": func(L *lua.LState) int {
			if r := hostapi.RequestOf(L); r != nil && r.User != nil {
				L.Push(lua.LString(r.User.ID))
				return 1
			}
			return 0
		},
		"deadline": func(L *lua.LState) int { // seconds left, nil without one
			if d, ok := L.Context().Deadline(); ok {
				L.Push(lua.LNumber(time.Until(d).Seconds()))
				return 1
			}
			return 0
		},
	}))
	return 1
}

func withProbe(o *Options) {
	o.ExtraModules = append(o.ExtraModules, func(hostapi.Plugin) hostapi.Module { return probeModule{} })
}

// deckSrc is a provider; version is returned by its version method.
func deckSrc(version string) string {
	return pluginSrc("deck", "", `
local probe = require("vbwd.probe")
local cache = { hits = 0, list = { 1, 2, 3 } }
function P.on_enable(ctx)
  ctx:provide("deck.cards", {
    echo = function(...) return ... end,
    cache = function() cache.hits = cache.hits + 1; return cache end,
    lookup = function(id) if id == 0 then return nil, "no card 0" end return { id = id } end,
    denied = function() error({ status = 403, message = "not yours", code = "owner" }) end,
    boom = function() local t = nil; return t.field end,
    slow = function() while true do end end,
    context = function()
      return { request_id = probe.request_id(), user = probe.user_id(), deadline = probe.deadline() }
    end,
    version = function() return "`+version+`" end,
  })
end`)
}

const tarotSrc = `
local di = require("vbwd.di")
local cached -- resolved once per state, kept across reloads of deck
function P.routes(r)
  r:get("/copy", function()
    local svc = assert(di.get("deck.cards"))
    local c1 = svc.cache()
    c1.hits = 100
    c1.list[1] = "changed"
    local c2 = svc:cache()
    local arg = { a = 1, nested = { b = 2 } }
    local got = svc.echo(arg)
    got.nested.b = 3
    local v, e = svc.lookup(0)
    return 200, { c2 = c2, arg_b = arg.nested.b, same = got == arg, lookup_v = v == nil, lookup_e = e,
      multi = { svc.echo(1, "two", false) } }
  end)
  r:get("/status", function() di.get("deck.cards").denied() end)
  r:get("/boom", function() di.get("deck.cards").boom() end)
  r:get("/boom_msg", function()
    local okay, e = pcall(di.get("deck.cards").boom)
    return 200, { ok = okay, err = tostring(e) }
  end)
  r:get("/slow", { timeout = 0.3 }, function() di.get("deck.cards").slow() end)
  r:get("/context", { timeout = 1.5 }, function() return 200, di.get("deck.cards").context() end)
  r:get("/unknown", function()
    local svc, e = di.get("deck.nope")
    return 200, { found = svc ~= nil, err = e }
  end)
  r:get("/version", function()
    cached = cached or assert(di.get("deck.cards"))
    return 200, { v = cached.version() }
  end)
end`

func tarotRoot(t *testing.T) string {
	return writeRoot(t, files{
		"plugins/deck/init.lua":  deckSrc("v1"),
		"plugins/tarot/init.lua": pluginSrc("tarot", `, dependencies = { "deck" }`, tarotSrc),
		"plugins/loner/init.lua": pluginSrc("loner", "", `
local di = require("vbwd.di")
function P.routes(r)
  r:get("/", function()
    local svc, e = di.get("deck.cards")
    return 200, { found = svc ~= nil, err = e }
  end)
end`),
	})
}

func TestServices_CallCopiesValues(t *testing.T) {
	te := startEngine(t, tarotRoot(t), func(o *Options) { withProbe(o); o.PoolMin, o.PoolMax = 1, 1 })
	r := te.do(t, "GET", "/api/tarot/copy", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := `{"arg_b":2,"c2":{"hits":2,"list":[1,2,3]},"lookup_e":"no card 0","lookup_v":true,"multi":[1,"two",false],"same":false}`
	if r.body != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}
}

func TestServices_UnknownAndUndeclared(t *testing.T) {
	te := startEngine(t, tarotRoot(t), withProbe)
	for path, want := range map[string]string{
		"/api/tarot/unknown": `di.get("deck.nope"): no service deck.nope`,
		"/api/loner/":        `di.get("deck.cards"): plugin loner does not depend on deck (add "deck" to dependencies)`,
	} {
		r := te.do(t, "GET", path, "")
		if r.status != 200 || r.json["found"] != false || r.json["err"] != want {
			t.Errorf("%s: %d %s, want err %q", path, r.status, r.body, want)
		}
	}
}

func TestServices_Errors(t *testing.T) {
	te := startEngine(t, tarotRoot(t), withProbe)
	t.Run("status error keeps its status", func(t *testing.T) {
		r := te.do(t, "GET", "/api/tarot/status", "")
		if r.status != 403 || r.json["error"] != "not yours" || r.json["code"] != "owner" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("provider error names the provider's file and line", func(t *testing.T) {
		r := te.do(t, "GET", "/api/tarot/boom_msg", "")
		msg, _ := r.json["err"].(string)
		if r.json["ok"] != false || !strings.Contains(msg, "deck.cards.boom: plugin deck: plugins/deck/init.lua:11: ") {
			t.Errorf("%d %s", r.status, r.body)
		}
		if r := te.do(t, "GET", "/api/tarot/boom", ""); r.status != 500 {
			t.Errorf("uncaught: %d %s", r.status, r.body)
		}
		if logs := te.logs.String(); !strings.Contains(logs, "plugins/deck/init.lua:11") {
			t.Errorf("the caller's error log does not name the provider's line:\n%s", logs)
		}
	})
}

func TestServices_ContextPropagates(t *testing.T) {
	const secret = "di-test-secret"
	te := startEngine(t, tarotRoot(t), func(o *Options) { withProbe(o); o.JWTSecret = secret })
	token, err := auth.Mint(secret, "user-7", []string{"subscriber"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", te.srv.URL+"/api/tarot/context", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Request-Id", "req-di-1")
	resp, err := te.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		RequestID string  `json:"request_id"`
		User      string  `json:"user"`
		Deadline  float64 `json:"deadline"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if body.RequestID != resp.Header.Get("X-Request-Id") || body.RequestID == "" {
		t.Errorf("provider saw request id %q, the caller's is %q", body.RequestID, resp.Header.Get("X-Request-Id"))
	}
	if body.User != "user-7" {
		t.Errorf("provider saw user %q", body.User)
	}
	if body.Deadline <= 0 || body.Deadline > 1.5 {
		t.Errorf("provider saw %vs left, want the caller's 1.5s route timeout", body.Deadline)
	}
}

// A provider that never returns is cut off by the caller's route timeout:
// 504 for the caller, no hang, and both pools keep serving.
func TestServices_DeadlinePropagates(t *testing.T) {
	te := startEngine(t, tarotRoot(t), func(o *Options) { withProbe(o); o.PoolMin, o.PoolMax = 1, 1 })
	start := time.Now()
	r := te.do(t, "GET", "/api/tarot/slow", "")
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("%d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %v for a 0.3s route timeout", d)
	}
	if r := te.do(t, "GET", "/api/tarot/version", ""); r.status != 200 || r.json["v"] != "v1" {
		t.Errorf("after the timeout: %d %s", r.status, r.body)
	}
}

// Reloading the provider keeps a dependent's proxy working, now served by
// the new generation, also while calls are in flight.
func TestServices_ProviderReload(t *testing.T) {
	root := tarotRoot(t)
	te := startEngine(t, root, func(o *Options) { withProbe(o); o.PoolMin, o.PoolMax = 1, 2 })
	if r := te.do(t, "GET", "/api/tarot/version", ""); r.json["v"] != "v1" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures sync.Map
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r := te.do(t, "GET", "/api/tarot/version", ""); r.status != 200 {
					failures.Store(r.body, r.status)
				}
			}
		}()
	}
	for _, v := range []string{"v2", "v3", "v4"} {
		writeAtomic(t, root+"/plugins/deck/init.lua", deckSrc(v))
		if _, err := te.Reload(context.Background(), "deck"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	failures.Range(func(k, v any) bool { t.Errorf("during reloads: %v %v", v, k); return true })
	for range 4 { // each state of tarot (with its cached proxy) sees v4
		if r := te.do(t, "GET", "/api/tarot/version", ""); r.json["v"] != "v4" {
			t.Errorf("after reload: %d %s", r.status, r.body)
		}
	}
}

// a calls b; b emits an event that a handles by calling b again: the
// second call is refused as a cycle, not left waiting for a state.
func TestServices_CycleThroughEvents(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/b/init.lua": pluginSrc("b", "", `
local events = require("vbwd.events")
function P.on_enable(ctx)
  ctx:provide("b.svc", {
    ping = function() return events.emit("b.pinged", {}) end,
    pong = function() return "pong" end,
  })
end`),
		"plugins/a/init.lua": pluginSrc("a", `, dependencies = { "b" }`, `
local di = require("vbwd.di")
function P.routes(r)
  r:get("/ping", function() return 200, di.get("b.svc").ping() end)
end
function P.on_enable(ctx)
  ctx:on("b.pinged", function(ev) di.get("b.svc").pong() end)
end`),
	})
	te := startEngine(t, root, func(o *Options) { o.PoolMin, o.PoolMax = 1, 2; o.RequestTimeout = 5 * time.Second })
	start := time.Now()
	r := te.do(t, "GET", "/api/a/ping", "")
	if r.status != 200 || !strings.Contains(r.body, "service call cycle: a -> b -> a -> b") {
		t.Errorf("%d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the cycle waited instead of failing", d)
	}
}

// A plugin may call its own service once (a second state of its pool);
// recursing again is a cycle.
func TestServices_SelfCall(t *testing.T) {
	root := writeRoot(t, files{"plugins/rec/init.lua": pluginSrc("rec", "", `
local di = require("vbwd.di")
function P.on_enable(ctx)
  ctx:provide("rec.svc", {
    down = function(n) if n == 0 then return 0 end return di.get("rec.svc").down(n - 1) + 1 end,
  })
end
function P.routes(r)
  r:get("/{n}", function(req)
    local okay, v = pcall(di.get("rec.svc").down, tonumber(req.params.n))
    return 200, { ok = okay, v = tostring(v) }
  end)
end`)})
	te := startEngine(t, root, func(o *Options) { o.PoolMin, o.PoolMax = 1, 2 })
	if r := te.do(t, "GET", "/api/rec/0", ""); r.json["ok"] != true || r.json["v"] != "0" {
		t.Errorf("rec -> rec: %s", r.body)
	}
	r := te.do(t, "GET", "/api/rec/1", "")
	if v, _ := r.json["v"].(string); r.json["ok"] != false || !strings.Contains(v, "service call cycle: rec -> rec -> rec") {
		t.Errorf("rec -> rec -> rec: %s", r.body)
	}
}

func TestServices_RefusedInBuildPhase(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/deck/init.lua":  deckSrc("v1"),
		"plugins/early/init.lua": pluginSrc("early", `, dependencies = { "deck" }`, "function P.on_enable(ctx)\n  require(\"vbwd.di\").get(\"deck.cards\")\nend"),
	})
	te := startEngine(t, root, withProbe)
	if st := te.status(t, "early"); st.State != StateFailed || !strings.Contains(st.Error, "not allowed while the state is being built") || st.ErrorLine != 3 {
		t.Errorf("%s %s:%d %s", st.State, st.ErrorFile, st.ErrorLine, st.Error)
	}
}

// calc is a Go service.
type calc struct{}

func (calc) Add(a, b int) int { return a + b }

func (calc) Tag(ctx context.Context, s string) string {
	if r := hostapi.RequestFrom(ctx); r != nil {
		return s + ":" + r.ID
	}
	return s
}

func (calc) Check(n int) (int, error) {
	if n < 0 {
		return 0, errors.New("negative")
	}
	return n, nil
}

// startEngineBefore is startEngine with before run between New and Start.
func startEngineBefore(t *testing.T, root string, before func(*Engine)) *testEngine {
	t.Helper()
	logs := &logBuf{}
	e, err := New(Options{Root: root, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		RequestTimeout: 2 * time.Second, PoolMin: 1, PoolMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	before(e)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	te := &testEngine{Engine: e, srv: httptest.NewServer(e.Handler()), logs: logs}
	t.Cleanup(func() {
		te.srv.Close()
		_ = e.Shutdown(context.Background())
	})
	return te
}

func TestServices_GoService(t *testing.T) {
	root := writeRoot(t, files{"plugins/gouser/init.lua": pluginSrc("gouser", "", `
local di = require("vbwd.di")
function P.routes(r)
  r:get("/", function(req)
    local calc = assert(di.get("app.calc"))
    local v, e = calc.check(-1)
    return 200, { sum = calc.add(2, 3), sum2 = calc:Add(4, 5), tag = calc.tag("x"), v = v, e = e,
      id = req.request_id }
  end)
end`)})
	te := startEngineBefore(t, root, func(e *Engine) {
		if err := e.Provide("app.calc", calc{}); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]any{"app.calc": calc{}, "nodot": calc{}, "app.nil": nil} {
			if err := e.Provide(name, v); err == nil {
				t.Errorf("Provide(%q) accepted", name)
			}
		}
	})
	r := te.do(t, "GET", "/api/gouser/", "")
	id, _ := r.json["id"].(string)
	if r.status != 200 || r.json["sum"] != 5.0 || r.json["sum2"] != 9.0 || r.json["tag"] != "x:"+id ||
		r.json["v"] != nil || r.json["e"] != "negative" {
		t.Errorf("%d %s", r.status, r.body)
	}
	if err := te.Provide("app.late", calc{}); err == nil {
		t.Error("Provide after Start accepted")
	}
}
