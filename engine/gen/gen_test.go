package gen

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// These tests build generations of a plugin on disk without an engine: no
// host modules, no database. The engine's own tests cover the rest.

const plugin = `local P = { name = "p", version = "1.0.0", url_prefix = "/api/p" }
function P.routes(r)
  r:get("/hello/{name}", function(req) return 200, { hello = req.params.name } end)
end
function P.on_enable(ctx)
  ctx:on("other.happened", function(ev) end)
  ctx:provide("p.greeter", { greet = function(name) return "hi " .. name end })
  ctx:permission("p.read", { description = "Read things", roles = { "admin" } })
end
function P.on_disable(ctx)
  error("on_disable ran for " .. ctx.plugin .. " generation " .. ctx.generation)
end
return P
`

// build builds generation 1 of a plugin whose init.lua is code.
func build(t *testing.T, code string, files map[string]string) (*Generation, error) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "plugins", "p")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files["init.lua"] = code
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := luavm.LoadSource(root, "p")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	g := &Generation{Plugin: "p", Number: 1, Manifest: &spec.Manifest{Name: "p", Version: "1.0.0", URLPrefix: "/api/p", HasOnDisable: true},
		Src: src, Env: &Env{Logger: logger}, Logger: logger,
		Limits: Limits{PoolMin: 2, PoolMax: 2, MemoryBudget: luavm.DefaultMemoryBudget, RequestTimeout: 5 * time.Second}}
	return g, Build(context.Background(), g)
}

func TestBuildRecordsRegistrationsAndIndexesThem(t *testing.T) {
	g, err := build(t, plugin, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Retire(time.Second) }()
	if got := strings.Join(g.Routes(), ","); got != "GET /api/p/hello/{name}" {
		t.Errorf("routes: %s", got)
	}
	if st := g.PoolStats(); st.Size != 2 || st.Idle != 2 {
		t.Errorf("pool: %+v, want 2 states pre-warmed", st)
	}
	ix, err := BuildIndex([]*Generation{g}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Events["other.happened"]) != 1 || !ix.Serving["p"] || ix.Permissions["p.read"].Description != "Read things" {
		t.Errorf("index: %+v", ix)
	}
	ref, ok := ix.Services["p.greeter"]
	if !ok || ref.Name() != "p.greeter" || ref.Registration().Kind != registry.KindService {
		t.Fatalf("service ref %+v, %v", ref, ok)
	}
	var greeting string
	err = ref.Run(context.Background(), func(L *lua.LState, v lua.LValue) error {
		L.Push(v.(*lua.LTable).RawGetString("greet"))
		L.Push(lua.LString("ann"))
		if err := L.PCall(1, 1, nil); err != nil {
			return err
		}
		greeting = L.Get(-1).String()
		L.Pop(1)
		return nil
	})
	if err != nil || greeting != "hi ann" {
		t.Errorf("service call: %q, %v", greeting, err)
	}
}

func TestRetireRunsOnDisableThenRefusesCalls(t *testing.T) {
	g, err := build(t, plugin, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	err = g.Retire(time.Second)
	if err == nil || !strings.Contains(err.Error(), "on_disable ran for p generation 1") {
		t.Errorf("Retire: %v, want on_disable's error", err)
	}
	if g.Enter() || !g.Retired() {
		t.Error("a retired generation accepts calls")
	}
	select {
	case <-g.StreamsDone():
	default:
		t.Error("streams are not told to end")
	}
	ref := Ref{Gen: g, Idx: 0}
	if err := ref.RunState(context.Background(), func(*State, lua.LValue) error { return nil }); !errors.Is(err, errs.ErrRetired) {
		t.Errorf("a call on a retired generation: %v, want ErrRetired", err)
	}
}

// A call still in flight does not hold retirement past its bound: the
// generation is cancelled and on_disable still runs.
func TestRetireIsBoundedByTheDrainTimeout(t *testing.T) {
	g, err := build(t, plugin, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Enter() {
		t.Fatal("a new generation refuses calls")
	}
	defer g.Leave()
	if err := g.Retire(10 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "on_disable ran") {
		t.Errorf("Retire: %v, want on_disable's error", err)
	}
	if g.InFlight() != 1 || !g.cancelled.Load() {
		t.Errorf("in flight %d, cancelled %v", g.InFlight(), g.cancelled.Load())
	}
}

// The ctx of populate.lua (and of on_disable) refuses registrations.
func TestPopulateCtxRefusesRegistrations(t *testing.T) {
	populate := `return function(ctx) ctx:on("p.x", function() end) end`
	g, err := build(t, plugin, map[string]string{"populate.lua": populate})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Retire(time.Second) }()
	err = g.Populate(context.Background(), filepath.Join(g.Src.Dir, "populate.lua"))
	if err == nil || !strings.Contains(err.Error(), "ctx:on: registrations are only allowed in on_enable") {
		t.Errorf("Populate: %v", err)
	}
}

// A build that fails closes what it built and names init.lua.
func TestBuildFailureNamesTheHook(t *testing.T) {
	bad := strings.Replace(plugin, `ctx:on("other.happened"`, `ctx:on("bad name"`, 1)
	_, err := build(t, bad, map[string]string{})
	var pe *errs.PluginError
	if !errors.As(err, &pe) || pe.Op != "on_enable" || !strings.Contains(pe.Error(), "must be <plugin>.<event>") {
		t.Errorf("build: %v", err)
	}
}

// A generation extends the plugins it declares a dependency on; no serving
// generation extends nothing.
func TestExtends(t *testing.T) {
	g := &Generation{Manifest: &spec.Manifest{Dependencies: []spec.Dependency{{Name: "subscription"}}}}
	var none *Generation
	if !g.Extends("subscription") || g.Extends("other") || none.Extends("subscription") {
		t.Error("Extends")
	}
}
