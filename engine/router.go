package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
)

// rootHandler serves every request: it assigns a request id, dispatches
// through the current chi router (an immutable value swapped atomically) and
// writes the access log line.
type rootHandler struct {
	e      *Engine
	mux    atomic.Pointer[chi.Mux]
	prefix string // random per process, start of generated request ids
	seq    atomic.Uint64
}

func newRootHandler(e *Engine) *rootHandler {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	h := &rootHandler{e: e, prefix: hex.EncodeToString(b)}
	return h
}

// respWriter records what the access log needs.
type respWriter struct {
	http.ResponseWriter
	status    int
	start     time.Time
	requestID string
	plugin    string
	gen       int64
}

func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush).
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var respWriterPool = sync.Pool{New: func() any { return new(respWriter) }}

func asRespWriter(w http.ResponseWriter) *respWriter {
	if rw, ok := w.(*respWriter); ok {
		return rw
	}
	return &respWriter{ResponseWriter: w, requestID: "-"}
}

func (h *rootHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := respWriterPool.Get().(*respWriter)
	*rw = respWriter{ResponseWriter: w, requestID: h.requestID(r), start: start}
	w.Header()["X-Request-Id"] = []string{rw.requestID}
	h.mux.Load().ServeHTTP(rw, r)
	h.e.accessLog(r, rw, time.Since(start))
	*rw = respWriter{}
	respWriterPool.Put(rw)
}

// requestID keeps a sane incoming X-Request-Id, else makes one.
func (h *rootHandler) requestID(r *http.Request) string {
	if v := r.Header.Get("X-Request-Id"); v != "" && len(v) <= 64 && safeID(v) {
		return v
	}
	return h.prefix + "-" + strconv.FormatUint(h.seq.Add(1), 36)
}

func safeID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (e *Engine) accessLog(r *http.Request, w *respWriter, d time.Duration) {
	if e.access != nil {
		e.access.write(r, w, d)
	}
}

// redispatch serves a request again through the current router: its route
// belonged to a generation retired after the router lookup.
func (e *Engine) redispatch(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, nil))
	e.root.mux.Load().ServeHTTP(w, r)
}

// buildRouter makes a new immutable router from the given generations.
func (e *Engine) buildRouter(gens []*Generation) (mux *chi.Mux, err error) {
	defer func() {
		if p := recover(); p != nil {
			mux, err = nil, fmt.Errorf("building the router: %v", p)
		}
	}()
	mux = chi.NewRouter()
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if e.closing.Load() {
			writeError(asRespWriter(w), http.StatusServiceUnavailable, "shutting down", nil)
			return
		}
		writeError(asRespWriter(w), http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path, nil)
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(asRespWriter(w), http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path, nil)
	})
	mux.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.Get("/readyz", e.readyz)
	mux.Mount("/admin", e.admin)
	mux.Handle("/metrics", e.metrics.handler())
	sorted := append([]*Generation(nil), gens...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Plugin < sorted[j].Plugin })
	for _, g := range sorted {
		if len(g.routes) == 0 {
			continue
		}
		// Full patterns on the root mux: no sub-router hop per request.
		prefix := g.Manifest.URLPrefix
		for i, rt := range g.routes {
			h := e.routeHandler(g, i)
			mux.Method(rt.Method, prefix+rt.Path, h)
			if rt.Path == "/" {
				mux.Method(rt.Method, prefix, h)
			}
		}
	}
	return mux, nil
}

func (e *Engine) readyz(w http.ResponseWriter, r *http.Request) {
	ready, why := e.Ready(r.Context())
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"internal"}`)
		status = http.StatusInternalServerError
	}
	w.Header()["Content-Type"] = []string{"application/json"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
