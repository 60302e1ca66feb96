package gen

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/bus"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/jobs"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
)

// The registrations on_enable(ctx) makes besides routes: event handlers
// (ctx:on), services (ctx:provide), permissions (ctx:permission) and data
// exchangers (ctx:exchanger). Like routes, they are recorded per state,
// compared across states, and belong to the generation: a new generation
// replaces them all at once and a retired one takes them with it.

// hookCtx is the ctx table passed to on_enable (rc set: registrations
// allowed) and on_disable/populate (rc nil: registering raises).
func (s *State) hookCtx(rc *registry.Recorder) *lua.LTable {
	L := s.L
	t := L.NewTable()
	t.RawSetString("plugin", lua.LString(s.Gen.Plugin))
	t.RawSetString("version", lua.LString(s.Gen.Manifest.Version))
	t.RawSetString("generation", lua.LNumber(s.Gen.Number))
	t.RawSetString("config", luaConfig(L, s.Gen.Config))
	reg := func(kind string, fn func(L *lua.LState) (registry.Registration, lua.LValue)) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			if rc == nil || rc.EnableDone {
				L.RaiseError("ctx:%s: registrations are only allowed in on_enable", registry.KindVerb(kind))
			}
			if L.Get(1) != t {
				L.RaiseError("ctx:%s: call it with a colon: ctx:%s(...)", registry.KindVerb(kind), registry.KindVerb(kind))
			}
			r, v := fn(L)
			if err := rc.Add(r); err != nil {
				L.RaiseError("ctx:%s: %s", registry.KindVerb(kind), err.Error())
			}
			rc.Values = append(rc.Values, v)
			return 0
		})
	}
	plugin := s.Gen.Plugin
	t.RawSetString("on", reg(registry.KindEvent, func(L *lua.LState) (registry.Registration, lua.LValue) {
		name := L.CheckString(2)
		fn := L.CheckFunction(3)
		if !registry.DottedName.MatchString(name) || strings.Contains(name, "*") {
			L.ArgError(2, fmt.Sprintf("event name %q must be <plugin>.<event>", name))
		}
		return registry.Registration{Kind: registry.KindEvent, Name: name}, fn
	}))
	t.RawSetString("provide", reg(registry.KindService, func(L *lua.LState) (registry.Registration, lua.LValue) {
		name := L.CheckString(2)
		tbl := L.CheckTable(3)
		if !strings.HasPrefix(name, plugin+".") || !registry.DottedName.MatchString(name) {
			L.ArgError(2, fmt.Sprintf("service name %q must be %s.<name>", name, plugin))
		}
		return registry.Registration{Kind: registry.KindService, Name: name, Detail: registry.TableKeys(tbl)}, tbl
	}))
	t.RawSetString("permission", reg(registry.KindPermission, func(L *lua.LState) (registry.Registration, lua.LValue) {
		key := L.CheckString(2)
		spec := L.OptTable(3, L.NewTable())
		if !strings.HasPrefix(key, plugin+".") || !registry.DottedName.MatchString(key) || strings.Contains(key, "*") {
			L.ArgError(2, fmt.Sprintf("permission key %q must be %s.<name>", key, plugin))
		}
		d := registry.PermissionFromSpec(L, plugin, key, spec)
		return registry.Registration{Kind: registry.KindPermission, Name: key, Detail: d.Description + "|" + strings.Join(d.Roles, ",")}, spec
	}))
	t.RawSetString("every", reg(registry.KindJob, jobs.Every(plugin)))
	t.RawSetString("exchanger", reg(registry.KindExchanger, func(L *lua.LState) (registry.Registration, lua.LValue) {
		spec := L.CheckTable(2)
		key, _ := spec.RawGetString("key").(lua.LString)
		if !strings.HasPrefix(string(key), plugin+".") || !registry.DottedName.MatchString(string(key)) {
			L.ArgError(2, fmt.Sprintf("exchanger key %q must be %s.<entity>", string(key), plugin))
		}
		if _, err := bus.ExchangerFromSpec(plugin, spec); err != nil {
			L.ArgError(2, err.Error())
		}
		return registry.Registration{Kind: registry.KindExchanger, Name: string(key)}, spec
	}))
	return t
}

