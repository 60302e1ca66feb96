package engine

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/serve"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// rootHandler serves every request: it assigns a request id, dispatches
// through the current chi router (an immutable value swapped atomically) and
// writes the access log line.
type rootHandler struct {
	e   *Engine
	ids *web.RequestIDs
}

func newRootHandler(e *Engine) *rootHandler {
	return &rootHandler{e: e, ids: web.NewRequestIDs()}
}

var respWriterPool = sync.Pool{New: func() any { return new(web.RespWriter) }}

func (h *rootHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := respWriterPool.Get().(*web.RespWriter)
	id := h.ids.For(r)
	*rw = web.RespWriter{ResponseWriter: w, RequestID: id[0], Start: start}
	w.Header()["X-Request-Id"] = id
	r, sp := web.StartRequest(h.e.tracer, r, rw) // web/tracing.go; nil when off
	if web.HasDotSegment(r.URL.Path) {
		web.WriteError(rw, http.StatusBadRequest, "the request path has a . or .. segment", nil)
	} else {
		h.e.dispatch(rw, r)
	}
	web.EndRequest(sp, rw)
	if h.e.access != nil {
		end := rw.End
		if end.IsZero() {
			end = time.Now()
		}
		h.e.access.WriteAt(r, rw, end, end.Sub(start))
	}
	*rw = web.RespWriter{}
	respWriterPool.Put(rw)
}

// dispatch routes a request once. A path under a generation's url_prefix
// goes straight to that generation's router: one chi tree walk, with a
// pooled route context that never enters the request's context. Anything
// else — the engine's own endpoints, a method or path the generation has no
// route for (chi's 404 and 405 answers) — goes through the snapshot's
// router, where the generations' routers are mounted at their prefixes
// with the same handlers, so both ways answer alike.
func (e *Engine) dispatch(w http.ResponseWriter, r *http.Request) {
	snap := e.snap.Load()
	if len(snap.prefixes) > 0 {
		path := r.URL.RawPath // what chi routes on: the raw path when it differs
		if path == "" {
			path = r.URL.Path
		}
		if g, rest := snap.genFor(path); g != nil && serve.RouteFast(g, rest, w, r) {
			return
		}
	}
	snap.mux.ServeHTTP(w, r)
}

// genFor returns the generation whose url_prefix path is under, and the
// rest of path after the prefix. Prefixes never overlap (buildSnapshot), so
// at most one matches; each is a whole number of segments.
//
// It looks no further than the longest prefix: each lookup hashes the path
// up to i, so walking a whole path of many slashes would be quadratic.
func (s *snapshot) genFor(path string) (*Generation, string) {
	for i := 1; i <= len(path) && i <= s.maxPrefix; i++ {
		if i == len(path) || path[i] == '/' {
			if g := s.prefixes[path[:i]]; g != nil {
				return g, path[i:]
			}
		}
	}
	return nil, ""
}

// prefixIndex maps the url_prefixes of the generations with routes to them.
// and the length of the longest (0: none).
func prefixIndex(gens []*Generation) (map[string]*Generation, int) {
	m, longest := map[string]*Generation{}, 0
	for _, g := range gens {
		if g.Mux != nil {
			m[g.Manifest.URLPrefix] = g
			longest = max(longest, len(g.Manifest.URLPrefix))
		}
	}
	return m, longest
}

// redispatch serves a request again through the current router: its route
// belonged to a generation retired after the router lookup.
func (e *Engine) redispatch(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, nil))
	e.dispatch(w, r)
}

func (e *Engine) notFound(w http.ResponseWriter, r *http.Request) {
	if e.closing.Load() {
		web.WriteError(web.AsRespWriter(w), http.StatusServiceUnavailable, "shutting down", nil)
		return
	}
	web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path, nil)
}

func (e *Engine) readyz(w http.ResponseWriter, r *http.Request) {
	ready, why := e.Ready(r.Context())
	if !ready {
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}
