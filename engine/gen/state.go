package gen

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/luareq"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
)

// Pool is the pool of a generation's states (engine/luavm).
type (
	Pool      = luavm.Pool[*State]
	PoolStats = luavm.PoolStats
)

// State is one sandboxed Lua state of a generation's pool, with the handler
// functions its own routes(r) registered (closures of this state).
type State struct {
	luavm.VM    // L, and what bounds its calls
	Gen         *Generation
	PluginTable *lua.LTable // what init.lua returned
	Handlers    []*lua.LFunction
	Values      []lua.LValue // per registration of the generation: what this state registered

	Req luareq.Meta // the req and req.params userdata (engine/luareq)
}

func (s *State) close() { s.Close() }
