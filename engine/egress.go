package engine

import (
	"path"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vhttp "github.com/vbwd-platform/vbwd-engine/stdlib/http"
)

// httpModule binds vbwd.http to a plugin generation (DefaultModules). It
// allows nothing until bindEgress gives it the generation's config.
func (e *Engine) httpModule(p hostapi.Plugin) hostapi.Module {
	client := vhttp.Shared()
	if e.opts.HTTPTransport != nil {
		client = vhttp.NewClientWith(e.opts.HTTPTransport)
	}
	return vhttp.New(vhttp.Options{Plugin: p.Name, Client: client, Observer: egressMetrics{e.metrics}})
}

// bindEgress gives the generation's vbwd.http its allow-list (the config's
// http.allow); a malformed list fails the generation, naming config.json.
func (g *Generation) bindEgress() error {
	m, ok := g.env.modules["http"].(*vhttp.Module)
	if !ok {
		return nil
	}
	if err := m.Configure(g.Config); err != nil {
		return &PluginError{Plugin: g.Plugin, File: path.Join(g.src.RelDir, "config.json"), Op: "config", Err: err}
	}
	return nil
}

// egressMetrics records vbwd.http calls per plugin and host.
type egressMetrics struct{ m *web.Metrics }

func (o egressMetrics) ObserveHTTP(plugin, host, outcome string, d time.Duration) {
	if o.m == nil {
		return
	}
	o.m.Egress.WithLabelValues(web.Label(plugin), web.Label(host), outcome).Inc()
	o.m.EgressDur.WithLabelValues(web.Label(plugin), web.Label(host)).Observe(d.Seconds())
}
