package engine

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
)

// Generation is one loaded version of a plugin: its compiled source, merged
// config, canonical registrations and pool of states. Generations are
// immutable once built; a reload builds a new one beside the old.
type Generation struct {
	Plugin   string
	Number   int64
	Manifest *Manifest
	Config   map[string]any
	LoadedAt time.Time

	src    *luavm.Source
	env    *stateEnv
	opts   *Options
	logger *slog.Logger
	pool   *Pool
	regs   []Registration // canonical, from the first state
	routes []Route
	// permissions and exchangers declared by the first state, by key
	permissions map[string]PermissionDecl
	exchangers  map[string]ExchangerSpec

	mux *chi.Mux // its routes, relative to the url_prefix (compileRoutes); nil without routes
	// routeServers are its routes' handlers by method and chi pattern (router.go: routeFast)
	routeServers map[routeKey]*routeServer

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

// stateEnv is what every state of a generation is built with.
type stateEnv struct {
	modules map[string]hostapi.Module
	logger  *slog.Logger
}

// newGeneration builds the generation's first state (whose registrations
// become canonical) and pre-warms the pool. On error nothing is left open.
func newGeneration(ctx context.Context, g *Generation) (err error) {
	g.drained, g.streamsDone = make(chan struct{}), make(chan struct{})
	if err := g.bindEgress(); err != nil {
		return err
	}
	g.pool = luavm.NewPool(luavm.PoolConfig{Plugin: g.Plugin, Max: g.opts.PoolMax, Budget: g.memoryBudget(), Cancelled: &g.cancelled},
		g.buildState)
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
	for i := 1; i < min(g.opts.PoolMin, g.opts.PoolMax); i++ {
		s, err := g.buildState(ctx)
		if err != nil {
			return err
		}
		states = append(states, s)
	}
	g.pool.Warm(states...)
	g.LoadedAt = time.Now()
	return nil
}

func (g *Generation) buildFirst(ctx context.Context) (*State, error) {
	s, rc, err := g.construct(ctx)
	if err != nil {
		return nil, err
	}
	g.regs, g.routes = rc.Regs, rc.Routes
	if err := g.compileRouteSchemas(); err != nil {
		s.close()
		return nil, err
	}
	g.permissions = map[string]PermissionDecl{}
	g.exchangers = map[string]ExchangerSpec{}
	for i, r := range rc.Regs {
		switch r.Kind {
		case KindPermission:
			g.permissions[r.Name] = registry.PermissionFromSpec(s.L, g.Plugin, r.Name, rc.Values[i].(*lua.LTable))
		case KindExchanger:
			spec, _ := exchangerFromSpec(g.Plugin, rc.Values[i].(*lua.LTable)) // checked at registration
			g.exchangers[r.Name] = spec
		}
	}
	return s, nil
}

// buildState builds one more state and checks that it registers exactly what
// the first state registered.
func (g *Generation) buildState(ctx context.Context) (*State, error) {
	s, rc, err := g.construct(ctx)
	if err != nil {
		return nil, err
	}
	if err := registry.SameRegistrations(g.regs, rc.Regs); err != nil {
		s.close()
		return nil, &PluginError{Plugin: g.Plugin, File: path.Join(g.src.RelDir, "init.lua"), Op: "on_enable",
			Err: fmt.Errorf("%w: a new state of the pool %v; registrations must not depend on per-state data (time, random numbers, shared values)", ErrRegMismatch, err)}
	}
	return s, nil
}

// construct builds a state: sandbox, init.lua, initialize(config),
// routes(r), on_enable(ctx), all in the build phase.
func (g *Generation) construct(ctx context.Context) (built *State, rec *registry.Recorder, err error) {
	ctx, cancel := context.WithTimeout(hostapi.WithBuildPhase(ctx), g.opts.RequestTimeout)
	defer cancel()
	L := luavm.NewSandbox(g.src, g.env.modules, g.env.logger)
	s := &State{VM: luavm.VM{L: L}, gen: g}
	ok := false
	done := luavm.ArmCall(L, g.Plugin, g.memoryBudget())
	L.SetContext(ctx)
	defer func() {
		L.RemoveContext()
		if merr := done(err); merr != nil && ok { // over its memory budget yet no error: never pooled
			built, rec, ok, err = nil, nil, false, &PluginError{Plugin: g.Plugin, File: path.Join(g.src.RelDir, "init.lua"), Op: "build", Err: merr}
		}
		if !ok {
			L.Close()
		}
	}()
	tbl, err := spec.RunEntry(ctx, L, g.src)
	if err != nil {
		return nil, nil, err
	}
	s.plugin = tbl
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
	s.handlers, s.values = rc.Handlers, rc.Values
	s.req.Init(s.L)
	ok = true
	return s, rc, nil
}

// callHook calls plugin.<name>(arg) when the plugin defines it.
func (s *State) callHook(ctx context.Context, name string, arg lua.LValue) error {
	fn, ok := s.plugin.RawGetString(name).(*lua.LFunction)
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
		err = luavm.WithCtxErr(ctx, normalizeLuaError(s.gen.Plugin, name, err))
		if pe, ok := err.(*PluginError); ok {
			return pe
		}
		if se, ok := err.(*StatusError); ok {
			err = fmt.Errorf("raised %v", se)
		}
		return &PluginError{Plugin: s.gen.Plugin, File: path.Join(s.gen.src.RelDir, "init.lua"), Op: name, Err: err}
	}
	return nil
}

