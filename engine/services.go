package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
	vdi "github.com/vbwd-platform/vbwd-engine/stdlib/di"
)

// The engine's half of vbwd.di (stdlib/di is the Lua half): resolving a
// service name for a calling plugin (its own services, its declared
// dependencies', its extensions' (extensions.go), the Go services), and running a call in the provider's
// pool. A call is routed by name at call time through the registry index,
// so a reload of the provider is picked up by the next call and a call that
// meets a retired generation resolves again. The call carries the caller's
// context (deadline, request metadata, user) plus the chain of plugins it
// went through, which bounds nesting and refuses cycles: pools are small,
// and a -> b -> a could otherwise wait for a state its own caller holds.

// goServiceMap holds the Go services by name; Engine.goServices points at
// one, replaced (never mutated) by Provide.
type goServiceMap = map[string]*vdi.GoService

// goServiceName is the shape of a Go service name: dotted lower-case.
var goServiceName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// Provide offers a Go value to every plugin as the service name (dotted
// lower-case, e.g. "app.mailer"), resolved with di.get like a Lua service.
// Lua sees only the value's exported methods, by Go name and snake_case
// name, through gopher-luar (about 6x slower per call than the engine's
// hand-written bindings: fine for an embedding program's services, not for
// hot paths). A method whose first parameter is a context.Context receives
// the calling Lua code's context (deadline, request metadata); a trailing
// error result reaches Lua as nil, message. Call Provide before Start; the
// value must be safe for concurrent use, since every plugin state may call
// it at once. A Go service shadows a plugin service of the same name, so
// pick a prefix that no plugin uses.
func (e *Engine) Provide(name string, value any) error {
	if !goServiceName.MatchString(name) {
		return fmt.Errorf("provide %q: a service name is dotted lower-case, e.g. app.mailer", name)
	}
	gs, err := vdi.NewGoService(value)
	if err != nil {
		return fmt.Errorf("provide %q: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return fmt.Errorf("provide %q: the engine is started; provide Go services before Start", name)
	}
	old := e.goSvcs.Load()
	if old != nil && (*old)[name] != nil {
		return fmt.Errorf("provide %q: already provided", name)
	}
	m := make(goServiceMap, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = gs
	e.goSvcs.Store(&m)
	return nil
}

// diModule is the factory of vbwd.di: one module per plugin generation.
func (e *Engine) diModule(p hostapi.Plugin) hostapi.Module {
	return vdi.New(&serviceBinding{e: e, plugin: p.Name})
}

// bindServices tells every serving generation's vbwd.di module which
// generation it belongs to, for that generation's manifest (dependencies).
// It runs under e.mu whenever the serving set changes.
func (e *Engine) bindServices(gens []*Generation) {
	for _, g := range gens {
		if m, ok := g.env.modules["di"].(*vdi.Module); ok {
			if b, ok := m.Resolver().(*serviceBinding); ok {
				b.gen.CompareAndSwap(nil, g)
			}
		}
	}
}

// serviceBinding resolves and calls services for one plugin generation.
type serviceBinding struct {
	e      *Engine
	plugin string
	gen    atomic.Pointer[Generation] // set by bindServices when the generation first serves
}

// Resolve implements vdi.Resolver.
func (b *serviceBinding) Resolve(name string) (vdi.Target, error) {
	if gs := b.e.goService(name); gs != nil {
		return vdi.Target{Go: gs}, nil
	}
	owner, _, ok := strings.Cut(name, ".")
	if !ok {
		return vdi.Target{}, fmt.Errorf("no service %s: service names are <plugin>.<name>", name)
	}
	if err := b.mayUse(owner); err != nil {
		return vdi.Target{}, err
	}
	if _, ok := b.e.index.Load().services[name]; !ok {
		return vdi.Target{}, fmt.Errorf("no service %s", name)
	}
	return vdi.Target{}, nil
}

// mayUse checks that the bound plugin may call the services of owner.
func (b *serviceBinding) mayUse(owner string) error {
	if owner == b.plugin {
		return nil
	}
	g := b.gen.Load()
	if g == nil {
		return fmt.Errorf("plugin %s is not serving", b.plugin)
	}
	for _, d := range g.Manifest.Dependencies {
		if d.Name == owner {
			return nil
		}
	}
	if b.e.extendedBy(owner, b.plugin) { // owner is an extension of the caller (extensions.go)
		return nil
	}
	return fmt.Errorf("plugin %s does not depend on %s (add %q to dependencies)", b.plugin, owner, owner)
}

func (e *Engine) goService(name string) *vdi.GoService {
	if m := e.goSvcs.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// Call implements vdi.Resolver: it runs method of the Lua service name in
// a state of the provider's serving generation.
func (b *serviceBinding) Call(ctx context.Context, name, method string, args []any) (_ []any, err error) {
	owner, _, _ := strings.Cut(name, ".")
	ctx, err = enterCall(ctx, b.plugin, owner)
	if err != nil {
		return nil, err
	}
	ctx, sp := web.StartDI(ctx, b.plugin, name, method) // web/tracing.go; nil when untraced
	defer func() { tracing.End(sp, err) }()
	for range 3 {
		ref, ok := b.e.index.Load().services[name]
		if !ok {
			return nil, fmt.Errorf("no service %s (plugin %s is not serving it)", name, owner)
		}
		var res []any
		err := ref.run(ctx, func(s *State, v lua.LValue) error {
			var err error
			res, err = s.callService(ctx, name, method, v, args)
			return err
		})
		if errors.Is(err, ErrRetired) {
			continue // reloaded meanwhile: the index points at the new generation
		}
		return res, err
	}
	return nil, fmt.Errorf("service %s: %w (reloading too often)", name, ErrRetired)
}

// callService calls method of the service table v in s with args, and
// copies the results out as plain data.
func (s *State) callService(ctx context.Context, name, method string, v lua.LValue, args []any) ([]any, error) {
	L := s.L
	tbl, _ := v.(*lua.LTable)
	if tbl == nil {
		return nil, fmt.Errorf("service %s is not a table", name)
	}
	fn, ok := tbl.RawGetString(method).(*lua.LFunction)
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
		return nil, serviceError(luavm.WithCtxErr(ctx, normalizeLuaError(s.gen.Plugin, "", err)))
	}
	res := make([]any, L.GetTop()-top)
	for i := range res {
		r, err := luaconv.ToGo(L.Get(top + 1 + i))
		if err != nil {
			return nil, &PluginError{Plugin: s.gen.Plugin, Op: "service " + name + "." + method,
				Err: fmt.Errorf("result %d cannot be copied to the caller: %w", i+1, err)}
		}
		res[i] = r
	}
	return res, nil
}

// serviceError maps a provider's error for the caller: a status error keeps
// its status (the caller re-raises the same kind of table).
func serviceError(err error) error {
	var se *StatusError
	if errors.As(err, &se) {
		return &vdi.StatusError{Status: se.Status, Message: se.Message, Extra: se.Extra}
	}
	return err
}

// callChainKey keys the chain of plugins a service call went through.
type callChainKey struct{}

// enterCall derives the context of a call from caller to a service of
// provider: it refuses a cycle (a provider already in the chain, except one
// direct self-call a -> a) and a chain deeper than vdi.MaxDepth.
func enterCall(ctx context.Context, caller, provider string) (context.Context, error) {
	chain, _ := ctx.Value(callChainKey{}).([]string)
	if len(chain) == 0 || chain[len(chain)-1] != caller {
		chain = append(chain[:len(chain):len(chain)], caller)
	}
	next := append(chain[:len(chain):len(chain)], provider)
	for i, p := range chain {
		selfCall := i == len(chain)-1 && p == caller && (i == 0 || chain[i-1] != caller)
		if p == provider && !selfCall {
			return nil, fmt.Errorf("service call cycle: %s", strings.Join(next, " -> "))
		}
	}
	if len(next) > vdi.MaxDepth {
		return nil, fmt.Errorf("service call depth exceeds %d: %s", vdi.MaxDepth, strings.Join(next, " -> "))
	}
	return context.WithValue(ctx, callChainKey{}, next), nil
}

var _ vdi.Resolver = (*serviceBinding)(nil)
