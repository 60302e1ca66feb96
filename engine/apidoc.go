package engine

import (
	"bytes"
	"net/http"
	"runtime/debug"
	"sort"
	"sync/atomic"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/openapi"
)

// RouteCatalog lists every route the current snapshot serves, with what
// each requires and the schemas its plugin declared, sorted by path.
func (e *Engine) RouteCatalog() []openapi.Route { return routeCatalog(e.snap.Load()) }

func routeCatalog(snap *snapshot) []openapi.Route {
	var out []openapi.Route
	for _, g := range snap.gens {
		for _, rt := range g.routes {
			body, query := routeRequestSchemas(rt)
			out = append(out, openapi.Route{Method: rt.Method, Path: g.Manifest.URLPrefix + rt.Path, Plugin: g.Plugin,
				Permission: rt.Permission, Auth: rt.Auth, Stream: rt.Stream, Summary: rt.Summary,
				Body: body, Query: query, Response: rt.Response})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// routeRequestSchemas gives the request schemas a route declares (route
// options body = and query =) as openapi takes them: a nil map must become a
// nil interface, which openapi reads as no schema.
func routeRequestSchemas(rt Route) (body, query any) {
	var b, q any
	if rt.BodySchema != nil {
		b = rt.BodySchema
	}
	if rt.QuerySchema != nil {
		q = rt.QuerySchema
	}
	return b, q
}

// OpenAPI is the OpenAPI 3.1 document of what the engine serves now: the
// routes of every serving plugin, the admin API, data exchange, health and
// metrics. It changes with every reload.
func (e *Engine) OpenAPI() []byte { return bytes.Clone(e.openAPI()) }

// opsState is what the engine keeps for the console and /openapi.json.
type opsState struct {
	recent admin.RecentErrors     // the last Lua errors of each plugin (admin/recenterrors.go)
	apidoc atomic.Pointer[apiDoc] // the document of the last snapshot asked for
}

// apiDoc is the document of one snapshot: /openapi.json is public, so it
// is built once per snapshot rather than once per request.
type apiDoc struct {
	snap *snapshot
	json []byte
}

func (e *Engine) openAPI() []byte {
	snap := e.snap.Load()
	if d := e.ops.apidoc.Load(); d != nil && d.snap == snap {
		return d.json
	}
	b := openapi.JSON(openapi.Info{Title: "vbwd", Version: buildVersion(),
		Description: "The routes of the plugins this engine serves, and the engine's own endpoints. Generated from the running snapshot."},
		append(routeCatalog(snap), openapi.AdminRoutes()...))
	e.ops.apidoc.Store(&apiDoc{snap: snap, json: b})
	return b
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (e *Engine) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(e.openAPI())
}

// catalogEntry is one row of GET /admin/routes.
type catalogEntry struct {
	Method     string `json:"method"`
	Path       string `json:"path"`
	Plugin     string `json:"plugin"`
	Permission string `json:"permission,omitempty"`
	Auth       bool   `json:"auth,omitempty"`
	Stream     bool   `json:"stream,omitempty"`
	Summary    string `json:"summary,omitempty"`
}

func (e *Engine) adminRouteCatalog(w http.ResponseWriter, r *http.Request) {
	routes := e.RouteCatalog()
	out := make([]catalogEntry, len(routes))
	for i, rt := range routes {
		out[i] = catalogEntry{Method: rt.Method, Path: rt.Path, Plugin: rt.Plugin, Permission: rt.Permission,
			Auth: rt.Auth, Stream: rt.Stream, Summary: rt.Summary}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"routes": out})
}