// memoryBudget is what one call of the plugin may allocate.
func (g *Generation) memoryBudget() int64 {
	if g.Manifest != nil && g.Manifest.MemoryLimit > 0 {
		return g.Manifest.MemoryLimit
	}
	return g.opts.MemoryBudget
}

// luaConfig converts a generation's config for Lua.
func luaConfig(L *lua.LState, cfg map[string]any) lua.LValue { return luaconv.FromGo(L, cfg) }

// enter registers an in-flight call; false when the generation is retired
// and the caller must dispatch again through the current router.
func (g *Generation) enter() bool {
	g.inflight.Add(1)
	if g.retired.Load() {
		g.leave()
		return false
	}
	return true
}

func (g *Generation) leave() {
	if g.inflight.Add(-1) == 0 && g.retired.Load() {
		g.drainedOnce.Do(func() { close(g.drained) })
	}
}

// retire stops new calls, closes the event streams, waits for in-flight
// calls (at most bound; then they are cancelled), runs on_disable once in
// one state, and closes the pool. It returns on_disable's error, if any.
// It never needs the engine lock.
func (g *Generation) retire(bound time.Duration) error {
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
		g.logger.Warn("retiring: in-flight calls outlived the drain timeout; cancelling them",
			"in_flight", g.inflight.Load(), "drain_timeout", bound)
		g.cancelled.Store(true)
	}
	// on_disable runs even after a cancelled drain: in a state of its own
	// context (the generation's is cancelled), bounded like any call.
	ctx, cancel := context.WithTimeout(context.Background(), g.opts.RequestTimeout)
	defer cancel()
	var hookErr error
	if g.Manifest.HasOnDisable {
		runErr := g.pool.RunFinal(ctx, func(s *State) error {
			return s.callHook(ctx, "on_disable", s.hookCtx(nil))
		})
		if runErr != nil {
			hookErr = runErr
			g.logger.Error("on_disable failed", "err", runErr)
		}
	}
	return g.closePool(ctx, hookErr)
}

func (g *Generation) closePool(ctx context.Context, err error) error {
	if cerr := g.pool.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("closing pool: %w", cerr)
	}
	return err
}

// Routes returns the generation's routes as "METHOD /prefix/path", sorted.
func (g *Generation) Routes() []string { return registry.RouteNames(g.Manifest.URLPrefix, g.routes) }

// Registrations returns the canonical registrations.
func (g *Generation) Registrations() []Registration {
	return append([]Registration(nil), g.regs...)
}

// PoolStats returns the pool's counters.
func (g *Generation) PoolStats() PoolStats { return g.pool.Stats() }
