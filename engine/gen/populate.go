package gen

import (
	"context"
	"errors"
	"path"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
)

// PopulateTimeout bounds one plugin's populate.lua.
const PopulateTimeout = 5 * time.Minute

// Populate runs populate.lua (file; it returns function(ctx)) in one state
// of the pool, bounded by PopulateTimeout (the engine's Populate).
func (g *Generation) Populate(ctx context.Context, file string) error {
	chunk := path.Join(g.Src.RelDir, "populate.lua")
	proto, err := luavm.CompileFile(g.Plugin, file, chunk)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PopulateTimeout)
	defer cancel()
	return g.Pool.Run(ctx, func(s *State) error {
		L := s.L
		L.Push(L.NewFunctionFromProto(proto))
		if err := L.PCall(0, 1, nil); err != nil {
			return luavm.WithCtxErr(ctx, errs.NormalizeLuaError(g.Plugin, "populate", err))
		}
		fn, ok := L.Get(-1).(*lua.LFunction)
		L.Pop(1)
		if !ok {
			return &errs.PluginError{Plugin: g.Plugin, File: chunk, Op: "populate", Err: errors.New("populate.lua must return function(ctx)")}
		}
		L.Push(fn)
		L.Push(s.hookCtx(nil))
		if err := L.PCall(1, 0, nil); err != nil {
			err = luavm.WithCtxErr(ctx, errs.NormalizeLuaError(g.Plugin, "populate", err))
			if se, ok := err.(*errs.StatusError); ok {
				err = &errs.PluginError{Plugin: g.Plugin, File: chunk, Op: "populate", Err: se}
			}
			return err
		}
		return nil
	})
}
