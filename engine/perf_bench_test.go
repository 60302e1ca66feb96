package engine

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHelloAccessLog: the hello route through the whole handler with
// the access log on (to io.Discard), as `vbwd serve` runs by default; the
// profile target of the request hot path (docs/ops.md, Profiling).
func BenchmarkHelloAccessLog(b *testing.B) {
	e, err := New(Options{Root: "..", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PoolMin: 4, PoolMax: 4,
		AccessLog: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	h := e.Handler()
	r := httptest.NewRequest("GET", "/api/v1/hello/world", nil)
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code, w.n = 0, 0
		h.ServeHTTP(w, r)
		if w.code != 200 || w.n == 0 {
			b.Fatal(w.code)
		}
	}
}

// benchWriter is a ResponseWriter that keeps only the status and the body
// size: what the benchmark measures is the handler, not a recorder.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *benchWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(b)
	return len(b), nil
}
