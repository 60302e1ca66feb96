// Package gen holds a plugin's generations and their pools of Lua states:
// building a generation (init.lua, initialize, routes, on_enable in every
// state, the same registrations in each), the on_enable ctx, the calls in
// flight and retirement, populate.lua, and the index of what the serving
// generations registered. It never imports the engine: the engine gives a
// generation its bound host modules and logger (Env) and its limits
// (Limits) when it builds it (engine/genhost.go).
package gen

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/bus"
	"github.com/vbwd-platform/vbwd-engine/engine/egress"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Generation is one loaded version of a plugin: its compiled source, merged
// config, canonical registrations and pool of states. Generations are
// immutable once built; a reload builds a new one beside the old.
type Generation struct {
	Plugin   string
	Number   int64
	Manifest *spec.Manifest
	Config   map[string]any
	LoadedAt time.Time

	// Set by the engine before Build.
	Src    *luavm.Source
	Env    *Env
	Limits Limits
	Logger *slog.Logger

	Pool      *Pool
	Regs      []registry.Registration // canonical, from the first state
	RouteList []registry.Route
	// permissions and exchangers declared by the first state, by key
	Permissions map[string]registry.PermissionDecl
	Exchangers  map[string]admin.ExchangerSpec

	Mux *chi.Mux // its routes, relative to the url_prefix (serve.CompileRoutes); nil without routes
	// RouteServers is the engine's per-route handlers by method and chi
	// pattern (engine/serve: RouteFast); opaque here.
	RouteServers any

	// cancelled is set when retirement gives up waiting (DrainTimeout):
	// every call still running on the generation is interrupted (heldCtx).
	cancelled atomic.Bool

	inflight    atomic.Int64
	retired     atomic.Bool
	drained     chan struct{} // closed once retired with no call in flight
	drainedOnce sync.Once
	// streamsDone is closed when retirement starts: the generation's open
	// event streams (which hold no state, and are not in flight) end with
	// a final event telling the client to reconnect.
	streamsDone chan struct{}
	streamsOnce sync.Once
}

// Env is what every state of a generation is built with: the host modules
// bound to the generation, and its logger.
type Env struct {
	Modules map[string]hostapi.Module
	Logger  *slog.Logger
}

// Limits are the engine options a generation is built and called with.
type Limits struct {
	PoolMin, PoolMax int
	MemoryBudget     int64         // of one call, unless the manifest sets memory_limit_mb
	RequestTimeout   time.Duration // of a build hook and of on_disable
	MaxResponseBytes int64
}

// Build builds the generation's first state (whose registrations become
// canonical) and pre-warms the pool. On error nothing is left open.
func Build(ctx context.Context, g *Generation) (err error) {
	g.drained, g.streamsDone = make(chan struct{}), make(chan struct{})
	if err := g.bindEgress(); err != nil {
		return err
	}
	g.Pool = luavm.NewPool(luavm.PoolConfig{Plugin: g.Plugin, Max: g.Limits.PoolMax, Budget: g.memoryBudget(), Cancelled: &g.cancelled},
		g.BuildState)
	first, err := g.buildFirst(ctx)
	if err != nil {
		return err
	}
	states := []*State{first}
	defer func() {
		if err != nil {
			for _, s := range states {
				s.close()
			}
		}
	}()
	for i := 1; i < min(g.Limits.PoolMin, g.Limits.PoolMax); i++ {
		s, err := g.BuildState(ctx)
		if err != nil {
			return err
		}
		states = append(states, s)
	}
	g.Pool.Warm(states...)
	g.LoadedAt = time.Now()
	return nil
}

