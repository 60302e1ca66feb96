package engine

import (
	"bytes"
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/apidoc"
	"github.com/vbwd-platform/vbwd-engine/openapi"
)

// The route catalog and the OpenAPI document live in engine/apidoc; it
// reads the serving snapshot through apidocHost.

// RouteCatalog lists every route the current snapshot serves, with what
// each requires and the schemas its plugin declared, sorted by path.
func (e *Engine) RouteCatalog() []openapi.Route { return apidoc.Catalog(apidocHost{e}) }

// OpenAPI is the OpenAPI 3.1 document of what the engine serves now: the
// routes of every serving plugin, the admin API, data exchange, health and
// metrics. It changes with every reload.
func (e *Engine) OpenAPI() []byte { return bytes.Clone(e.ops.apidoc.OpenAPI(apidocHost{e})) }

// opsState is what the engine keeps for the console and /openapi.json.
type opsState struct {
	recent admin.RecentErrors // the last Lua errors of each plugin (admin/recenterrors.go)
	apidoc apidoc.Cache       // the document of the last snapshot asked for
}

func (e *Engine) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	e.ops.apidoc.ServeOpenAPI(apidocHost{e}, w)
}

// apidocHost is the engine as engine/apidoc sees it (apidoc.Host).
type apidocHost struct{ e *Engine }

func (h apidocHost) Snapshot() any { return h.e.snap.Load() }

func (h apidocHost) Plugins(snap any) []apidoc.Plugin {
	s := snap.(*snapshot)
	out := make([]apidoc.Plugin, 0, len(s.gens))
	for _, g := range s.gens {
		out = append(out, apidoc.Plugin{Name: g.Plugin, URLPrefix: g.Manifest.URLPrefix, Routes: g.RouteList})
	}
	return out
}
