package engine

import (
	"context"
	"fmt"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	lua "github.com/yuin/gopher-lua"
)

// RunLua runs fn in a state borrowed from an enabled plugin's pool, under
// ctx: the state's host modules, require of the plugin's own modules and
// its upvalues are all there. Tools (the test runner) use it to run Lua
// files as the plugin.
func (e *Engine) RunLua(ctx context.Context, plugin string, fn func(L *lua.LState) error) error {
	_, ok := e.records()[plugin]
	g := e.servingGen(plugin)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPlugin, plugin)
	}
	if g == nil {
		return fmt.Errorf("%w: %s", ErrNotEnabled, plugin)
	}
	if !g.Enter() {
		return ErrRetired
	}
	defer g.Leave()
	return g.Pool.Run(ctx, func(s *State) error { return fn(s.L) })
}

// LuaError converts an error from running Lua in a plugin's state into the
// engine's error types (a *PluginError with file and line, a *StatusError
// for error{status=...}, ErrTimeout...).
func LuaError(ctx context.Context, plugin, op string, err error) error {
	return luavm.WithCtxErr(ctx, errs.NormalizeLuaError(plugin, op, err))
}
