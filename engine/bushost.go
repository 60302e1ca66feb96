package engine

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/bus"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vdi "github.com/vbwd-platform/vbwd-engine/stdlib/di"
)

// Events, services and the plugin side of exchangers live in engine/bus;
// it reaches the engine through busHost.

// bus is the engine's bus; a value, made when needed.
func (e *Engine) bus() bus.Bus[regRef] {
	return bus.New(busHost{e}, bus.Config{DB: e.opts.DB, Tracer: e.tracer, Hook: e.opts.EventHook, Wake: &e.wakeEvents})
}

// eventsModule binds vbwd.events to a plugin generation (DefaultModules).
func (e *Engine) eventsModule(p hostapi.Plugin) hostapi.Module { return e.bus().EventsModule(p) }

// runHandler runs ref's handler of ev (bus.Bus.RunHandler).
func (e *Engine) runHandler(ctx context.Context, ref regRef, ev *bus.Event) (handled bool, err error) {
	return e.bus().RunHandler(ctx, ref, ev)
}

// busHost is the engine as engine/bus sees it (bus.Host).
type busHost struct{ e *Engine }

func (h busHost) Handlers(event string) []regRef { return h.e.index.Load().Events[event] }

func (h busHost) CallEvent(ctx context.Context, ref regRef, ev *bus.Event) error {
	return ref.RunState(ctx, func(s *State, v lua.LValue) error {
		return bus.CallEvent(ctx, s.L, s.Gen.Plugin, v.(*lua.LFunction), ev)
	})
}

// goServiceMap holds the Go services by name (e.goSvcs).
type goServiceMap = bus.GoServiceMap

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
	gs, err := bus.NewGoService(name, value)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return fmt.Errorf("provide %q: the engine is started; provide Go services before Start", name)
	}
	m, err := bus.WithGoService(e.goSvcs.Load(), name, gs)
	if err != nil {
		return err
	}
	e.goSvcs.Store(m)
	return nil
}

// diModule is the factory of vbwd.di: one module per plugin generation.
func (e *Engine) diModule(p hostapi.Plugin) hostapi.Module { return e.bus().DIModule(p) }

func (h busHost) Service(name string) (regRef, bool) {
	ref, ok := h.e.index.Load().Services[name]
	return ref, ok
}

func (h busHost) GoService(name string) *vdi.GoService {
	if m := h.e.goSvcs.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// ExtendedBy: whether the serving generation of owner declares a
// dependency on plugin (engine/gen's extensions.go).
func (h busHost) ExtendedBy(owner, plugin string) bool { return h.e.servingGen(owner).Extends(plugin) }

func (h busHost) CallService(ctx context.Context, ref regRef, name, method string, args []any) ([]any, error) {
	var res []any
	err := ref.RunState(ctx, func(s *State, v lua.LValue) error {
		var err error
		res, err = bus.CallService(ctx, s.L, s.Gen.Plugin, name, method, v, args)
		return err
	})
	return res, err
}

// exchanger is the serving exchanger ref as engine/admin uses it.
func (e *Engine) exchanger(ref regRef) admin.Exchanger {
	return e.bus().Exchanger(ref, ref.Gen.Exchangers[ref.Name()])
}

func (h busHost) PluginPool(plugin string) (*pgxpool.Pool, error) {
	return h.e.build.PluginPool(plugin)
}
