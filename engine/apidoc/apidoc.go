// Package apidoc is what the engine tells about the routes it serves: the
// route catalog (GET /admin/routes) and the OpenAPI document
// (/openapi.json) of the serving snapshot. It reaches the engine through
// Host and never imports it.
package apidoc

import (
	"net/http"
	"runtime/debug"
	"sort"
	"sync/atomic"

	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/openapi"
)

// Host is what the documents need of the engine. The engine implements it
// with an adapter (engine/apidochost.go).
type Host interface {
	// Snapshot is the serving snapshot, compared by identity: the document
	// is built again only when it changed.
	Snapshot() any
	// Plugins lists the generations snap serves, with their routes.
	Plugins(snap any) []Plugin
}

// Plugin is one serving generation as the documents read it.
type Plugin struct {
	Name      string
	URLPrefix string
	Routes    []registry.Route
}

// Catalog lists every route the current snapshot serves, with what each
// requires and the schemas its plugin declared, sorted by path.
func Catalog(h Host) []openapi.Route { return catalog(h.Plugins(h.Snapshot())) }

func catalog(plugins []Plugin) []openapi.Route {
	var out []openapi.Route
	for _, g := range plugins {
		for _, rt := range g.Routes {
			body, query := routeRequestSchemas(rt)
			out = append(out, openapi.Route{Method: rt.Method, Path: g.URLPrefix + rt.Path, Plugin: g.Name,
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
func routeRequestSchemas(rt registry.Route) (body, query any) {
	var b, q any
	if rt.BodySchema != nil {
		b = rt.BodySchema
	}
	if rt.QuerySchema != nil {
		q = rt.QuerySchema
	}
	return b, q
}

// Cache keeps the OpenAPI document of the last snapshot asked for:
// /openapi.json is public, so it is built once per snapshot rather than
// once per request.
type Cache struct {
	last atomic.Pointer[apiDoc]
}

// apiDoc is the document of one snapshot.
type apiDoc struct {
	snap any
	json []byte
}

// OpenAPI is the OpenAPI 3.1 document of what the engine serves now: the
// routes of every serving plugin, the admin API, data exchange, health and
// metrics. It changes with every reload; the caller must not modify it.
func (c *Cache) OpenAPI(h Host) []byte {
	snap := h.Snapshot()
	if d := c.last.Load(); d != nil && d.snap == snap {
		return d.json
	}
	b := openapi.JSON(openapi.Info{Title: "vbwd", Version: buildVersion(),
		Description: "The routes of the plugins this engine serves, and the engine's own endpoints. Generated from the running snapshot."},
		append(catalog(h.Plugins(snap)), openapi.AdminRoutes()...))
	c.last.Store(&apiDoc{snap: snap, json: b})
	return b
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ServeOpenAPI is GET /openapi.json.
func (c *Cache) ServeOpenAPI(h Host, w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(c.OpenAPI(h))
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

// ServeCatalog is GET /admin/routes.
func ServeCatalog(h Host, w http.ResponseWriter) {
	routes := Catalog(h)
	out := make([]catalogEntry, len(routes))
	for i, rt := range routes {
		out[i] = catalogEntry{Method: rt.Method, Path: rt.Path, Plugin: rt.Plugin, Permission: rt.Permission,
			Auth: rt.Auth, Stream: rt.Stream, Summary: rt.Summary}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"routes": out})
}
