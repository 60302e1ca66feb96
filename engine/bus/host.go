// Package bus carries the calls between plugins and into them: events
// (events.emit runs the handlers at once, events.publish writes the outbox
// that engine/outbox delivers from), services (vbwd.di) and the plugin side
// of data exchangers. It reaches the engine through Host and never imports
// it.
package bus

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"
	"go.opentelemetry.io/otel/trace"

	vdi "github.com/vbwd-platform/vbwd-engine/stdlib/di"
)

// Ref is one serving registration of a plugin generation (the engine's
// registry reference). Two Refs are equal when they are the same
// registration of the same generation.
type Ref interface {
	comparable
	// Plugin names the plugin that registered it.
	Plugin() string
	// Logger is the generation's logger.
	Logger() *slog.Logger
	// Run runs fn on a state of the generation with the Lua value (function
	// or table) that state registered; errs.ErrRetired when the generation
	// was replaced meanwhile: resolve again.
	Run(ctx context.Context, fn func(L *lua.LState, v lua.LValue) error) error
}

// Host is what the bus needs of the engine: the serving registrations,
// found through the engine's registry index.
type Host[R Ref] interface {
	// Handlers lists the serving handlers of the event name, by plugin
	// name; the slice is not modified.
	Handlers(event string) []R
	// CallEvent runs CallEvent in a state of ref's generation, with the
	// handler that state registered. (The calls of hot paths are the
	// host's, not closures handed to Ref.Run: a closure passed through an
	// interface escapes to the heap, one passed to a known function does
	// not.)
	CallEvent(ctx context.Context, ref R, ev *Event) error

	// Service finds the serving registration of the service name.
	Service(name string) (R, bool)
	// GoService finds the Go service name (Engine.Provide); nil: none.
	GoService(name string) *vdi.GoService
	// ExtendedBy reports whether the serving generation of owner declares
	// a dependency on plugin (owner is one of plugin's extensions).
	ExtendedBy(owner, plugin string) bool
	// CallService runs CallService in a state of ref's generation, with
	// the service table that state registered.
	CallService(ctx context.Context, ref R, name, method string, args []any) ([]any, error)

	// PluginPool is where plugin's SQL runs (an exchanger's import).
	PluginPool(plugin string) (*pgxpool.Pool, error)
}

// Config is what the bus reads of the engine's options.
type Config struct {
	DB     *pgxpool.Pool   // nil: publish fails, emit works
	Tracer trace.Tracer    // nil when tracing is off
	Hook   func(EventSeen) // Options.EventHook; nil: none
	// Wake holds what wakes this engine's delivery workers (engine/outbox),
	// once they run; while it holds nil (no workers, or not started yet)
	// Publish notifies every engine instead. Read at each publish: a
	// generation keeps the bus it was built with.
	Wake *atomic.Pointer[func()]
}

// Bus is the engine's calls between plugins. It is a value: the engine
// makes one when it needs it.
type Bus[R Ref] struct {
	h Host[R]
	c Config
}

// New makes the bus of an engine.
func New[R Ref](h Host[R], c Config) Bus[R] { return Bus[R]{h: h, c: c} }
