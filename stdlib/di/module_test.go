package di

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// providerSrc defines the Lua services of the fake provider: its own state,
// as a provider's pool state would be.
const providerSrc = `
local cache = { hits = 0, list = { 1, 2, 3 } }
return {
  ["deck.cards"] = {
    echo = function(...) return ... end,
    count = function(...) return select("#", ...) end,
    cache = function() cache.hits = cache.hits + 1; return cache end,
    hits = function() return cache.hits end,
    lookup = function(id) if id == 0 then return nil, "no card 0" end return { id = id } end,
    denied = function() error({ status = 403, message = "not yours", code = "owner" }) end,
    boom = function() error("boom") end,
    fn = function() return function() end end,
    request_id = function() return ctx_request_id() end,
  },
}
`

// fakeResolver stands in for the engine: "deck.*" services live in the
// provider state, "app.*" ones are Go services, anything else is refused.
type fakeResolver struct {
	mu       sync.Mutex
	provider *lua.LState
	services *lua.LTable
	goSvcs   map[string]*GoService
}

func newFakeResolver(t *testing.T) *fakeResolver {
	L := lua.NewState()
	t.Cleanup(L.Close)
	L.SetGlobal("ctx_request_id", L.NewFunction(func(L *lua.LState) int {
		if r := hostapi.RequestOf(L); r != nil {
			L.Push(lua.LString(r.ID))
			return 1
		}
		return 0
	}))
	if err := L.DoString(providerSrc); err != nil {
		t.Fatal(err)
	}
	f := &fakeResolver{provider: L, services: L.Get(-1).(*lua.LTable), goSvcs: map[string]*GoService{}}
	L.Pop(1)
	for name, v := range map[string]any{"app.calc": &calc{}, "app.fielded": &fielded{Secret: "s"}} {
		gs, err := NewGoService(v)
		if err != nil {
			t.Fatal(err)
		}
		f.goSvcs[name] = gs
	}
	return f
}

func (f *fakeResolver) Resolve(name string) (Target, error) {
	if gs := f.goSvcs[name]; gs != nil {
		return Target{Go: gs}, nil
	}
	if strings.HasPrefix(name, "other.") {
		return Target{}, errors.New("plugin test does not depend on other (add \"other\" to dependencies)")
	}
	if f.services.RawGetString(name) == lua.LNil {
		return Target{}, fmt.Errorf("no service %s", name)
	}
	return Target{}, nil
}

func (f *fakeResolver) Call(ctx context.Context, name, method string, args []any) ([]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	L := f.provider
	L.SetContext(ctx)
	defer L.RemoveContext()
	fn, ok := f.services.RawGetString(name).(*lua.LTable).RawGetString(method).(*lua.LFunction)
	if !ok {
		return nil, fmt.Errorf("service %s has no method %s", name, method)
	}
	top := L.GetTop()
	defer L.SetTop(top)
	L.Push(fn)
	for _, a := range args {
		L.Push(luaconv.FromGo(L, a))
	}
	if err := L.PCall(len(args), lua.MultRet, nil); err != nil {
		var api *lua.ApiError
		if errors.As(err, &api) {
			if t, ok := api.Object.(*lua.LTable); ok {
				extra, _ := luaconv.ToGo(t)
				m := extra.(map[string]any)
				st, _ := m["status"].(int64)
				msg, _ := m["message"].(string)
				delete(m, "status")
				delete(m, "message")
				return nil, &StatusError{Status: int(st), Message: msg, Extra: m}
			}
		}
		return nil, err
	}
	res := make([]any, L.GetTop()-top)
	for i := range res {
		v, err := luaconv.ToGo(L.Get(top + 1 + i))
		if err != nil {
			return nil, fmt.Errorf("result %d: %w", i+1, err)
		}
		res[i] = v
	}
	return res, nil
}

// calc is a Go service.
type calc struct{ calls int }

func (c *calc) Add(a, b int) int { c.calls++; return a + b }

func (c *calc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}

func (c *calc) RequestID(ctx context.Context, prefix string) string {
	if r := hostapi.RequestFrom(ctx); r != nil {
		return prefix + r.ID
	}
	return prefix + "none"
}

func (c *calc) Panic() { panic("went wrong") }

// fielded has a field Lua must not see.
type fielded struct{ Secret string }

func (f *fielded) Name() string { return "fielded" }

func TestLua(t *testing.T) {
	luatest.Run(t, "testdata", New(newFakeResolver(t)), renamed{New(nil), "di_none"})
}

// renamed installs a module under another name.
type renamed struct {
	hostapi.Module
	name string
}

func (r renamed) Name() string { return r.name }

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(nil), "get")
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"IsActive": "is_active", "UserID": "user_id", "HTTPStatus": "http_status",
		"Get": "get", "ID": "id", "Get2FA": "get2_fa", "already_snake": "already_snake",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewGoService_refusals(t *testing.T) {
	var nilCalc *calc
	for name, v := range map[string]any{"nil": nil, "nil pointer": nilCalc, "no methods": struct{ A int }{}} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewGoService(v); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// A proxy is reused only while the name resolves to the same target: a Go
// service provided anew (another value) gets a new proxy, bound to it.
func TestGet_NewTargetNewProxy(t *testing.T) {
	f := newFakeResolver(t)
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("vbwd.di", New(f).Loader)
	if err := L.DoString(`di = require("vbwd.di"); first = di.get("app.calc"); assert(first.add(1, 2) == 3)`); err != nil {
		t.Fatal(err)
	}
	gs, err := NewGoService(&calc{})
	if err != nil {
		t.Fatal(err)
	}
	f.goSvcs["app.calc"] = gs
	if err := L.DoString(`local second = di.get("app.calc")
assert(not rawequal(first, second), "the old target's proxy was handed out")
assert(second.add(2, 2) == 4)
assert(rawequal(second, di.get("app.calc")))`); err != nil {
		t.Fatal(err)
	}
	if c := gs.value.Interface().(*calc); c.calls != 1 {
		t.Fatalf("the new service value ran %d calls, want 1", c.calls)
	}
}
