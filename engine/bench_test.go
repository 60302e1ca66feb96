package engine

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/serve"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/internal/native"
)

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	e, err := New(Options{Root: "..", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PoolMin: 4, PoolMax: 4})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

func helloGen(b *testing.B, e *Engine) *Generation {
	p := e.plugins["hello"]
	if p == nil || p.Gen == nil {
		b.Fatalf("hello is not enabled: %v", p.Err)
	}
	return p.Gen
}

// BenchmarkStateBuild: one pooled state of the hello plugin built from the
// shared compiled protos (sandbox, init.lua, initialize, routes, on_enable).
func BenchmarkStateBuild(b *testing.B) {
	g := helloGen(b, benchEngine(b))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := g.BuildState(ctx)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkPoolRun: borrow and return a state (no Lua call).
func BenchmarkPoolRun(b *testing.B) {
	g := helloGen(b, benchEngine(b))
	ctx := context.Background()
	fn := func(*State) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Pool.Run(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatch: the engine's cost per request beyond HTTP and routing:
// borrow a state, build req, call the Lua handler, encode its JSON result.
func BenchmarkDispatch(b *testing.B) {
	g := helloGen(b, benchEngine(b))
	idx := -1
	for i, rt := range g.RouteList {
		if rt.Method == "GET" && rt.Path == "/{name}" {
			idx = i
		}
	}
	r := httptest.NewRequest("GET", "/api/v1/hello/world", nil)
	rc := chi.NewRouteContext()
	rc.URLParams.Add("name", "world")
	r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rc))
	ctx := context.Background()
	resp := &web.Result{}
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		err := g.Pool.Run(ctx, func(s *State) error { return serve.ServeOn(ctx, s, idx, r, nil, nil, "bench-1", nil, resp, nil) })
		if err != nil || resp.Status != 200 {
			b.Fatal(err, resp.Status)
		}
	}
}

// BenchmarkHTTPInProcess: the hello route through the whole handler (root,
// chi, dispatch) versus a native chi handler, without the network.
func BenchmarkHTTPInProcess(b *testing.B) {
	e := benchEngine(b)
	native := native.Hello()
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"lua", e.Handler()}, {"native", native}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/v1/hello/world", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}
