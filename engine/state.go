package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// State is one sandboxed Lua state of a generation's pool, with the handler
// functions its own routes(r) registered (closures of this state).
type State struct {
	L        *lua.LState
	gen      *Generation
	plugin   *lua.LTable
	handlers []*lua.LFunction
	values   []lua.LValue // per registration of the generation: what this state registered
	broken   bool         // set when the state must not be reused
	guard    *callGuard   // memory budget and watchdog registration of its calls (memory.go)

	// Metatables and methods of the req and req.params userdata.
	reqMeta    *lua.LTable
	paramsMeta *lua.LTable
	jsonFn     *lua.LFunction
	queryAllFn *lua.LFunction
}

func (s *State) close() { s.L.Close() }
