package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	lua "github.com/yuin/gopher-lua"
)

// PopulateTimeout bounds one plugin's populate.lua.
const PopulateTimeout = 5 * time.Minute

// Populate runs plugins/<name>/populate.lua — which returns function(ctx) —
// for the named enabled plugins (every enabled plugin when none is named),
// in dependency order, in one state of each plugin's pool. Demo data must be
// idempotent: running it twice changes nothing the second time. It returns
// the plugins whose populate ran.
func (e *Engine) Populate(ctx context.Context, names ...string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	want := map[string]bool{}
	for _, n := range names {
		p, ok := e.plugins[n]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, n)
		}
		if p.state != StateEnabled {
			return nil, fmt.Errorf("%w: %s is %s", ErrNotEnabled, n, p.state)
		}
		want[n] = true
	}
	var ran []string
	for _, n := range e.enabledOrder() {
		p := e.plugins[n]
		if len(want) > 0 && !want[n] {
			continue
		}
		file := filepath.Join(p.src.Dir, "populate.lua")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		if err := p.gen.populate(ctx, file); err != nil {
			return ran, err
		}
		e.log.Info("populated", "plugin", n)
		ran = append(ran, n)
	}
	return ran, nil
}

// enabledOrder lists enabled plugins, dependencies first.
func (e *Engine) enabledOrder() []string {
	order := e.reverseOrder()
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}

func (g *Generation) populate(ctx context.Context, file string) error {
	chunk := path.Join(g.src.RelDir, "populate.lua")
	proto, err := luavm.CompileFile(g.Plugin, file, chunk)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PopulateTimeout)
	defer cancel()
	return g.pool.Run(ctx, func(s *State) error {
		L := s.L
		L.Push(L.NewFunctionFromProto(proto))
		if err := L.PCall(0, 1, nil); err != nil {
			return luavm.WithCtxErr(ctx, normalizeLuaError(g.Plugin, "populate", err))
		}
		fn, ok := L.Get(-1).(*lua.LFunction)
		L.Pop(1)
		if !ok {
			return &PluginError{Plugin: g.Plugin, File: chunk, Op: "populate", Err: errors.New("populate.lua must return function(ctx)")}
		}
		L.Push(fn)
		L.Push(s.hookCtx(nil))
		if err := L.PCall(1, 0, nil); err != nil {
			err = luavm.WithCtxErr(ctx, normalizeLuaError(g.Plugin, "populate", err))
			if se, ok := err.(*StatusError); ok {
				err = &PluginError{Plugin: g.Plugin, File: chunk, Op: "populate", Err: se}
			}
			return err
		}
		return nil
	})
}
