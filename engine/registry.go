package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

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
	t.RawSetString("plugin", lua.LString(s.gen.Plugin))
	t.RawSetString("version", lua.LString(s.gen.Manifest.Version))
	t.RawSetString("generation", lua.LNumber(s.gen.Number))
	t.RawSetString("config", luaConfig(L, s.gen.Config))
	reg := func(kind string, fn func(L *lua.LState) (Registration, lua.LValue)) *lua.LFunction {
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
	plugin := s.gen.Plugin
	t.RawSetString("on", reg(KindEvent, func(L *lua.LState) (Registration, lua.LValue) {
		name := L.CheckString(2)
		fn := L.CheckFunction(3)
		if !registry.DottedName.MatchString(name) || strings.Contains(name, "*") {
			L.ArgError(2, fmt.Sprintf("event name %q must be <plugin>.<event>", name))
		}
		return Registration{Kind: KindEvent, Name: name}, fn
	}))
	t.RawSetString("provide", reg(KindService, func(L *lua.LState) (Registration, lua.LValue) {
		name := L.CheckString(2)
		tbl := L.CheckTable(3)
		if !strings.HasPrefix(name, plugin+".") || !registry.DottedName.MatchString(name) {
			L.ArgError(2, fmt.Sprintf("service name %q must be %s.<name>", name, plugin))
		}
		return Registration{Kind: KindService, Name: name, Detail: registry.TableKeys(tbl)}, tbl
	}))
	t.RawSetString("permission", reg(KindPermission, func(L *lua.LState) (Registration, lua.LValue) {
		key := L.CheckString(2)
		spec := L.OptTable(3, L.NewTable())
		if !strings.HasPrefix(key, plugin+".") || !registry.DottedName.MatchString(key) || strings.Contains(key, "*") {
			L.ArgError(2, fmt.Sprintf("permission key %q must be %s.<name>", key, plugin))
		}
		d := registry.PermissionFromSpec(L, plugin, key, spec)
		return Registration{Kind: KindPermission, Name: key, Detail: d.Description + "|" + strings.Join(d.Roles, ",")}, spec
	}))
	t.RawSetString("every", reg(KindJob, everyFn(plugin)))
	t.RawSetString("exchanger", reg(KindExchanger, func(L *lua.LState) (Registration, lua.LValue) {
		spec := L.CheckTable(2)
		key, _ := spec.RawGetString("key").(lua.LString)
		if !strings.HasPrefix(string(key), plugin+".") || !registry.DottedName.MatchString(string(key)) {
			L.ArgError(2, fmt.Sprintf("exchanger key %q must be %s.<entity>", string(key), plugin))
		}
		if _, err := exchangerFromSpec(plugin, spec); err != nil {
			L.ArgError(2, err.Error())
		}
		return Registration{Kind: KindExchanger, Name: string(key)}, spec
	}))
	return t
}

// regRef points at one registration of a serving generation.
type regRef struct {
	gen *Generation
	idx int // index in the generation's registrations (and each state's values)
}

// runRegistered runs fn on a state of the generation with the Lua value
// (function or table) that state registered at ref.idx. It fails with
// ErrRetired when the generation was replaced meanwhile: resolve again.
func (ref regRef) run(ctx context.Context, fn func(s *State, v lua.LValue) error) error {
	g := ref.gen
	if !g.enter() {
		return ErrRetired
	}
	defer g.leave()
	return g.pool.Run(ctx, func(s *State) error { return fn(s, s.values[ref.idx]) })
}

// registryIndex is an immutable index of the serving generations'
// registrations, rebuilt with the router and swapped atomically.
type registryIndex struct {
	events      map[string][]regRef // event name -> handlers, by plugin name
	services    map[string]regRef
	permissions map[string]PermissionDecl
	exchangers  map[string]regRef
	jobs        map[string]regRef
	grants      registry.Grants // role -> permission patterns
	adminGrants registry.Grants // the engine's own grants: root config.json vbwd.roles only
	serving     map[string]bool // plugins with a serving generation
}

func buildIndex(gens []*Generation, roleOverrides map[string]any) (*registryIndex, error) {
	ix := &registryIndex{events: map[string][]regRef{}, services: map[string]regRef{},
		permissions: map[string]PermissionDecl{}, exchangers: map[string]regRef{}, jobs: map[string]regRef{},
		serving: map[string]bool{}}
	sorted := append([]*Generation(nil), gens...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Plugin < sorted[j].Plugin })
	for _, g := range sorted {
		ix.serving[g.Plugin] = true
		for i, r := range g.regs {
			ref := regRef{gen: g, idx: i}
			switch r.Kind {
			case KindEvent:
				ix.events[r.Name] = append(ix.events[r.Name], ref)
			case KindService:
				ix.services[r.Name] = ref
			case KindExchanger:
				ix.exchangers[r.Name] = ref
			case KindJob:
				ix.jobs[r.Name] = ref
			case KindPermission:
				ix.permissions[r.Name] = g.permissions[r.Name]
			}
		}
	}
	var err error
	if ix.grants, err = registry.BuildGrants(ix.permissions, roleOverrides); err != nil {
		return ix, err
	}
	ix.adminGrants = registry.EngineGrants(ix.grants, roleOverrides)
	return ix, nil
}
