package engine

import (
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine/egress"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Thin methods over what moved to engine/egress (vbwd.http's binding) and
// engine/registry (route request schemas), under the names modules.go and
// handler.go call (engine/gen binds a generation's vbwd.http and compiles
// its route schemas itself).

// httpModule binds vbwd.http to a plugin generation (DefaultModules). It
// allows nothing until bindEgress gives it the generation's config.
func (e *Engine) httpModule(p hostapi.Plugin) hostapi.Module {
	return egress.Module(p, e.opts.HTTPTransport, e.metrics)
}

// validRequest checks the request against the route's schemas and answers
// 422 when it fails; it reports whether the handler may run.
func validRequest(w *web.RespWriter, r *http.Request, rt Route, body []byte) bool {
	return registry.ValidRequest(w, r, rt, body)
}

// RouteSpecs returns the routes of plugin's serving generation — paths
// relative to the returned url_prefix — with their BodySchema and
// QuerySchema, for tools such as an OpenAPI generator. ok is false when the
// plugin is unknown or not serving.
func (e *Engine) RouteSpecs(plugin string) (prefix string, routes []Route, ok bool) {
	p, known := e.records()[plugin]
	if !known || p.gen == nil {
		return "", nil, false
	}
	return p.gen.Manifest.URLPrefix, append([]Route(nil), p.gen.RouteList...), true
}
