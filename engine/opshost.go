package engine

import (
	"github.com/vbwd-platform/vbwd-engine/engine/egress"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// A thin method over what moved to engine/egress (vbwd.http's binding),
// under the name modules.go calls (engine/gen binds a generation's
// vbwd.http and compiles its route schemas itself).

// httpModule binds vbwd.http to a plugin generation (DefaultModules). It
// allows nothing until bindEgress gives it the generation's config.
func (e *Engine) httpModule(p hostapi.Plugin) hostapi.Module {
	return egress.Module(p, e.opts.HTTPTransport, e.metrics)
}

// RouteSpecs returns the routes of plugin's serving generation — paths
// relative to the returned url_prefix — with their BodySchema and
// QuerySchema, for tools such as an OpenAPI generator. ok is false when the
// plugin is unknown or not serving.
func (e *Engine) RouteSpecs(plugin string) (prefix string, routes []Route, ok bool) {
	p, known := e.records()[plugin]
	if !known || p.Gen == nil {
		return "", nil, false
	}
	return p.Gen.Manifest.URLPrefix, append([]Route(nil), p.Gen.RouteList...), true
}
