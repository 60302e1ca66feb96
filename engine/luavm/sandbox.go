package luavm

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	lua "github.com/yuin/gopher-lua"
)

// Sandbox limits. The stacks are bounded; every builtin that builds a string
// (.., string.rep, format, gsub, upper, lower, reverse, char, table.concat,
// json.encode) is capped in the patched gopher-lua (lua.Limits.MaxString),
// and what a call allocates is counted against its budget (memory.go).
const (
	callStackSize    = 200        // Lua call frames: deep recursion fails cleanly
	registrySize     = 256        // initial data stack slots (4 KiB; it grows)
	registryMaxSize  = 1024 * 256 // data stack may grow to this many slots
	registryGrowStep = 1024
	maxBuiltString   = 16 << 20 // the longest string one builtin may build (bytes)
)

// removedGlobals are deleted from every sandboxed state: they load code from
// outside the plugin, break the environment model, or expose internals.
var removedGlobals = []string{
	"dofile", "loadfile", "load", "loadstring", "module", "getfenv", "setfenv",
	"newproxy", "_printregs", "collectgarbage",
}

// newSandbox builds a Lua state with only base, table, string, math and
// coroutine, without the removed globals, with print going to the log and
// require resolving host modules and the plugin's own modules only.
func NewSandbox(src *Source, mods map[string]hostapi.Module, logger *slog.Logger) *lua.LState {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registrySize,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryGrowStep,
		// frames in segments of 8 made as calls nest, where a fixed stack
		// held 200 frames (16 KiB) in every pooled state
		MinimizeStackMemory: true,
	})
	L.G.Limits = newLimits()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range removedGlobals {
		L.SetGlobal(name, lua.LNil)
	}
	capBuiltins(L)
	L.SetGlobal("print", L.NewFunction(printTo(logger)))
	r := &requirer{src: src, mods: mods, loaded: L.NewTable()}
	L.SetGlobal("require", L.NewFunction(r.require))
	guardGlobals(L) // sandbox_msg.go
	return L
}

// capBuiltins removes string.dump. The string builders are capped in the
// patched gopher-lua itself (lua.Limits.MaxString): wrappers here missed
// table.concat over numbers, format and gsub.
func capBuiltins(L *lua.LState) {
	str := L.GetGlobal("string").(*lua.LTable)
	str.RawSetString("dump", lua.LNil)
}

func printTo(logger *slog.Logger) lua.LGFunction {
	return func(L *lua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		logger.Info(strings.Join(parts, "\t"), "src", strings.TrimSuffix(L.Where(1), ": "))
		return 0
	}
}

// requirer implements require for one state: "vbwd.<name>" loads a host
// module, "<plugin>.<a>.<b>" loads plugins/<plugin>/<plugin>/a/b.lua (or
// .../b/init.lua) from the plugin's compiled sources; nothing else.
type requirer struct {
	src    *Source
	mods   map[string]hostapi.Module
	loaded *lua.LTable
}

var loadingSentinel = lua.LString("\x00loading")

func (r *requirer) require(L *lua.LState) int {
	name := L.CheckString(1)
	if v := r.loaded.RawGetString(name); v != lua.LNil {
		if v == loadingSentinel {
			L.RaiseError("require(%q): circular require", name)
		}
		L.Push(v)
		return 1
	}
	var fn *lua.LFunction
	switch {
	case strings.HasPrefix(name, "vbwd."):
		mod, ok := r.mods[strings.TrimPrefix(name, "vbwd.")]
		if !ok {
			L.RaiseError("require(%q): no such host module (have: %s)", name, r.hostModuleList())
		}
		fn = L.NewFunction(mod.Loader)
	case r.src != nil && (name == r.src.Name || strings.HasPrefix(name, r.src.Name+".")):
		proto, err := r.src.module(name)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		fn = L.NewFunctionFromProto(proto)
	default:
		plugin := "<plugin>"
		if r.src != nil {
			plugin = r.src.Name
		}
		L.RaiseError("require(%q): only vbwd.* host modules and the plugin's own %s.* modules can be required", name, plugin)
	}
	r.loaded.RawSetString(name, loadingSentinel)
	L.Push(fn)
	L.Push(lua.LString(name))
	if err := L.PCall(1, 1, nil); err != nil {
		r.loaded.RawSetString(name, lua.LNil)
		panic(err)
	}
	v := L.Get(-1)
	if v == lua.LNil {
		v = lua.LTrue
		L.Pop(1)
		L.Push(v)
	}
	r.loaded.RawSetString(name, v)
	return 1
}

func (r *requirer) hostModuleList() string {
	names := make([]string, 0, len(r.mods))
	for n := range r.mods {
		names = append(names, "vbwd."+n)
	}
	sortStrings(names)
	return fmt.Sprint(strings.Join(names, ", "))
}
