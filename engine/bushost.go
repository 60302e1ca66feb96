package engine

import (
	"context"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/bus"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Events, services and the plugin side of exchangers live in engine/bus;
// it reaches the engine through busHost.

// bus is the engine's bus; a value, made when needed.
func (e *Engine) bus() bus.Bus[regRef] {
	return bus.New(busHost{e}, bus.Config{DB: e.opts.DB, Tracer: e.tracer, Hook: e.opts.EventHook})
}

// eventsModule binds vbwd.events to a plugin generation (DefaultModules).
func (e *Engine) eventsModule(p hostapi.Plugin) hostapi.Module { return e.bus().EventsModule(p) }

// runHandler runs ref's handler of ev (bus.Bus.RunHandler).
func (e *Engine) runHandler(ctx context.Context, ref regRef, ev *bus.Event) (handled bool, err error) {
	return e.bus().RunHandler(ctx, ref, ev)
}

// busHost is the engine as engine/bus sees it (bus.Host).
type busHost struct{ e *Engine }

func (h busHost) Handlers(event string) []regRef { return h.e.index.Load().events[event] }

func (h busHost) CallEvent(ctx context.Context, ref regRef, ev *bus.Event) error {
	return ref.run(ctx, func(s *State, v lua.LValue) error {
		return bus.CallEvent(ctx, s.L, s.gen.Plugin, v.(*lua.LFunction), ev)
	})
}
