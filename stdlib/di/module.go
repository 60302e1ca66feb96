package di

import (
	"context"
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// MaxDepth bounds how many service calls may nest (a -> b -> c ... counts
// the plugins in the chain).
const MaxDepth = 8

// buildPhaseError is raised by di.get during the build phase.
const buildPhaseError = "vbwd.di: di.get is not allowed while the state is being built (module level, initialize, routes, on_enable run once per pooled state): resolve services in handlers"

// ErrNoResolver is returned by a module built without a Resolver.
var ErrNoResolver = errors.New("services are not available here")

// Resolver is what the module needs from the engine, bound to the plugin
// generation the module instance serves.
type Resolver interface {
	// Resolve checks that the bound plugin may use the service name and
	// tells how to reach it. Its error is the reason, e.g. "no service x.y".
	Resolve(name string) (Target, error)
	// Call calls method of the Lua service name with args (plain Go data,
	// copied by the caller) under ctx, the caller's context, and returns
	// the results as plain Go data. A provider's error({status=...})
	// returns a *StatusError.
	Call(ctx context.Context, name, method string, args []any) ([]any, error)
}

// Target says how to reach a resolved service: through Resolver.Call for
// a Lua service (Go is nil), or in the caller's state for a Go service.
type Target struct {
	Go *GoService
}

// StatusError is a provider's error({status = ..., message = ..., ...}),
// raised in the caller as the same kind of table.
type StatusError struct {
	Status  int
	Message string
	Extra   map[string]any
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Message) }

// Module is the vbwd.di module of one plugin generation.
type Module struct {
	r Resolver
}

// New returns the module resolving through r (nil: every di.get answers
// nil and an error; enough to read its Docs).
func New(r Resolver) *Module { return &Module{r: r} }

// Name returns "di".
func (m *Module) Name() string { return "di" }

// Resolver returns the module's resolver.
func (m *Module) Resolver() Resolver { return m.r }

// Loader pushes the module table. Each state loads it once, and gets a
// cache of its own proxies (states are single-threaded).
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 1), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	proxies := map[string]*proxy{}
	return map[string]lua.LGFunction{
		"get": func(L *lua.LState) int { return m.get(L, proxies) },
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "get", Sig: "get(name: string): table?, string?",
			Doc: "a proxy of the service name (own, a declared dependency's, an extension's — a plugin depending on the caller — or Go-provided) whose methods run in the provider with copied arguments and results, or nil and an error; the name is checked on every call, and a state gets the same proxy again while the name resolves to the same provider"},
	}
}

// get implements di.get(name) -> proxy | nil, err. The name is resolved on
// every call (the caller may use it, the provider serves); the proxy of a
// name already resolved to the same target in this state is handed out
// again: a handler calling di.get per request built a table, a metatable,
// three functions and each method's function anew every time.
func (m *Module) get(L *lua.LState, proxies map[string]*proxy) int {
	name := L.CheckString(1)
	if hostapi.InBuildPhase(L) {
		L.RaiseError(buildPhaseError)
	}
	if m.r == nil {
		return fail(L, name, ErrNoResolver)
	}
	t, err := m.r.Resolve(name)
	if err != nil {
		return fail(L, name, err)
	}
	p := proxies[name]
	if p == nil || p.target != t || !p.pristine() {
		p = newProxy(L, m.r, name, t)
		proxies[name] = p
	}
	L.Push(p.self)
	return 1
}

// fail pushes the runtime-failure results nil, err.
func fail(L *lua.LState, name string, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(fmt.Sprintf("di.get(%q): %s", name, err.Error())))
	return 2
}

var _ hostapi.Documented = (*Module)(nil)