func (g *Generation) buildFirst(ctx context.Context) (*State, error) {
	s, rc, err := g.construct(ctx)
	if err != nil {
		return nil, err
	}
	g.Regs, g.RouteList = rc.Regs, rc.Routes
	if err := g.compileRouteSchemas(); err != nil {
		s.close()
		return nil, err
	}
	g.Permissions = map[string]registry.PermissionDecl{}
	g.Exchangers = map[string]admin.ExchangerSpec{}
	for i, r := range rc.Regs {
		switch r.Kind {
		case registry.KindPermission:
			g.Permissions[r.Name] = registry.PermissionFromSpec(s.L, g.Plugin, r.Name, rc.Values[i].(*lua.LTable))
		case registry.KindExchanger:
			spec, _ := bus.ExchangerFromSpec(g.Plugin, rc.Values[i].(*lua.LTable)) // checked at registration
			g.Exchangers[r.Name] = spec
		}
	}
	return s, nil
}

// BuildState builds one more state and checks that it registers exactly what
// the first state registered.
func (g *Generation) BuildState(ctx context.Context) (*State, error) {
	s, rc, err := g.construct(ctx)
	if err != nil {
		return nil, err
	}
	if err := registry.SameRegistrations(g.Regs, rc.Regs); err != nil {
		s.close()
		return nil, &errs.PluginError{Plugin: g.Plugin, File: path.Join(g.Src.RelDir, "init.lua"), Op: "on_enable",
			Err: fmt.Errorf("%w: a new state of the pool %v; registrations must not depend on per-state data (time, random numbers, shared values)", errs.ErrRegMismatch, err)}
	}
	return s, nil
}

// construct builds a state: sandbox, init.lua, initialize(config),
// routes(r), on_enable(ctx), all in the build phase.
func (g *Generation) construct(ctx context.Context) (built *State, rec *registry.Recorder, err error) {
	ctx, cancel := context.WithTimeout(hostapi.WithBuildPhase(ctx), g.Limits.RequestTimeout)
	defer cancel()
	L := luavm.NewSandbox(g.Src, g.Env.Modules, g.Env.Logger)
	s := &State{VM: luavm.VM{L: L}, Gen: g}
	ok := false
	done := luavm.ArmCall(L, g.Plugin, g.memoryBudget())
	L.SetContext(ctx)
	defer func() {
		L.RemoveContext()
		if merr := done(err); merr != nil && ok { // over its memory budget yet no error: never pooled
			built, rec, ok, err = nil, nil, false, &errs.PluginError{Plugin: g.Plugin, File: path.Join(g.Src.RelDir, "init.lua"), Op: "build", Err: merr}
		}
		if !ok {
			L.Close()
		}
	}()
	tbl, err := spec.RunEntry(ctx, L, g.Src)
	if err != nil {
		return nil, nil, err
	}
	s.PluginTable = tbl
	rc := &registry.Recorder{}
	if err := s.callHook(ctx, "initialize", luaconv.FromGo(L, g.Config)); err != nil {
		return nil, nil, err
	}
	if err := s.callHook(ctx, "routes", rc.RouterTable(L)); err != nil {
		return nil, nil, err
	}
	rc.RoutesDone = true
	if err := s.callHook(ctx, "on_enable", s.hookCtx(rc)); err != nil {
		return nil, nil, err
	}
	rc.EnableDone = true
	s.Handlers, s.Values = rc.Handlers, rc.Values
	s.Req.Init(s.L)
	ok = true
	return s, rc, nil
}

// callHook calls plugin.<name>(arg) when the plugin defines it.
func (s *State) callHook(ctx context.Context, name string, arg lua.LValue) error {
	fn, ok := s.PluginTable.RawGetString(name).(*lua.LFunction)
	if !ok {
		return nil
	}
	L := s.L
	if L.Context() == nil { // under Pool.Run or construct, the call's context is set already
		L.SetContext(ctx)
		defer L.RemoveContext()
	}
	L.Push(fn)
	L.Push(arg)
	if err := L.PCall(1, 0, nil); err != nil {
		err = luavm.WithCtxErr(ctx, errs.NormalizeLuaError(s.Gen.Plugin, name, err))
		if pe, ok := err.(*errs.PluginError); ok {
			return pe
		}
		if se, ok := err.(*errs.StatusError); ok {
			err = fmt.Errorf("raised %v", se)
		}
		return &errs.PluginError{Plugin: s.Gen.Plugin, File: path.Join(s.Gen.Src.RelDir, "init.lua"), Op: name, Err: err}
	}
	return nil
}

