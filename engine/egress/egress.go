// Package egress binds vbwd.http, the plugins' outgoing HTTP, to a plugin
// generation: its client, its allow-list from the generation's config and
// its metrics. It never imports engine.
package egress

import (
	"net/http"
	"path"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vhttp "github.com/vbwd-platform/vbwd-engine/stdlib/http"
)

// Module binds vbwd.http to a plugin generation (DefaultModules), carried
// by transport when not nil and counted in m. It allows nothing until Bind
// gives it the generation's config.
func Module(p hostapi.Plugin, transport http.RoundTripper, m *web.Metrics) hostapi.Module {
	client := vhttp.Shared()
	if transport != nil {
		client = vhttp.NewClientWith(transport)
	}
	return vhttp.New(vhttp.Options{Plugin: p.Name, Client: client, Observer: egressMetrics{m}})
}

// Bind gives the generation's vbwd.http (mod, when it is one) its
// allow-list (the config's http.allow); a malformed list fails the
// generation, naming the config.json of the plugin directory relDir.
func Bind(mod hostapi.Module, cfg map[string]any, plugin, relDir string) error {
	m, ok := mod.(*vhttp.Module)
	if !ok {
		return nil
	}
	if err := m.Configure(cfg); err != nil {
		return &errs.PluginError{Plugin: plugin, File: path.Join(relDir, "config.json"), Op: "config", Err: err}
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
