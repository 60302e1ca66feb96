package web

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
)

// Metrics are the engine's Prometheus series, served at /metrics.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // plugin, route, status, generation
	latency   *prometheus.HistogramVec // plugin, route, status, generation
	Reloads   *prometheus.CounterVec   // plugin, outcome
	LuaErrors *prometheus.CounterVec   // plugin, kind
	Events    *prometheus.CounterVec   // plugin, event, outcome (durable events)
	Egress    *prometheus.CounterVec   // plugin, host, outcome (vbwd.http)
	EgressDur *prometheus.HistogramVec // plugin, host
}

// Pool is one serving generation's Lua state pool, as /metrics reports it.
type Pool struct {
	Plugin     string
	Generation int64
	Stats      luavm.PoolStats
}

// PoolSource lists the serving generations' pools at scrape time (the
// engine implements it).
type PoolSource interface {
	Pools() []Pool
}

// NewMetrics registers the engine's series; pools is read at every scrape.
func NewMetrics(pools PoolSource) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	labels := []string{"plugin", "route", "status", "generation"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_http_requests_total",
		Help: "HTTP requests served by plugin routes."}, labels)
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vbwd_http_request_duration_seconds",
		Help: "Latency of plugin routes.", Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, labels)
	m.Reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_plugin_reloads_total",
		Help: "Plugin reloads by outcome (reloaded, unchanged, failed)."}, []string{"plugin", "outcome"})
	m.LuaErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_lua_errors_total",
		Help: "Lua handler failures: error (answered 500), timeout (504) or database (503, the database unreachable)."}, []string{"plugin", "kind"})
	m.Events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_event_deliveries_total",
		Help: "Durable event deliveries by outcome."}, []string{"plugin", "event", "outcome"})
	m.Egress = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vbwd_http_client_requests_total",
		Help: "Outbound vbwd.http requests by plugin, host and outcome (2xx..5xx, refused, error)."}, []string{"plugin", "host", "outcome"})
	m.EgressDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vbwd_http_client_request_duration_seconds",
		Help: "Latency of outbound vbwd.http requests.", Buckets: prometheus.DefBuckets}, []string{"plugin", "host"})
	m.reg.MustRegister(m.requests, m.latency, m.Reloads, m.LuaErrors, m.Events, m.Egress, m.EgressDur, poolCollector{pools},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the series in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RouteMetrics caches a route's series per status, so a request costs a few
// atomic loads and two observations rather than label hashing. A route
// answers few distinct statuses: the first statusSlots are found without a
// lock (a 600-entry table per route held 4.7 KiB of every route, answered
// or not); any more are looked up under mu.
type RouteMetrics struct {
	m                  *Metrics
	plugin, route, gen string
	slots              [statusSlots]atomic.Pointer[routeSeries] // filled in order, under mu
	mu                 sync.Mutex
	more               map[int]*routeSeries
}

const statusSlots = 8

type routeSeries struct {
	status int
	count  prometheus.Counter
	dur    prometheus.Observer
}

// Route makes the series of one route ("METHOD /full/path") of a plugin's
// generation.
func (m *Metrics) Route(plugin, route string, generation int64) *RouteMetrics {
	return &RouteMetrics{m: m, plugin: Label(plugin), route: Label(route),
		gen: strconv.FormatInt(generation, 10)}
}

// Label makes s a valid Prometheus label value: the client panics on
// invalid UTF-8, which a Lua string (a route path, an event name) may hold.
func Label(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Observe counts one request answered with status after d.
func (rm *RouteMetrics) Observe(status int, d time.Duration) {
	if status < 100 || status > 599 {
		status = 599
	}
	s := rm.cached(status)
	if s == nil {
		s = rm.add(status)
	}
	s.count.Inc()
	s.dur.Observe(d.Seconds())
}

// cached is status's series when it is in a slot.
func (rm *RouteMetrics) cached(status int) *routeSeries {
	for i := range rm.slots {
		s := rm.slots[i].Load()
		if s == nil {
			return nil
		}
		if s.status == status {
			return s
		}
	}
	return nil
}

// add makes status's series (or finds the one another request made) and
// keeps it in the first free slot, else in more.
func (rm *RouteMetrics) add(status int) *routeSeries {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if s := rm.cached(status); s != nil {
		return s
	}
	if s := rm.more[status]; s != nil {
		return s
	}
	lv := []string{rm.plugin, rm.route, strconv.Itoa(status), rm.gen}
	s := &routeSeries{status: status, count: rm.m.requests.WithLabelValues(lv...), dur: rm.m.latency.WithLabelValues(lv...)}
	for i := range rm.slots {
		if rm.slots[i].Load() == nil {
			rm.slots[i].Store(s)
			return s
		}
	}
	if rm.more == nil {
		rm.more = map[int]*routeSeries{}
	}
	rm.more[status] = s
	return s
}

// Forget drops a retired generation's request series.
func (m *Metrics) Forget(plugin string, generation int64) {
	l := prometheus.Labels{"plugin": plugin, "generation": strconv.FormatInt(generation, 10)}
	m.requests.DeletePartialMatch(l)
	m.latency.DeletePartialMatch(l)
}

// poolCollector reports every serving generation's pool at scrape time.
type poolCollector struct{ pools PoolSource }

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
	for _, p := range c.pools.Pools() {
		st, plugin := p.Stats, p.Plugin
		gen := strconv.FormatInt(p.Generation, 10)
		ch <- prometheus.MustNewConstMetric(poolSize, prometheus.GaugeValue, float64(st.Size), plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.Max), plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(st.InUse), plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.Waits), plugin, gen)
		ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, st.WaitTime.Seconds(), plugin, gen)
	}
}