// memoryBudget is what one call of the plugin may allocate.
func (g *Generation) memoryBudget() int64 {
	if g.Manifest != nil && g.Manifest.MemoryLimit > 0 {
		return g.Manifest.MemoryLimit
	}
	return g.Limits.MemoryBudget
}

// luaConfig converts a generation's config for Lua.
func luaConfig(L *lua.LState, cfg map[string]any) lua.LValue { return luaconv.FromGo(L, cfg) }

// Enter registers an in-flight call; false when the generation is retired
// and the caller must dispatch again through the current router.
func (g *Generation) Enter() bool {
	g.inflight.Add(1)
	if g.retired.Load() {
		g.Leave()
		return false
	}
	return true
}

// Leave ends a call Enter registered.
func (g *Generation) Leave() {
	if g.inflight.Add(-1) == 0 && g.retired.Load() {
		g.drainedOnce.Do(func() { close(g.drained) })
	}
}

// Retire stops new calls, closes the event streams, waits for in-flight
// calls (at most bound; then they are cancelled), runs on_disable once in
// one state, and closes the pool. It returns on_disable's error, if any.
// It never needs the engine lock.
func (g *Generation) Retire(bound time.Duration) error {
	g.retired.Store(true)
	g.streamsOnce.Do(func() { close(g.streamsDone) })
	if g.inflight.Load() == 0 {
		g.drainedOnce.Do(func() { close(g.drained) })
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-g.drained:
	case <-t.C:
		g.Logger.Warn("retiring: in-flight calls outlived the drain timeout; cancelling them",
			"in_flight", g.inflight.Load(), "drain_timeout", bound)
		g.cancelled.Store(true)
	}
	// on_disable runs even after a cancelled drain: in a state of its own
	// context (the generation's is cancelled), bounded like any call.
	ctx, cancel := context.WithTimeout(context.Background(), g.Limits.RequestTimeout)
	defer cancel()
	var hookErr error
	if g.Manifest.HasOnDisable {
		runErr := g.Pool.RunFinal(ctx, func(s *State) error {
			return s.callHook(ctx, "on_disable", s.hookCtx(nil))
		})
		if runErr != nil {
			hookErr = runErr
			g.Logger.Error("on_disable failed", "err", runErr)
		}
	}
	return g.closePool(ctx, hookErr)
}

func (g *Generation) closePool(ctx context.Context, err error) error {
	if cerr := g.Pool.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("closing pool: %w", cerr)
	}
	return err
}

// InFlight is the number of calls running on the generation.
func (g *Generation) InFlight() int64 { return g.inflight.Load() }

// Retired reports whether Retire was called.
func (g *Generation) Retired() bool { return g.retired.Load() }

// StreamsDone is closed when retirement starts: the generation's open event
// streams end.
func (g *Generation) StreamsDone() <-chan struct{} { return g.streamsDone }

// Routes returns the generation's routes as "METHOD /prefix/path", sorted.
func (g *Generation) Routes() []string { return registry.RouteNames(g.Manifest.URLPrefix, g.RouteList) }

// Registrations returns the canonical registrations.
func (g *Generation) Registrations() []registry.Registration {
	return append([]registry.Registration(nil), g.Regs...)
}

// PoolStats returns the pool's counters.
func (g *Generation) PoolStats() PoolStats { return g.Pool.Stats() }

// bindEgress gives the generation's vbwd.http its allow-list (the config's
// http.allow); a malformed list fails the generation, naming config.json.
func (g *Generation) bindEgress() error {
	return egress.Bind(g.Env.Modules["http"], g.Config, g.Plugin, g.Src.RelDir)
}

// compileRouteSchemas loads and compiles the schemas of g's routes, once per
// generation; an error names the r:get(...) line.
func (g *Generation) compileRouteSchemas() error {
	return registry.CompileRouteSchemas(g.Plugin, g.Src.Dir, g.RouteList)
}
