package events

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/stdlib/db"
)

// Messages raised (not returned) by the module.
const (
	buildPhaseError = "vbwd.events: events cannot be emitted or published during initialize/routes/on_enable " +
		"(they run once per pooled state); register handlers with ctx:on there"
	noBusError = "vbwd.events: no event bus configured"
)

// eventName is <plugin>.<event>[.<more>], lower-case.
var eventName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// Bus is what the module needs from the engine: in-process dispatch and the
// durable outbox.
type Bus interface {
	// Emit runs, before returning, the handler every enabled plugin
	// registered for name with ctx:on, each in its own plugin's pool under
	// ctx, with a copy of payload (Go data as made by luaconv.ToGo). A
	// failing handler is reported in the summary, never to the emitter.
	Emit(ctx context.Context, source, name string, payload any) Summary
	// Publish records the event (payload is JSON text) in the outbox for
	// at-least-once delivery and returns its id. With a non-nil tx the row
	// is written in that transaction and commits or rolls back with it;
	// then afterCommit, when not nil, is to be called once tx has committed
	// (it wakes the delivery workers: a NOTIFY in every publishing
	// transaction serialises their commits in PostgreSQL).
	Publish(ctx context.Context, tx pgx.Tx, source, name string, payload []byte) (id string, afterCommit func(), err error)
}

// Summary is what Bus.Emit reports, and events.emit returns as
// {delivered = n, failed = {{plugin = ..., error = ...}, ...}}.
type Summary struct {
	Delivered int       // handlers that returned without error
	Failed    []Failure // handlers that raised or timed out
}

// Failure is one failing handler of an emit.
type Failure struct {
	Plugin string // the plugin whose handler failed
	Error  string // its error, with file:line when the error came from Lua
}

// Options configures the module of one plugin generation.
type Options struct {
	// Plugin is the plugin name: the source of its events, and the prefix
	// its event names must carry.
	Plugin string
}

// Module is the vbwd.events module of one plugin generation.
type Module struct {
	bus  Bus
	opts Options
}

// New returns the module emitting and publishing through bus as plugin
// o.Plugin. With a nil bus (documentation only) every call raises.
func New(bus Bus, o Options) *Module { return &Module{bus: bus, opts: o} }

// Name returns "events".
func (m *Module) Name() string { return "events" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 2), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"emit":    m.emit,
		"publish": m.publish,
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "emit", Sig: "emit(name: string, payload?: any): table", Doc: "run now, in-process, every enabled plugin's handler for the event <plugin>.<event> with a copy of payload and return {delivered = n, failed = {{plugin = ..., error = ...}}}; a failing handler never raises here"},
		{Name: "publish", Sig: "publish(name: string, payload?: any): string?, string?", Doc: "record the event for durable at-least-once delivery by the engine's workers (in the open db.tx, if any, so it commits or rolls back with it) and return its id, or nil and an error"},
	}
}

// emit implements events.emit(name, payload?) -> summary.
func (m *Module) emit(L *lua.LState) int {
	name := m.checkCall(L)
	payload, err := luaconv.ToGo(L.Get(2))
	if err != nil {
		L.ArgError(2, "payload: "+err.Error())
	}
	sum := m.bus.Emit(contextOf(L), m.opts.Plugin, name, payload)
	L.Push(summaryTable(L, sum))
	return 1
}

// publish implements events.publish(name, payload?) -> id | nil, err.
func (m *Module) publish(L *lua.LState) int {
	name := m.checkCall(L)
	payload, err := luaconv.AppendJSONSandboxed(L, L.Get(2))
	if err != nil {
		L.ArgError(2, "payload: "+err.Error())
	}
	id, afterCommit, err := m.bus.Publish(contextOf(L), db.CurrentTx(L), m.opts.Plugin, name, payload)
	if afterCommit != nil && err == nil && !db.AfterCommit(L, wakeKey{}, afterCommit) {
		afterCommit()
	}
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString("vbwd.events: publish " + name + ": " + err.Error()))
		return 2
	}
	L.Push(lua.LString(id))
	return 1
}

// wakeKey keys the wake-up of a publish among a transaction's commit hooks:
// one per transaction, however many events it publishes.
type wakeKey struct{}

// checkCall refuses the build phase and returns argument 1 as an event name
// owned by the module's plugin, raising otherwise.
func (m *Module) checkCall(L *lua.LState) string {
	if hostapi.InBuildPhase(L) {
		L.RaiseError(buildPhaseError)
	}
	if m.bus == nil {
		L.RaiseError(noBusError)
	}
	name := L.CheckString(1)
	if !eventName.MatchString(name) {
		L.ArgError(1, fmt.Sprintf("event name %q must be <plugin>.<event> (lower-case, dotted)", name))
	}
	if !strings.HasPrefix(name, m.opts.Plugin+".") {
		L.ArgError(1, fmt.Sprintf("plugin %s may only emit and publish its own events (%s.<event>), not %q",
			m.opts.Plugin, m.opts.Plugin, name))
	}
	return name
}

// summaryTable converts an emit summary for Lua.
func summaryTable(L *lua.LState, s Summary) *lua.LTable {
	failed := L.CreateTable(len(s.Failed), 0)
	for i, f := range s.Failed {
		ft := L.CreateTable(0, 2)
		ft.RawSetString("plugin", lua.LString(f.Plugin))
		ft.RawSetString("error", lua.LString(f.Error))
		failed.RawSetInt(i+1, ft)
	}
	t := L.CreateTable(0, 2)
	t.RawSetString("delivered", lua.LNumber(s.Delivered))
	t.RawSetString("failed", luaconv.MarkArray(failed))
	return t
}

// contextOf is the context of the call L is serving: its deadline and
// request id go with the event to the handlers.
func contextOf(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

var _ hostapi.Documented = (*Module)(nil)
