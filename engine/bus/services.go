package bus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
	vdi "github.com/vbwd-platform/vbwd-engine/stdlib/di"
)

// The engine's half of vbwd.di (stdlib/di is the Lua half): resolving a
// service name for a calling plugin (its own services, its declared
// dependencies', its extensions' (engine/gen's extensions.go), the Go
// services), and running a call in the provider's pool. A call is routed
// by name at call time through the registry index (Host.Service), so a
// reload of the provider is picked up by the next call and a call that
// meets a retired generation resolves again. The call carries the caller's
// context (deadline, request metadata, user) plus the chain of plugins it
// went through, which bounds nesting and refuses cycles: pools are small,
// and a -> b -> a could otherwise wait for a state its own caller holds.

// GoServiceMap holds the Go services by name; the engine keeps one behind
// an atomic pointer, replaced (never mutated) by Engine.Provide.
type GoServiceMap = map[string]*vdi.GoService

// goServiceName is the shape of a Go service name: dotted lower-case.
var goServiceName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// NewGoService checks the Go service Engine.Provide offers as name.
func NewGoService(name string, value any) (*vdi.GoService, error) {
	if !goServiceName.MatchString(name) {
		return nil, fmt.Errorf("provide %q: a service name is dotted lower-case, e.g. app.mailer", name)
	}
	gs, err := vdi.NewGoService(value)
	if err != nil {
		return nil, fmt.Errorf("provide %q: %w", name, err)
	}
	return gs, nil
}

// WithGoService returns a copy of old (nil: none yet) with gs added as name.
func WithGoService(old *GoServiceMap, name string, gs *vdi.GoService) (*GoServiceMap, error) {
	if old != nil && (*old)[name] != nil {
		return nil, fmt.Errorf("provide %q: already provided", name)
	}
	m := make(GoServiceMap, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = gs
	return &m, nil
}

// DIModule is the factory of vbwd.di: one module per plugin generation.
func (b Bus[R]) DIModule(p hostapi.Plugin) hostapi.Module {
	return vdi.New(&Binding[R]{b: b, plugin: p.Name})
}

// Binding resolves and calls services for one plugin generation (the
// vbwd.di module's vdi.Resolver).
type Binding[R Ref] struct {
	b        Bus[R]
	plugin   string
	manifest atomic.Pointer[spec.Manifest] // set by Bind when the generation first serves
}

// Bind tells the binding the manifest (dependencies) of the generation it
// belongs to, when the generation first serves; later calls do nothing.
func (b *Binding[R]) Bind(m *spec.Manifest) { b.manifest.CompareAndSwap(nil, m) }

// Resolve implements vdi.Resolver.
func (b *Binding[R]) Resolve(name string) (vdi.Target, error) {
	if gs := b.b.h.GoService(name); gs != nil {
		return vdi.Target{Go: gs}, nil
	}
	owner, _, ok := strings.Cut(name, ".")
	if !ok {
		return vdi.Target{}, fmt.Errorf("no service %s: service names are <plugin>.<name>", name)
	}
	if err := b.mayUse(owner); err != nil {
		return vdi.Target{}, err
	}
	if _, ok := b.b.h.Service(name); !ok {
		return vdi.Target{}, fmt.Errorf("no service %s", name)
	}
	return vdi.Target{}, nil
}

// mayUse checks that the bound plugin may call the services of owner.
func (b *Binding[R]) mayUse(owner string) error {
	if owner == b.plugin {
		return nil
	}
	m := b.manifest.Load()
	if m == nil {
		return fmt.Errorf("plugin %s is not serving", b.plugin)
	}
	for _, d := range m.Dependencies {
		if d.Name == owner {
			return nil
		}
	}
	if b.b.h.ExtendedBy(owner, b.plugin) { // owner is an extension of the caller
		return nil
	}
	return fmt.Errorf("plugin %s does not depend on %s (add %q to dependencies)", b.plugin, owner, owner)
}

// Call implements vdi.Resolver: it runs method of the Lua service name in
// a state of the provider's serving generation.
func (b *Binding[R]) Call(ctx context.Context, name, method string, args []any) (_ []any, err error) {
	owner, _, _ := strings.Cut(name, ".")
	ctx, err = enterCall(ctx, b.plugin, owner)
	if err != nil {
		return nil, err
	}
	ctx, sp := web.StartDI(ctx, b.plugin, name, method) // web/tracing.go; nil when untraced
	defer func() { tracing.End(sp, err) }()
	for range 3 {
		ref, ok := b.b.h.Service(name)
		if !ok {
			return nil, fmt.Errorf("no service %s (plugin %s is not serving it)", name, owner)
		}
		res, err := b.b.h.CallService(ctx, ref, name, method, args)
		if errors.Is(err, errs.ErrRetired) {
			continue // reloaded meanwhile: the index points at the new generation
		}
		return res, err
	}
	return nil, fmt.Errorf("service %s: %w (reloading too often)", name, errs.ErrRetired)
}

// CallService calls method of the service table v in plugin's state L
// with args, and copies the results out as plain data. Host.CallService
// runs it in a state of the provider's generation.
func CallService(ctx context.Context, L *lua.LState, plugin, name, method string, v lua.LValue, args []any) ([]any, error) {
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
		return nil, serviceError(luavm.WithCtxErr(ctx, errs.NormalizeLuaError(plugin, "", err)))
	}
	res := make([]any, L.GetTop()-top)
	for i := range res {
		r, err := luaconv.ToGo(L.Get(top + 1 + i))
		if err != nil {
			return nil, &errs.PluginError{Plugin: plugin, Op: "service " + name + "." + method,
				Err: fmt.Errorf("result %d cannot be copied to the caller: %w", i+1, err)}
		}
		res[i] = r
	}
	return res, nil
}

// serviceError maps a provider's error for the caller: a status error keeps
// its status (the caller re-raises the same kind of table).
func serviceError(err error) error {
	var se *errs.StatusError
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
