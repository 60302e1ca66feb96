package engine

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the engine's Prometheus series, served at /metrics.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // plugin, route, status, generation
	latency   *prometheus.HistogramVec // plugin, route, status, generation
	reloads   *prometheus.CounterVec   // plugin, outcome
	luaErrors *prometheus.CounterVec   // plugin, kind
	events    *prometheus.CounterVec   // plugin, event, outcome (durable events)
	egress    *prometheus.CounterVec   // plugin, host, outcome (vbwd.http)
	egressDur *prometheus.HistogramVec // plugin, host
}

func newMetrics(e *Engine) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	labels := []string{"plugin", "route", "status", "generation"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_http_requests_total",
		Help: "HTTP requests served by plugin routes."}, labels)
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vbwd_http_request_duration_seconds",
		Help: "Latency of plugin routes.", Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, labels)
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_plugin_reloads_total",
		Help: "Plugin reloads by outcome (reloaded, unchanged, failed)."}, []string{"plugin", "outcome"})
	m.luaErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_lua_errors_total",
		Help: "Lua handler failures: error (answered 500), timeout (504) or database (503, the database unreachable)."}, []string{"plugin", "kind"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_event_deliveries_total",
		Help: "Durable event deliveries by outcome."}, []string{"plugin", "event", "outcome"})
	m.egress = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_http_client_requests_total",
		Help: "Outbound vbwd.http requests by plugin, host and outcome (2xx..5xx, refused, error)."}, []string{"plugin", "host", "outcome"})
	m.egressDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vbwd_http_client_request_duration_seconds",
		Help: "Latency of outbound vbwd.http requests.", Buckets: prometheus.DefBuckets}, []string{"plugin", "host"})
	m.reg.MustRegister(m.requests, m.latency, m.reloads, m.luaErrors, m.events, m.egress, m.egressDur, poolCollector{e},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// routeMetrics caches a route's series per status, so a request costs two
// atomic loads and two observations rather than label hashing.
type routeMetrics struct {
	m                  *metrics
	plugin, route, gen string
	byStatus           [600]atomic.Pointer[routeSeries]
}

type routeSeries struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

func (m *metrics) route(g *Generation, rt Route) *routeMetrics {
	return &routeMetrics{m: m, plugin: label(g.Plugin), route: label(rt.Method + " " + g.Manifest.URLPrefix + rt.Path),
		gen: strconv.FormatInt(g.Number, 10)}
}

// label makes s a valid Prometheus label value: the client panics on
// invalid UTF-8, which a Lua string (a route path, an event name) may hold.
func label(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (rm *routeMetrics) observe(status int, d time.Duration) {
	if status < 100 || status >= len(rm.byStatus) {
		status = 599
	}
	s := rm.byStatus[status].Load()
	if s == nil {
		lv := []string{rm.plugin, rm.route, strconv.Itoa(status), rm.gen}
		s = &routeSeries{count: rm.m.requests.WithLabelValues(lv...), dur: rm.m.latency.WithLabelValues(lv...)}
		rm.byStatus[status].Store(s)
	}
	s.count.Inc()
	s.dur.Observe(d.Seconds())
}

// forget drops a retired generation's request series.
func (m *metrics) forget(g *Generation) {
	l := prometheus.Labels{"plugin": g.Plugin, "generation": strconv.FormatInt(g.Number, 10)}
	m.requests.DeletePartialMatch(l)
	m.latency.DeletePartialMatch(l)
}

// poolCollector reports every serving generation's pool at scrape time.
type poolCollector struct{ e *Engine }

var (
	poolSize  = prometheus.NewDesc("vbwd_pool_states", "Lua states alive in the plugin's pool.", []string{"plugin", "generation"}, nil)
	poolMax   = prometheus.NewDesc("vbwd_pool_states_max", "Bound of the plugin's pool.", []string{"plugin", "generation"}, nil)
	poolInUse = prometheus.NewDesc("vbwd_pool_in_use", "Lua states running a call.", []string{"plugin", "generation"}, nil)
	poolWaits = prometheus.NewDesc("vbwd_pool_waits_total", "Borrows that waited for a state.", []string{"plugin", "generation"}, nil)
	poolWait  = prometheus.NewDesc("vbwd_pool_wait_seconds_total", "Time spent waiting for a state.", []string{"plugin", "generation"}, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolSize, poolMax, poolInUse, poolWaits, poolWait} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.e.generations() {
		st := g.PoolStats()
		gen := strconv.FormatInt(g.Number, 10)
		ch <- prometheus.MustNewConstMetric(poolSize, prometheus.GaugeValue, float64(st.Size), g.Plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.Max), g.Plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(st.InUse), g.Plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.Waits), g.Plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, st.WaitTime.Seconds(), g.Plugin, gen)
	}
}

// generations lists the serving generations.
func (e *Engine) generations() []*Generation {
	var out []*Generation
	for _, g := range e.snap.Load().gens {
		out = append(out, g)
	}
	return out
}
