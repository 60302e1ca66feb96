package engine

import (
	"context"
	"log/slog"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// BenchmarkDICall measures one service call made from Lua in the caller's
// state (a PCall of a Lua function that calls the proxy method): copying the
// argument out, borrowing a state of the provider's pool, calling a trivial
// method there, and copying the result back. Goal: ≤ 10 µs per call.
// lua_service_table passes and returns a small table; local_function is the same Lua call without DI, for reference; go_service
// calls a Go service through gopher-luar in the caller's state.
func BenchmarkDICall(b *testing.B) {
	root := writeRoot(b, files{
		"plugins/prov/init.lua": pluginSrc("prov", "", `
function P.on_enable(ctx)
  ctx:provide("prov.svc", { id = function(x) return x end, echo = function(t) return t end })
end`),
		"plugins/caller/init.lua": pluginSrc("caller", `, dependencies = { "prov" }`, ""),
	})
	e, err := New(Options{Root: root, Logger: slog.New(slog.DiscardHandler), PoolMin: 1, PoolMax: 4})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Provide("app.calc", calc{}); err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	e.mu.Lock()
	g := e.plugins["caller"].Gen
	e.mu.Unlock()
	for name, chunk := range map[string]string{
		"lua_service": `local svc = require("vbwd.di").get("prov.svc"); return function() return svc.id(1) end`,
		"lua_service_table": `local svc = require("vbwd.di").get("prov.svc"); local t = { id = 7, name = "fool", tags = { "a", "b" } }
			return function() return svc.echo(t) end`,
		"go_service":     `local svc = require("vbwd.di").get("app.calc"); return function() return svc.add(1, 2) end`,
		"local_function": `local function id(x) return x end; return function() return id(1) end`,
	} {
		b.Run(name, func(b *testing.B) { benchCallIn(b, g, chunk) })
	}
}

// benchCallIn runs chunk (which returns the function to time) in a state of
// g under a request-like context, and calls that function b.N times.
func benchCallIn(b *testing.B, g *Generation, chunk string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = hostapi.WithRequest(ctx, &hostapi.Request{ID: "bench"})
	err := g.Pool.Run(ctx, func(s *State) error {
		L := s.L
		if err := L.DoString(chunk); err != nil {
			return err
		}
		fn := L.Get(-1).(*lua.LFunction)
		L.Pop(1)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			L.Push(fn)
			if err := L.PCall(0, 1, nil); err != nil {
				return err
			}
			L.Pop(1)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
