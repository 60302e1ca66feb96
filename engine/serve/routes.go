package serve

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

var routeCtxPool = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// RouteFast serves r when the generation g has a route for rest, the path
// after g's url_prefix, and reports whether it did: one chi tree walk, with
// a pooled route context that never enters the request's context (the
// engine's dispatch finds g).
func RouteFast(g *gen.Generation, rest string, w http.ResponseWriter, r *http.Request) bool {
	if g.Mux == nil {
		return false
	}
	rctx := routeCtxPool.Get().(*chi.Context)
	rctx.Reset()
	rctx.Routes = g.Mux
	if len(rest) > 1 {
		// the mount matched "<prefix>/*" and left its "*" emptied (chi's
		// Mount; luareq: req.params.rest); "<prefix>" and "<prefix>/"
		// are patterns of their own
		rctx.URLParams.Add("*", "")
	} else {
		rest = "/"
	}
	servers, _ := g.RouteServers.(routeServers) // set by CompileRoutes
	rs := servers[routeKey{r.Method, g.Mux.Find(rctx, r.Method, rest)}]
	if rs != nil {
		rs.serve(w, r, rctx)
	}
	rctx.Reset()
	routeCtxPool.Put(rctx)
	return rs != nil
}

// routeKey names a route in its generation's router: chi's Find gives the
// pattern a path matched.
type routeKey struct{ method, pattern string }

// routeServers is a generation's RouteServers: its routes' handlers.
type routeServers map[routeKey]*routeServer

// MethodNotAllowed answers chi's 405.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	web.WriteError(web.AsRespWriter(w), http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path, nil)
}

// CompileRoutes compiles a generation's routes into its own sub-router,
// relative to its url_prefix, when the generation is built, and sets its
// RouteServers. chi panics on a pattern it cannot take (`/a/*/b`, `{id:(}`,
// a repeated parameter): the panic becomes that plugin's error, with the
// file:line of the r:get call, and no other plugin is affected.
func (s *Server) CompileRoutes(g *gen.Generation) (*chi.Mux, error) {
	if len(g.RouteList) == 0 {
		return nil, nil
	}
	mux := chi.NewRouter()
	mux.NotFound(s.cfg.NotFound)
	mux.MethodNotAllowed(MethodNotAllowed)
	servers := make(routeServers, len(g.RouteList))
	g.RouteServers = servers
	for i, rt := range g.RouteList {
		rs := s.newRouteServer(g, i)
		servers[routeKey{rt.Method, rt.Path}] = rs
		if err := addRoute(mux, rt, rs); err != nil {
			pe := &errs.PluginError{Plugin: g.Plugin, File: g.Src.RelDir + "/init.lua", Op: "routes",
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

func addRoute(mux *chi.Mux, rt registry.Route, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Method(rt.Method, rt.Path, h)
	return nil
}
