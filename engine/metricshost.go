package engine

import "github.com/vbwd-platform/vbwd-engine/engine/web"

// The Prometheus series (/metrics) live in engine/web; the pools of the
// serving generations reach it through metricsHost.

// metricsHost is the engine as web.NewMetrics sees it (web.PoolSource).
type metricsHost struct{ e *Engine }

func (h metricsHost) Pools() []web.Pool {
	var out []web.Pool
	for _, g := range h.e.generations() {
		out = append(out, web.Pool{Plugin: g.Plugin, Generation: g.Number, Stats: g.PoolStats()})
	}
	return out
}

// generations lists the serving generations.
func (e *Engine) generations() []*Generation {
	var out []*Generation
	for _, g := range e.snap.Load().gens {
		out = append(out, g)
	}
	return out
}