// Ref points at one registration of a serving generation. It is what
// engine/bus (bus.Ref) and engine/jobs (jobs.Ref) call.
type Ref struct {
	Gen *Generation
	Idx int // index in the generation's registrations (and each state's values)
}

// RunState runs fn on a state of the generation with the Lua value
// (function or table) that state registered at ref.Idx. It fails with
// ErrRetired when the generation was replaced meanwhile: resolve again.
func (ref Ref) RunState(ctx context.Context, fn func(s *State, v lua.LValue) error) error {
	g := ref.Gen
	if !g.Enter() {
		return errs.ErrRetired
	}
	defer g.Leave()
	return g.Pool.Run(ctx, func(s *State) error { return fn(s, s.Values[ref.Idx]) })
}

// Plugin names the plugin that registered it.
func (ref Ref) Plugin() string { return ref.Gen.Plugin }

// Logger is the generation's logger.
func (ref Ref) Logger() *slog.Logger { return ref.Gen.Logger }

// Registration is what was registered.
func (ref Ref) Registration() registry.Registration { return ref.Gen.Regs[ref.Idx] }

// Name is the registration's name.
func (ref Ref) Name() string { return ref.Gen.Regs[ref.Idx].Name }

// Run runs fn on a state of the generation with the Lua value that state
// registered (RunState); errs.ErrRetired when the generation was replaced.
func (ref Ref) Run(ctx context.Context, fn func(L *lua.LState, v lua.LValue) error) error {
	return ref.RunState(ctx, func(s *State, v lua.LValue) error { return fn(s.L, v) })
}

// Index is an immutable index of the serving generations' registrations,
// rebuilt with the router and swapped atomically.
type Index struct {
	Events      map[string][]Ref // event name -> handlers, by plugin name
	Services    map[string]Ref
	Permissions map[string]registry.PermissionDecl
	Exchangers  map[string]Ref
	Jobs        map[string]Ref
	Grants      registry.Grants // role -> permission patterns
	AdminGrants registry.Grants // the engine's own grants: root config.json vbwd.roles only
	Serving     map[string]bool // plugins with a serving generation
}

// BuildIndex indexes the registrations of gens; roleOverrides is the root
// config.json's vbwd.roles.
func BuildIndex(gens []*Generation, roleOverrides map[string]any) (*Index, error) {
	ix := &Index{Events: map[string][]Ref{}, Services: map[string]Ref{},
		Permissions: map[string]registry.PermissionDecl{}, Exchangers: map[string]Ref{}, Jobs: map[string]Ref{},
		Serving: map[string]bool{}}
	sorted := append([]*Generation(nil), gens...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Plugin < sorted[j].Plugin })
	for _, g := range sorted {
		ix.Serving[g.Plugin] = true
		for i, r := range g.Regs {
			ref := Ref{Gen: g, Idx: i}
			switch r.Kind {
			case registry.KindEvent:
				ix.Events[r.Name] = append(ix.Events[r.Name], ref)
			case registry.KindService:
				ix.Services[r.Name] = ref
			case registry.KindExchanger:
				ix.Exchangers[r.Name] = ref
			case registry.KindJob:
				ix.Jobs[r.Name] = ref
			case registry.KindPermission:
				ix.Permissions[r.Name] = g.Permissions[r.Name]
			}
		}
	}
	var err error
	if ix.Grants, err = registry.BuildGrants(ix.Permissions, roleOverrides); err != nil {
		return ix, err
	}
	ix.AdminGrants = registry.EngineGrants(ix.Grants, roleOverrides)
	return ix, nil
}
