package luavm

import (
	lua "github.com/yuin/gopher-lua"
)

// unavailable says, for each global a plugin might reach for but the
// sandbox does not offer, what to use instead.
var unavailable = map[string]string{
	"os":             "use vbwd.time for clocks and dates",
	"io":             "plugins have no file access; keep data in vbwd.db or vbwd.shared",
	"debug":          "errors carry file:line, and print and vbwd.log reach the log",
	"package":        `require loads vbwd.* host modules and the plugin's own modules`,
	"load":           "code is loaded only with require, from the plugin's own files",
	"loadstring":     "code is loaded only with require, from the plugin's own files",
	"dofile":         "code is loaded only with require, from the plugin's own files",
	"loadfile":       "code is loaded only with require, from the plugin's own files",
	"module":         "a module file returns its table",
	"getfenv":        "environments are fixed in plugins",
	"setfenv":        "environments are fixed in plugins",
	"newproxy":       "use a table with a metatable",
	"collectgarbage": "memory is managed by the engine",
	"_printregs":     "it exposes interpreter internals",
}

// guardGlobals makes reading a global the sandbox removed raise an error
// naming it and the alternative, e.g. "os is not available in plugins; use
// vbwd.time for clocks and dates", instead of gopher-lua's "attempt to
// index a non-table object(nil)". Other missing globals still read as nil;
// rawget sees the real (absent) value.
func guardGlobals(L *lua.LState) {
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if name, ok := L.Get(2).(lua.LString); ok {
			if hint, ok := unavailable[string(name)]; ok {
				L.RaiseError("%s is not available in plugins; %s", string(name), hint)
			}
		}
		L.Push(lua.LNil)
		return 1
	}))
	L.SetMetatable(L.Get(lua.GlobalsIndex), mt)
}
