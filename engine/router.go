package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// rootHandler serves every request: it assigns a request id, dispatches
// through the current chi router (an immutable value swapped atomically) and
// writes the access log line.
type rootHandler struct {
	e      *Engine
	prefix string // random per process, start of generated request ids
	seq    atomic.Uint64
}

func newRootHandler(e *Engine) *rootHandler {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	h := &rootHandler{e: e, prefix: hex.EncodeToString(b)}
	return h
}

var respWriterPool = sync.Pool{New: func() any { return new(web.RespWriter) }}

func (h *rootHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := respWriterPool.Get().(*web.RespWriter)
	*rw = web.RespWriter{ResponseWriter: w, RequestID: h.requestID(r), Start: start}
	w.Header()["X-Request-Id"] = []string{rw.RequestID}
	r, sp := web.StartRequest(h.e.tracer, r, rw) // web/tracing.go; nil when off
	if web.HasDotSegment(r.URL.Path) {
		web.WriteError(rw, http.StatusBadRequest, "the request path has a . or .. segment", nil)
	} else {
		h.e.snap.Load().mux.ServeHTTP(rw, r)
	}
	web.EndRequest(sp, rw)
	h.e.accessLog(r, rw, time.Since(start))
	*rw = web.RespWriter{}
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

func (e *Engine) accessLog(r *http.Request, w *web.RespWriter, d time.Duration) {
	if e.access != nil {
		e.access.Write(r, w, d)
	}
}

// redispatch serves a request again through the current router: its route
// belonged to a generation retired after the router lookup.
func (e *Engine) redispatch(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, nil))
	e.snap.Load().mux.ServeHTTP(w, r)
}

func (e *Engine) notFound(w http.ResponseWriter, r *http.Request) {
	if e.closing.Load() {
		web.WriteError(web.AsRespWriter(w), http.StatusServiceUnavailable, "shutting down", nil)
		return
	}
	web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path, nil)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	web.WriteError(web.AsRespWriter(w), http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path, nil)
}

// compileRoutes compiles a generation's routes into its own sub-router,
// relative to its url_prefix, when the generation is built. chi panics on a
// pattern it cannot take (`/a/*/b`, `{id:(}`, a repeated parameter): the
// panic becomes that plugin's error, with the file:line of the r:get call,
// and no other plugin is affected.
func (e *Engine) compileRoutes(g *Generation) (*chi.Mux, error) {
	if len(g.RouteList) == 0 {
		return nil, nil
	}
	mux := chi.NewRouter()
	mux.NotFound(e.notFound)
	mux.MethodNotAllowed(methodNotAllowed)
	for i, rt := range g.RouteList {
		if err := addRoute(mux, rt, e.routeHandler(g, i)); err != nil {
			pe := &PluginError{Plugin: g.Plugin, File: g.Src.RelDir + "/init.lua", Op: "routes",
				Err: fmt.Errorf("route %s %s: %s", rt.Method, rt.Path, err)}
			if i := strings.LastIndexByte(rt.Where, ':'); i > 0 {
				if line, err := strconv.Atoi(rt.Where[i+1:]); err == nil {
					pe.File, pe.Line = rt.Where[:i], line
				}
			}
			return nil, pe
		}
	}
	return mux, nil
}

func addRoute(mux *chi.Mux, rt Route, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Method(rt.Method, rt.Path, h)
	return nil
}

func (e *Engine) readyz(w http.ResponseWriter, r *http.Request) {
	ready, why := e.Ready(r.Context())
	if !ready {
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}
